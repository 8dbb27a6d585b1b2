#include "util/csv.h"

#include <gtest/gtest.h>

namespace strata {
namespace {

TEST(Csv, FieldsQuotesAndGosErrors) {
  auto r = ReadCsvRecord(R"(type=local,"dest=a,b","q""t")", "outputs");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, (std::vector<std::string>{"type=local", "dest=a,b", "q\"t"}));
  auto bare = ReadCsvRecord("type=lo\"cal", "outputs");
  ASSERT_FALSE(bare);
  // Go's encoding/csv, as docker's CLI prints it.
  EXPECT_EQ(
      bare.error().message,
      "failed to parse outputs: parse error on line 1, column 8: bare \" in non-quoted-field");
  auto open = ReadCsvRecord("\"abc", "csv mounts");
  ASSERT_FALSE(open);
  EXPECT_EQ(open.error().message,
            "failed to parse csv mounts: parse error on line 1, column 5: extraneous or missing \" "
            "in quoted-field");
  EXPECT_EQ(*ReadCsvRecord("a,b\nc", "x"), (std::vector<std::string>{"a", "b"}));
}

}  // namespace
}  // namespace strata
