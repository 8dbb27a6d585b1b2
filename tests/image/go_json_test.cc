#include "image/go_json.h"

#include <gtest/gtest.h>

namespace strata::image {
namespace {

TEST(GoJsonTest, EscapesLikeGo) {
  OrderedJson j = OrderedJson::object();
  j["s"] = std::string("<a & b>\"\\\b\f\n\r\t\x01\x1f\x7f") + "\xc3\xa9\xe2\x80\xa8\xe2\x80\xa9/";
  EXPECT_EQ(GoMarshal(j),
            "{\"s\":\"\\u003ca \\u0026 b\\u003e\\\"\\\\\\b\\f\\n\\r\\t\\u0001\\u001f\x7f"
            "\xc3\xa9\\u2028\\u2029/\"}");
}

TEST(GoJsonTest, ReplacesInvalidUtf8) {
  // Go's encoder writes \ufffd for every byte that does not start a valid sequence.
  OrderedJson j = std::string(
      "a\xff"
      "b\xc3"
      "c\xed\xa0\x80"
      "d");
  EXPECT_EQ(GoMarshal(j), "\"a\\ufffdb\\ufffdc\\ufffd\\ufffd\\ufffdd\"");
}

TEST(GoJsonTest, KeepsKeyOrderAndIsCompact) {
  OrderedJson j = OrderedJson::object();
  j["z"] = 1;
  j["a"] = OrderedJson::array({true, false, nullptr});
  j["m"] = OrderedJson::object();
  EXPECT_EQ(GoMarshal(j), "{\"z\":1,\"a\":[true,false,null],\"m\":{}}");
  nlohmann::json sorted = {{"z", 1}, {"a", 2}};
  EXPECT_EQ(GoMarshal(sorted), "{\"a\":2,\"z\":1}");
}

TEST(GoJsonTest, FormatsNumbersLikeGo) {
  struct {
    OrderedJson v;
    const char* want;
  } cases[] = {
      {OrderedJson(int64_t{-42}), "-42"},
      {OrderedJson(uint64_t{18446744073709551615ull}), "18446744073709551615"},
      {OrderedJson(1.5), "1.5"},
      {OrderedJson(100.0), "100"},
      {OrderedJson(0.000001), "0.000001"},
      {OrderedJson(0.0000001), "1e-7"},
      {OrderedJson(1e21), "1e+21"},
      {OrderedJson(123456789012345678.0), "123456789012345680"},
      {OrderedJson(-2.5e-10), "-2.5e-10"},
      {OrderedJson(0.0), "0"},
  };
  for (const auto& c : cases) EXPECT_EQ(GoMarshal(c.v), c.want);
}

TEST(GoJsonTest, ParseJsonObjectRejectsNonObjectsAndDeepNesting) {
  EXPECT_TRUE(ParseJsonObject("{}", "doc"));
  auto arr = ParseJsonObject("[]", "doc");
  ASSERT_FALSE(arr);
  EXPECT_EQ(arr.error().message, "invalid doc: not a JSON object");
  auto bad = ParseJsonObject("{", "doc");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  std::string deep = "{\"a\":" + std::string(5000, '[') + std::string(5000, ']') + "}";
  auto d = ParseJsonObject(deep, "doc");
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().message, "invalid doc: JSON nested too deeply");
  // Brackets inside strings do not count.
  std::string in_string = "{\"a\":\"" + std::string(5000, '[') + "\"}";
  EXPECT_TRUE(ParseJsonObject(in_string, "doc"));
}

TEST(GoJsonTest, FieldWriterKeepsSourceLayout) {
  auto src = ParseJsonObject(R"({"b":null,"x":1,"a":"old","c":[]})", "doc");
  ASSERT_TRUE(src);
  FieldReader r(*src, "doc");
  std::string a;
  std::vector<std::string> b, c;
  ASSERT_TRUE(r.String("a", &a));
  ASSERT_TRUE(r.StringList("b", &b));
  ASSERT_TRUE(r.StringList("c", &c));
  OrderedJson extra = r.Finish();
  EXPECT_EQ(GoMarshal(extra), R"({"x":1})");
  JsonSource source{*src};
  {
    // Unchanged: identical bytes, empty values keep their spelling.
    FieldWriter w;
    w.SetString("a", a);
    w.SetStringList("b", b);
    w.SetStringList("c", c);
    EXPECT_EQ(GoMarshal(w.Build(extra, source)), R"({"b":null,"x":1,"a":"old","c":[]})");
  }
  {
    // Changed values stay in place; a new field goes after the source's; a cleared one goes.
    FieldWriter w;
    w.SetString("a", "");
    w.SetStringList("b", {"v"});
    w.SetStringList("c", c);
    w.SetString("d", "new");
    EXPECT_EQ(GoMarshal(w.Build(extra, source)), R"({"b":["v"],"x":1,"c":[],"d":"new"})");
  }
}

TEST(GoJsonTest, FieldReaderTypeErrorsNameTheField) {
  auto src = ParseJsonObject(R"({"n":"x","l":[1],"m":{"k":2},"b":1,"i":1.5})", "doc");
  ASSERT_TRUE(src);
  FieldReader r(*src, "doc");
  int64_t n = 0;
  auto e1 = r.Int64("n", &n);
  ASSERT_FALSE(e1);
  EXPECT_EQ(e1.error().message, "doc.n: expected an integer");
  std::vector<std::string> l;
  EXPECT_EQ(r.StringList("l", &l).error().message, "doc.l: expected an array of strings");
  std::map<std::string, std::string> m;
  EXPECT_EQ(r.StringMap("m", &m).error().message, "doc.m: expected an object of strings");
  bool b;
  EXPECT_EQ(r.Bool("b", &b).error().message, "doc.b: expected a boolean");
  EXPECT_FALSE(r.Int64("i", &n));
}

}  // namespace
}  // namespace strata::image
