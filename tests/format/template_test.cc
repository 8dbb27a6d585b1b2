#include "format/template.h"

#include <gtest/gtest.h>

#include <string>

#include "format/gofmt.h"

namespace strata::format {
namespace {

const Json& Data() {
  static const Json kData = Json::parse(R"({
    "Name": "alpine", "Tag": "3.19", "Count": 3, "Neg": -7, "Zero": 0,
    "Ratio": 1.5, "Float": 1234567.0, "Small": 0.0001, "Tiny": 0.00001, "Whole": 2.0,
    "True": true, "False": false, "Null": null, "Empty": "",
    "List": ["a", "b", "c"], "Nums": [1, 2, 3], "EmptyList": [], "EmptyMap": {},
    "Map": {"b": "2", "a": "1"},
    "Labels": {"com.example.vendor": "ACME", "version": "1.0"},
    "Nested": {"Inner": {"Value": "deep"}},
    "Mixed": [1, "x", true, null, {"k": "v"}, [1, 2]],
    "HTML": "<a href=\"x\">&'</a>",
    "Unicode": "h\u00e9llo"
  })");
  return kData;
}

struct Case {
  const char* tmpl;
  const char* want;
};

// Expected outputs are what Go's text/template with docker's functions prints for the same
// data decoded from JSON.
const Case kOk[] = {
    {"plain text", "plain text"},
    {"", ""},
    {"{{.Name}}", "alpine"},
    {"{{ .Name }}", "alpine"},
    {"{{.Count}}", "3"},
    {"{{.Neg}}", "-7"},
    {"{{.Ratio}}", "1.5"},
    {"{{.Whole}}", "2"},
    {"{{.Float}}", "1.234567e+06"},
    {"{{.Small}}", "0.0001"},
    {"{{.Tiny}}", "1e-05"},
    {"{{.True}} {{.False}}", "true false"},
    {"{{.Null}}", "<nil>"},
    {"{{.Missing}}", "<no value>"},
    {"{{.Missing.Deeper}}", "<no value>"},
    {"{{.List}}", "[a b c]"},
    {"{{.Nums}}", "[1 2 3]"},
    {"{{.Map}}", "map[a:1 b:2]"},
    {"{{.EmptyList}} {{.EmptyMap}}", "[] map[]"},
    {"{{.Mixed}}", "[1 x true <nil> map[k:v] [1 2]]"},
    {"{{.Nested}}", "map[Inner:map[Value:deep]]"},
    {"{{.Nested.Inner.Value}}", "deep"},
    {"{{.Labels.version}}", "1.0"},
    {"{{.}}", ""},  // replaced below: printing the whole document is checked separately
    // index, len, slice
    {"{{index .Labels \"com.example.vendor\"}}", "ACME"},
    {"{{index .List 1}}", "b"},
    {"{{index .Nums 2}}", "3"},
    {"{{index .Mixed 4 \"k\"}}", "v"},
    {"{{index .Mixed 5 1}}", "2"},
    {"{{index .Labels \"nope\"}}", "<no value>"},
    {"{{index .Name 0}}", "97"},
    {"{{index .List}}", "[a b c]"},
    {"{{len .List}} {{len .Name}} {{len .Map}} {{len .Unicode}}", "3 6 2 6"},
    {"{{slice .Name 1 3}}", "lp"},
    {"{{slice .List 1}}", "[b c]"},
    {"{{slice .Name}}", "alpine"},
    {"{{len (slice .List 1)}}", "2"},
    {"{{slice .Nums 0 1 2}}", "[1]"},
    // control flow
    {"{{if .True}}yes{{else}}no{{end}}", "yes"},
    {"{{if .False}}yes{{else}}no{{end}}", "no"},
    {"{{if .Empty}}a{{else if .Count}}b{{else}}c{{end}}", "b"},
    {"{{if .Empty}}a{{else if .Zero}}b{{else}}c{{end}}", "c"},
    {"{{if .Missing}}a{{else}}b{{end}}", "b"},
    {"{{if .Null}}a{{else}}b{{end}}", "b"},
    {"{{if .EmptyList}}a{{else}}b{{end}}", "b"},
    {"{{if .EmptyMap}}a{{else}}b{{end}}", "b"},
    {"{{if .Ratio}}a{{end}}", "a"},
    {"{{with .Nested.Inner}}{{.Value}}{{end}}", "deep"},
    {"{{with .Missing}}x{{else}}none{{end}}", "none"},
    {"{{with .Empty}}x{{else with .Name}}{{.}}{{end}}", "alpine"},
    {"{{with $x := .Name}}{{$x}}{{end}}", "alpine"},
    {"{{range .List}}[{{.}}]{{end}}", "[a][b][c]"},
    {"{{range $i, $v := .List}}{{$i}}={{$v}} {{end}}", "0=a 1=b 2=c "},
    {"{{range $v := .List}}{{$v}}{{end}}", "abc"},
    {"{{range $k, $v := .Map}}{{$k}}:{{$v}};{{end}}", "a:1;b:2;"},
    {"{{range .Map}}{{.}}{{end}}", "12"},
    {"{{range .EmptyList}}x{{else}}empty{{end}}", "empty"},
    {"{{range .Missing}}x{{else}}none{{end}}", "none"},
    {"{{range .Null}}x{{else}}none{{end}}", "none"},
    {"{{range .List}}{{if eq . \"b\"}}{{break}}{{end}}{{.}}{{end}}", "a"},
    {"{{range .List}}{{if eq . \"b\"}}{{continue}}{{end}}{{.}}{{end}}", "ac"},
    {"{{range 3}}{{.}}{{end}}", "012"},
    {"{{range $i := 2}}{{$i}}{{end}}", "01"},
    {"{{range .Nums}}{{if gt . 1}}{{.}}{{end}}{{end}}", "23"},
    {"{{range .List}}{{$.Name}}{{end}}", "alpinealpinealpine"},
    {"{{range .Mixed}}{{.}},{{end}}", "1,x,true,<nil>,map[k:v],[1 2],"},
    // variables
    {"{{$x := .Name}}{{$x}}", "alpine"},
    {"{{$x := 1}}{{if .True}}{{$x = 2}}{{end}}{{$x}}", "2"},
    {"{{$n := .Nested}}{{$n.Inner.Value}}", "deep"},
    {"{{$.Name}}", "alpine"},
    {"{{$x := .List}}{{range $x}}{{.}}{{end}}", "abc"},
    {"{{$i := 0}}{{range .List}}{{$i = .}}{{end}}{{$i}}", "c"},
    // pipelines and parentheses
    {"{{.Name | printf \"%s!\"}}", "alpine!"},
    {"{{.Name | upper}}", "ALPINE"},
    {"{{upper .Name | lower}}", "alpine"},
    {"{{(index .List 0) | upper}}", "A"},
    {"{{(.Nested).Inner.Value}}", "deep"},
    {"{{(index .Mixed 4).k}}", "v"},
    {"{{.Count | eq 3}}", "true"},
    {"{{\"x\" | printf \"%s-%s\" \"y\"}}", "y-x"},
    // literals
    {"{{\"a\\tb\"}}", "a\tb"},
    {"{{\"\\u00e9\\x41\\101\"}}",
     "\xc3\xa9"
     "AA"},
    {"{{`raw\\n`}}", "raw\\n"},
    {"{{1.5}}", "1.5"},
    {"{{0x10}} {{0o17}} {{0b101}} {{1_000}}", "16 15 5 1000"},
    {"{{'a'}}", "97"},
    {"{{true}} {{false}}", "true false"},
    {"{{1e3}}", "1000"},
    {"{{-3}}", "-3"},
    {"{{ .Name\n}}", "alpine"},
    // trim markers and comments
    {"a  {{- .Name -}}  b", "aalpineb"},
    {"a {{- .Name}} b", "aalpine b"},
    {"a\n\t{{- .Name}}", "aalpine"},
    {"{{.Name -}}\n\n  x", "alpinex"},
    {"a{{/* comment */}}b", "ab"},
    {"a {{- /* c */ -}} b", "ab"},
    {"{{-3 -}} x", "-3x"},
    // printf and friends
    {"{{printf \"%d-%s\" .Count .Name}}", "3-alpine"},
    {"{{printf \"%5d|%-5d|%05d\" 42 42 42}}", "   42|42   |00042"},
    {"{{printf \"%-10s|%10s|\" .Name .Name}}", "alpine    |    alpine|"},
    {"{{printf \"%q\" .Name}}", "\"alpine\""},
    {"{{printf \"%q\" \"a\\\"b\\n\"}}", "\"a\\\"b\\n\""},
    {"{{printf \"%v\" .List}}", "[a b c]"},
    {"{{printf \"%v\" .Map}}", "map[a:1 b:2]"},
    {"{{printf \"%d\" .Nums}}", "[1 2 3]"},
    {"{{printf \"%t\" .True}}", "true"},
    {"{{printf \"%x %X %#x %o %b\" 255 255 255 8 5}}", "ff FF 0xff 10 101"},
    {"{{printf \"%x\" \"hi\"}}", "6869"},
    {"{{printf \"%.2f|%f|%e|%g\" .Ratio .Ratio 1234.5678 1234.5678}}",
     "1.50|1.500000|1.234568e+03|1234.5678"},
    {"{{printf \"%5.1f|\" 3.14159}}", "  3.1|"},
    {"{{printf \"%6.2f%%\" 12.5}}", " 12.50%"},
    {"{{printf \"%g\" 1e21}}", "1e+21"},
    {"{{printf \"%d\" .Name}}", "%!d(string=alpine)"},
    {"{{printf \"%s\"}}", "%!s(MISSING)"},
    {"{{printf \"x\" 1}}", "x%!(EXTRA int=1)"},
    {"{{printf \"%s\" .Count}}", "%!s(int=3)"},
    {"{{printf \"%s\" .Mixed}}",
     "[%!s(int=1) x %!s(bool=true) <nil> map[k:v] [%!s(int=1) %!s(int=2)]]"},
    {"{{printf \"%v %v\" .Null .Missing}}", "<nil> <nil>"},
    {"{{printf \"%s\" .Null}}", "%!s(<nil>)"},
    {"{{printf \"%%\"}}", "%"},
    {"{{printf \"%.3s\" .Name}}", "alp"},
    {"{{printf \"%+d %+d\" 5 -5}}", "+5 -5"},
    {"{{printf \"%c%c\" 65 233}}", "A\xc3\xa9"},
    {"{{printf \"%T %T %T %T\" 1 1.5 \"s\" .List}}", "int float64 string []interface {}"},
    {"{{printf \"%*d|\" 4 7}}", "   7|"},
    {"{{printf \"%!\"}}", "%!!(MISSING)"},
    {"{{printf \"%z\" 1}}", "%!z(int=1)"},
    {"{{printf \"%\"}}", "%!(NOVERB)"},
    {"{{print 1 2}}", "1 2"},
    {"{{print \"a\" \"b\"}}", "ab"},
    {"{{print \"a\" 1 2 \"b\"}}", "a1 2b"},
    {"{{print .Missing}}", "<nil>"},
    {"{{println 1 \"a\"}}", "1 a\n"},
    // comparisons and logic
    {"{{eq .Count 3}}", "true"},
    {"{{eq .Name \"x\" \"alpine\"}}", "true"},
    {"{{eq .Name \"x\" \"y\"}}", "false"},
    {"{{ne .Count 3}}", "false"},
    {"{{eq .Ratio 1.5}}", "true"},
    {"{{eq .Null .Missing}}", "true"},
    {"{{eq .Name .Null}}", "false"},
    {"{{lt 1 2}} {{le 2 2}} {{gt 3 2}} {{ge 1 2}}", "true true true false"},
    {"{{lt \"a\" \"b\"}} {{gt 1.5 2.5}}", "true false"},
    {"{{and 1 0}} {{and 1 2}}", "0 2"},
    {"{{or 0 \"\" \"x\"}}", "x"},
    {"{{or 0 \"\"}}|", "|"},
    {"{{and .False .Missing.X}}", "false"},
    {"{{or .Name (index .List 99)}}", "alpine"},
    {"{{not .True}} {{not .Missing}} {{not .EmptyList}}", "false true true"},
    {"{{if and .True (eq .Count 3)}}ok{{end}}", "ok"},
    {"{{if or .False (not .Empty)}}ok{{end}}", "ok"},
    // escaping functions
    {"{{html .HTML}}", "&lt;a href=&#34;x&#34;&gt;&amp;&#39;&lt;/a&gt;"},
    {"{{js .HTML}}", "\\u003Ca href\\u003D\\\"x\\\"\\u003E\\u0026\\'\\u003C/a\\u003E"},
    {"{{urlquery \"a b&c=d/\\u00e9\"}}", "a+b%26c%3Dd%2F%C3%A9"},
    {"{{html 1 2}}", "1 2"},
    // docker functions
    {"{{json .List}}", "[\"a\",\"b\",\"c\"]"},
    {"{{json .Map}}", "{\"a\":\"1\",\"b\":\"2\"}"},
    {"{{json .HTML}}", "\"<a href=\\\"x\\\">&'</a>\""},
    {"{{json .Null}} {{json .Missing}}", "null null"},
    {"{{json .Ratio}} {{json .Count}} {{json .Tiny}} {{json .True}}", "1.5 3 0.00001 true"},
    {"{{json .Nested}}", "{\"Inner\":{\"Value\":\"deep\"}}"},
    {"{{json \"tab\\there\"}}", "\"tab\\there\""},
    {"{{split \"a,b,c\" \",\"}}", "[a b c]"},
    {"{{split \"abc\" \"\"}}", "[a b c]"},
    {"{{len (split \"a,,b\" \",\")}}", "3"},
    {"{{join .List \", \"}}", "a, b, c"},
    {"{{join (split \"a:b\" \":\") \"-\"}}", "a-b"},
    {"{{title \"hello wide-world foo_bar\"}}", "Hello Wide-World Foo_bar"},
    {"{{lower \"ABC\"}} {{upper \"abc\"}}", "abc ABC"},
    {"{{pad .Name 2 3}}|", "  alpine   |"},
    {"{{pad .Empty 2 3}}|", "|"},
    {"{{truncate .Name 3}}", "alp"},
    {"{{truncate .Name 10}}", "alpine"},
    {"{{truncate .Name 6}}", "alpine"},
};

TEST(TemplateTest, Executes) {
  for (const auto& c : kOk) {
    if (std::string(c.tmpl) == "{{.}}") continue;
    auto t = Template::Parse(c.tmpl);
    ASSERT_TRUE(t) << c.tmpl << ": " << t.error().message;
    auto out = t->Execute(Data());
    ASSERT_TRUE(out) << c.tmpl << ": " << out.error().message;
    EXPECT_EQ(*out, c.want) << c.tmpl;
  }
}

TEST(TemplateTest, PrintsWholeDocumentAsGoMap) {
  auto t = Template::Parse("{{.}}");
  ASSERT_TRUE(t);
  auto out = t->Execute(Json::parse(R"({"b": [1, {"x": null}], "a": "s"})"));
  ASSERT_TRUE(out);
  EXPECT_EQ(*out, "map[a:s b:[1 map[x:<nil>]]]");
  out = t->Execute(Json("just a string"));
  ASSERT_TRUE(out);
  EXPECT_EQ(*out, "just a string");
}

struct ErrCase {
  const char* tmpl;
  const char* want;
};

// Parse errors: "template: :LINE: msg".
const ErrCase kParseErrors[] = {
    {"{{.Name", "template: :1: unclosed action"},
    {"{{if .True}}x", "template: :1: unexpected EOF"},
    {"a\n{{if .X}}\nb", "template: :3: unexpected EOF"},
    {"{{end}}", "template: :1: unexpected {{end}}"},
    {"{{else}}", "template: :1: unexpected {{else}}"},
    {"{{foo}}", "template: :1: function \"foo\" not defined"},
    {"x\n\n{{foo 1}}", "template: :3: function \"foo\" not defined"},
    {"{{$x}}", "template: :1: undefined variable \"$x\""},
    {"{{if .True}}{{$x := 1}}{{end}}{{$x}}", "template: :1: undefined variable \"$x\""},
    {"{{break}}", "template: :1: {{break}} outside {{range}}"},
    {"{{continue}}", "template: :1: {{continue}} outside {{range}}"},
    {"{{range .List}}{{else}}{{break}}{{end}}", "template: :1: {{break}} outside {{range}}"},
    {"{{.Name \"x}}", "template: :1: unterminated quoted string"},
    {"{{`x}}", "template: :1: unterminated raw quoted string"},
    {"{{/* x }}", "template: :1: unclosed comment"},
    {"{{/* x */ .Name}}", "template: :1: comment ends before closing delimiter"},
    {"{{.Name | 1}}", "template: :1: non executable command in pipeline stage 2"},
    {"{{if}}{{end}}", "template: :1: missing value for if"},
    {"{{}}", "template: :1: missing value for command"},
    {"{{.Name)}}", "template: :1: unexpected right paren"},
    {"{{(.Name}}", "template: :1: unclosed left paren"},
    {"{{.Name %}}", "template: :1: unexpected \"%\" in operand"},
    {"{{.Name\n\n", "template: :3: unclosed action started at :1"},
    {"{{end x}}", "template: :1: unexpected \"x\" in end"},
    {"{{if .A}}{{else}}{{else}}{{end}}", "template: :1: expected end; found {{else}}"},
    {"{{range $a, $b, $c := .}}{{end}}", "template: :1: too many declarations in range"},
    {"{{$a, $b := .}}", "template: :1: too many declarations in command"},
    {"{{\"a\".X}}", "template: :1: unexpected . after term \"\\\"a\\\"\""},
    {"{{3x}}", "template: :1: bad number syntax: \"3x\""},
    {"{{99999999999999999999}}", "template: :1: integer overflow: \"99999999999999999999\""},
    {"{{.A#}}", "template: :1: bad character U+0023 '#'"},
    {"{{\"\\q\"}}", "template: :1: invalid syntax"},
    {"{{template \"x\"}}", "template: :1: {{template}} is not supported"},
    {"{{.A | | .B}}", "template: :1: unexpected \"|\" in command"},
};

TEST(TemplateTest, ParseErrors) {
  for (const auto& c : kParseErrors) {
    auto t = Template::Parse(c.tmpl);
    ASSERT_FALSE(t) << c.tmpl;
    EXPECT_EQ(t.error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(t.error().message, c.want) << c.tmpl;
  }
}

// Execution errors: "template: :LINE:COL: executing "" at <NODE>: msg".
const ErrCase kExecErrors[] = {
    {"{{ .Name.Bar }}",
     "template: :1:8: executing \"\" at <.Name.Bar>: can't evaluate field Bar in type string"},
    {"{{ .Foo.Bar }}{{.Count.X}}",
     "template: :1:22: executing \"\" at <.Count.X>: can't evaluate field X in type int"},
    {"line1\n{{.Name.X}}",
     "template: :2:7: executing \"\" at <.Name.X>: can't evaluate field X in type string"},
    {"{{.Null.X}}",
     "template: :1:7: executing \"\" at <.Null.X>: nil pointer evaluating interface {}.X"},
    {"{{.List.X}}",
     "template: :1:7: executing \"\" at <.List.X>: can't evaluate field X in type []interface {}"},
    {"{{len 3}}", "template: :1:2: executing \"\" at <len 3>: error calling len: len of type int"},
    {"{{index .List 5}}",
     "template: :1:2: executing \"\" at <index .List 5>: error calling index: index out of range: "
     "5"},
    {"{{index .List \"a\"}}",
     "template: :1:2: executing \"\" at <index .List \"a\">: error calling index: cannot index "
     "slice/array with type string"},
    {"{{index .Count 1}}",
     "template: :1:2: executing \"\" at <index .Count 1>: error calling index: can't index item of "
     "type int"},
    {"{{slice .Name 3 1}}",
     "template: :1:2: executing \"\" at <slice .Name 3 1>: error calling slice: invalid slice "
     "index: 3 > 1"},
    {"{{lower .Count}}",
     "template: :1:8: executing \"\" at <.Count>: wrong type for value; expected string; got int"},
    {"{{lower 3}}", "template: :1:8: executing \"\" at <3>: expected string; found 3"},
    {"{{truncate .Name \"x\"}}",
     "template: :1:17: executing \"\" at <\"x\">: expected integer; found \"x\""},
    {"{{truncate .Name .Ratio}}",
     "template: :1:17: executing \"\" at <.Ratio>: wrong type for value; expected int; got "
     "float64"},
    {"{{join .Nums \",\"}}",
     "template: :1:7: executing \"\" at <.Nums>: wrong type for value; expected []string; got "
     "[]interface {}"},
    {"{{eq .Name 1}}",
     "template: :1:2: executing \"\" at <eq .Name 1>: error calling eq: incompatible types for "
     "comparison"},
    {"{{lt .List 1}}",
     "template: :1:2: executing \"\" at <lt .List 1>: error calling lt: invalid type for "
     "comparison"},
    {"{{eq .Count}}",
     "template: :1:2: executing \"\" at <eq .Count>: error calling eq: missing argument for "
     "comparison"},
    {"{{lower}}",
     "template: :1:2: executing \"\" at <lower>: wrong number of args for lower: want 1 got 0"},
    {"{{lower \"a\" \"b\"}}",
     "template: :1:2: executing \"\" at <lower>: wrong number of args for lower: want 1 got 2"},
    {"{{and}}",
     "template: :1:2: executing \"\" at <and>: wrong number of args for and: want at least 1 got "
     "0"},
    {"{{range .Name}}{{end}}",
     "template: :1:8: executing \"\" at <.Name>: range can't iterate over alpine"},
    {"{{range $i, $v := 3}}{{end}}",
     "template: :1:18: executing \"\" at <3>: can't use 3 to iterate over more than one variable"},
    {"{{1 2}}", "template: :1:2: executing \"\" at <1>: can't give argument to non-function 1"},
    {"{{.Name 2}}",
     "template: :1:2: executing \"\" at <.Name>: Name is not a method but has arguments"},
    {"{{nil}}", "template: :1:2: executing \"\" at <nil>: nil is not a command"},
    {"{{truncate .Name -1}}",
     "template: :1:2: executing \"\" at <truncate .Name -1>: error calling truncate: runtime "
     "error: slice bounds out of range [:-1]"},
    {"{{pad .Name -1 0}}",
     "template: :1:2: executing \"\" at <pad .Name -1 0>: error calling pad: strings: negative "
     "Repeat count"},
    {"{{index .Missing 1}}",
     "template: :1:2: executing \"\" at <index .Missing 1>: error calling index: index of untyped "
     "nil"},
    {"{{lower .Missing}}",
     "template: :1:8: executing \"\" at <.Missing>: invalid value; expected string"},
};

TEST(TemplateTest, ExecErrors) {
  for (const auto& c : kExecErrors) {
    auto t = Template::Parse(c.tmpl);
    ASSERT_TRUE(t) << c.tmpl << ": " << t.error().message;
    auto out = t->Execute(Data());
    ASSERT_FALSE(out) << c.tmpl << " printed " << *out;
    EXPECT_EQ(out.error().message, c.want) << c.tmpl;
  }
}

TEST(TemplateTest, ParseOnceExecuteMany) {
  auto t = Template::Parse("{{.ID}}:{{.Size}}");
  ASSERT_TRUE(t);
  Template copy = *t;
  for (int i = 0; i < 3; ++i) {
    auto out = copy.Execute(Json{{"ID", "img" + std::to_string(i)}, {"Size", i}});
    ASSERT_TRUE(out);
    EXPECT_EQ(*out, "img" + std::to_string(i) + ":" + std::to_string(i));
  }
}

TEST(TemplateTest, StreamsToWriter) {
  auto t = Template::Parse("{{range .}}{{.}}\n{{end}}");
  ASSERT_TRUE(t);
  Json data = Json::array();
  for (int i = 0; i < 20000; ++i) data.push_back(i);
  StringWriter w;
  ASSERT_TRUE(t->Execute(data, w));
  EXPECT_EQ(w.str().substr(0, 6), "0\n1\n2\n");
  EXPECT_EQ(w.str().size(), std::string(*t->Execute(data)).size());
}

TEST(TemplateTest, LimitsNestingDepth) {
  std::string deep = "{{" + std::string(150, '(') + "1" + std::string(150, ')') + "}}";
  auto t = Template::Parse(deep);
  ASSERT_FALSE(t);
  EXPECT_NE(t.error().message.find("nesting too deep"), std::string::npos) << t.error().message;

  std::string ifs;
  for (int i = 0; i < 150; ++i) ifs += "{{if 1}}";
  for (int i = 0; i < 150; ++i) ifs += "{{end}}";
  t = Template::Parse(ifs);
  ASSERT_FALSE(t);
  EXPECT_NE(t.error().message.find("nesting too deep"), std::string::npos);

  std::string ok = "{{" + std::string(50, '(') + "1" + std::string(50, ')') + "}}";
  auto t2 = Template::Parse(ok);
  ASSERT_TRUE(t2) << t2.error().message;
  EXPECT_EQ(*t2->Execute(Json()), "1");
}

TEST(TemplateTest, LimitsOutputAndSteps) {
  ExecuteOptions opts;
  opts.limits.max_output = 10;
  auto t = Template::Parse("{{range 100}}x{{end}}");
  ASSERT_TRUE(t);
  auto out = t->Execute(Json(), opts);
  ASSERT_FALSE(out);
  EXPECT_NE(out.error().message.find("output exceeds 10 bytes"), std::string::npos);

  auto p = Template::Parse("{{pad \"x\" 100 0}}");
  ASSERT_TRUE(p);
  out = p->Execute(Json(), opts);
  ASSERT_FALSE(out);
  EXPECT_NE(out.error().message.find("exceeds output limit"), std::string::npos);

  ExecuteOptions steps;
  steps.limits.max_steps = 1000;
  auto loop = Template::Parse("{{range 1000000000}}{{end}}");
  ASSERT_TRUE(loop);
  out = loop->Execute(Json(), steps);
  ASSERT_FALSE(out);
  EXPECT_NE(out.error().message.find("exceeded 1000 steps"), std::string::npos);
}

TEST(TemplateTest, HeaderFunctionsKeepTitles) {
  auto t = Template::Parse(
      "{{lower .A}}|{{json .B}}|{{truncate .C 2}}|{{join .D \",\"}}|{{pad .A 1 1}}");
  ASSERT_TRUE(t);
  Json header = {{"A", "NAME"}, {"B", "ID"}, {"C", "CREATED"}, {"D", "LABELS"}};
  ExecuteOptions opts;
  opts.header_functions = true;
  auto out = t->Execute(header, opts);
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_EQ(*out, "NAME|ID|CREATED|LABELS| NAME ");
}

TEST(GoFmtTest, FloatFormatting) {
  EXPECT_EQ(FormatValue(Json(0.1)), "0.1");
  EXPECT_EQ(FormatValue(Json(100000.0)), "100000");
  EXPECT_EQ(FormatValue(Json(1e6)), "1e+06");
  EXPECT_EQ(FormatValue(Json(-2.5e-7)), "-2.5e-07");
  EXPECT_EQ(FormatValue(Json(0.0)), "0");
  EXPECT_EQ(FormatValue(Json(123456.789)), "123456.789");
  EXPECT_EQ(FormatFloat(3.0, 'g', 4), "3");
  EXPECT_EQ(FormatFloat(4.865, 'g', 3), "4.87");
  EXPECT_EQ(FormatFloat(1536, 'g', 4), "1536");
  EXPECT_EQ(FormatFloat(15360, 'g', 4), "1.536e+04");
  EXPECT_EQ(FormatFloat(0.5, 'f', 0), "0");
  EXPECT_EQ(FormatFloat(2.5, 'e', 2), "2.50e+00");
  EXPECT_EQ(GoQuote("tab\there\x01\xff"), "\"tab\\there\\x01\\xff\"");
}

TEST(GoFmtTest, DockerJsonMatchesEncodingJson) {
  EXPECT_EQ(DockerJson(Json::parse(R"({"b":1,"a":[true,null,"<&>"]})")),
            R"({"a":[true,null,"<&>"],"b":1})");
  EXPECT_EQ(DockerJson(Json(1e21)), "1e+21");
  EXPECT_EQ(DockerJson(Json(1e-7)), "1e-7");
  EXPECT_EQ(DockerJson(Json(100.0)), "100");
  EXPECT_EQ(DockerJson(Json("\xe2\x80\xa8\x01")), "\"\\u2028\\u0001\"");
  EXPECT_EQ(DockerJson(Json(std::string("bad\xff"))), "\"bad\\ufffd\"");
}

TEST(TemplateTest, PlainFieldsOnlyForTextAndTopLevelFields) {
  auto t = Template::Parse("{{.Repository}}\t{{ .Tag }}:x");
  ASSERT_TRUE(t);
  auto p = t->PlainFields();
  ASSERT_TRUE(p);
  ASSERT_EQ(p->size(), 4u);
  EXPECT_TRUE((*p)[0].is_field);
  EXPECT_EQ((*p)[0].text, "Repository");
  EXPECT_FALSE((*p)[1].is_field);
  EXPECT_EQ((*p)[1].text, "\t");
  EXPECT_EQ((*p)[2].text, "Tag");
  EXPECT_EQ((*p)[3].text, ":x");
  auto empty = Template::Parse("");
  ASSERT_TRUE(empty);
  ASSERT_TRUE(empty->PlainFields());
  EXPECT_TRUE(empty->PlainFields()->empty());
  for (const char* text :
       {"{{.A.B}}", "{{json .}}", "{{.}}", "{{.A | upper}}", "{{upper .A}}", "{{if .A}}x{{end}}",
        "{{$x := .A}}", "{{$}}", "{{\"s\"}}", "{{range .A}}{{end}}", "{{(.A)}}"}) {
    SCOPED_TRACE(text);
    auto u = Template::Parse(text);
    ASSERT_TRUE(u) << u.error().message;
    EXPECT_FALSE(u->PlainFields());
  }
}

}  // namespace
}  // namespace strata::format
