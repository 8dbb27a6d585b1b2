// Unit tests of the Dockerfile parser and the Go behaviours it reproduces. Expected values come
// from BuildKit's parser sources and were checked against docker 20.10 where it has the feature.
#include "build/dockerfile/parser.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>

#include "build/dockerfile/go_compat.h"

namespace strata::dockerfile {
namespace {

using ::testing::ElementsAre;

Node OnlyNode(std::string_view text) {
  auto r = Parse(text);
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().message);
  if (!r || r->nodes.empty()) return {};
  return r->nodes.back();
}

TEST(GoDuration, ParsesLikeGo) {
  EXPECT_EQ(*go::ParseDuration("1h2m3.5s"), 3723500000000);
  EXPECT_EQ(*go::ParseDuration("-1.5s"), -1500000000);
  EXPECT_EQ(*go::ParseDuration(".5s"), 500000000);
  EXPECT_EQ(*go::ParseDuration("1.s"), 1000000000);
  EXPECT_EQ(*go::ParseDuration("0"), 0);
  EXPECT_EQ(*go::ParseDuration("3\xC2\xB5s"), 3000);
  EXPECT_EQ(*go::ParseDuration("10ns"), 10);
  EXPECT_EQ(go::ParseDuration("").error().message, "time: invalid duration \"\"");
  EXPECT_EQ(go::ParseDuration("10").error().message, "time: missing unit in duration \"10\"");
  EXPECT_EQ(go::ParseDuration("1x").error().message, "time: unknown unit \"x\" in duration \"1x\"");
  EXPECT_EQ(go::ParseDuration(".s").error().message, "time: invalid duration \".s\"");
  EXPECT_FALSE(go::ParseDuration("9999999999999999999h").has_value());
}

TEST(GoDuration, FormatsLikeGo) {
  EXPECT_EQ(go::FormatDuration(0), "0s");
  EXPECT_EQ(go::FormatDuration(1500000000), "1.5s");
  EXPECT_EQ(go::FormatDuration(120000000000), "2m0s");
  EXPECT_EQ(go::FormatDuration(3723500000000), "1h2m3.5s");
  EXPECT_EQ(go::FormatDuration(500000000), "500ms");
  EXPECT_EQ(go::FormatDuration(1500), "1.5\xC2\xB5s");
}

TEST(GoQuote, EscapesLikeStrconv) {
  EXPECT_EQ(go::Quote("a\"b\\c\n\t"), "\"a\\\"b\\\\c\\n\\t\"");
  EXPECT_EQ(go::Quote("\x01\x7f"), "\"\\x01\\x7f\"");
  EXPECT_EQ(go::Quote("\xff"), "\"\\xff\"");
  EXPECT_EQ(go::Quote("\xC3\xA9"), "\"\xC3\xA9\"");
}

TEST(GoJson, DecodesStringArraysLikeEncodingJson) {
  std::vector<std::string> out;
  EXPECT_EQ(go::DecodeJsonStringArray(R"(["a", "b"] trailing)", &out), go::JsonArrayKind::kStrings);
  EXPECT_THAT(out, ElementsAre("a", "b"));
  EXPECT_EQ(go::DecodeJsonStringArray(R"(["\ud83d\ude00", "\ud800x", "\u00e9"])", &out),
            go::JsonArrayKind::kStrings);
  EXPECT_THAT(out, ElementsAre("\xF0\x9F\x98\x80", "\xEF\xBF\xBDx", "\xC3\xA9"));
  // Invalid UTF-8 inside a string becomes U+FFFD, as Go's decoder does.
  EXPECT_EQ(go::DecodeJsonStringArray("[\"a\xff\"]", &out), go::JsonArrayKind::kStrings);
  EXPECT_THAT(out, ElementsAre("a\xEF\xBF\xBD"));
  EXPECT_EQ(go::DecodeJsonStringArray(R"(["a", 1])", &out), go::JsonArrayKind::kNotStrings);
  EXPECT_EQ(go::DecodeJsonStringArray(R"([{"a": [true, null]}])", &out),
            go::JsonArrayKind::kNotStrings);
  EXPECT_EQ(go::DecodeJsonStringArray(R"(["a",])", &out), go::JsonArrayKind::kError);
  EXPECT_EQ(go::DecodeJsonStringArray("[\"a\tb\"]", &out), go::JsonArrayKind::kError);
  EXPECT_EQ(go::DecodeJsonStringArray(R"(["a" "b"])", &out), go::JsonArrayKind::kError);
  EXPECT_EQ(go::DecodeJsonStringArray(R"([1e999])", &out), go::JsonArrayKind::kError);
  EXPECT_EQ(go::DecodeJsonStringArray(R"([01])", &out), go::JsonArrayKind::kError);
  EXPECT_EQ(go::DecodeJsonStringArray(std::string(20000, '['), &out), go::JsonArrayKind::kError);
}

TEST(Parser, NodeFields) {
  auto r = Parse("FROM busybox\nrun --mount=type=cache,target=/x \\\n  make all\n");
  ASSERT_TRUE(r.has_value());
  ASSERT_EQ(r->nodes.size(), 2u);
  const Node& n = r->nodes[1];
  EXPECT_EQ(n.keyword, "run");
  EXPECT_EQ(n.instruction, "run");
  EXPECT_EQ(n.start_line, 2);
  EXPECT_EQ(n.end_line, 3);
  EXPECT_THAT(n.flags, ElementsAre("--mount=type=cache,target=/x"));
  EXPECT_THAT(n.args, ElementsAre("make all"));
  EXPECT_FALSE(n.json);
  EXPECT_EQ(n.original, "run --mount=type=cache,target=/x   make all");
}

TEST(Parser, FlagWordsProcessQuotesAndBackslashes) {
  Node n = OnlyNode("COPY --chown=\"a b\" --from='x' --chmod=7\\55 src dst\n");
  EXPECT_THAT(n.flags, ElementsAre("--chown=a b", "--from=x", "--chmod=755"));
  EXPECT_THAT(n.args, ElementsAre("src", "dst"));
}

TEST(Parser, FlagBytesAreReencodedLikeBuildKit) {
  // extractBuilderFlags appends string(rune(byte)): UTF-8 input comes out Latin-1-decoded.
  Node n = OnlyNode("COPY --chown=\xC3\xA9 a b\n");
  EXPECT_THAT(n.flags, ElementsAre("--chown=\xC3\x83\xC2\xA9"));
}

TEST(Parser, EnvWordsKeepQuotesAndEscapes) {
  Node n = OnlyNode("ENV a=\"x y\" b=c\\ d e='$f'\n");
  EXPECT_THAT(n.args, ElementsAre("a", "\"x y\"", "b", "c\\ d", "e", "'$f'"));
}

TEST(Parser, EscapeDirectiveChangesWordEscapes) {
  auto r = Parse("# escape=`\nFROM x\nENV a=b` c\n");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->escape_token, '`');
  ASSERT_EQ(r->directives.size(), 1u);
  EXPECT_EQ(r->directives[0].name, "escape");
  EXPECT_EQ(r->directives[0].line, 1);
  EXPECT_THAT(r->nodes[1].args, ElementsAre("a", "b` c"));
}

TEST(Parser, HeredocMarkers) {
  Heredoc h;
  ASSERT_TRUE(ParseHeredocMarker("<<EOF", &h));
  EXPECT_EQ(h.name, "EOF");
  EXPECT_TRUE(h.expand);
  EXPECT_FALSE(h.chomp);
  ASSERT_TRUE(ParseHeredocMarker("<<-'END'", &h));
  EXPECT_EQ(h.name, "END");
  EXPECT_FALSE(h.expand);
  EXPECT_TRUE(h.chomp);
  ASSERT_TRUE(ParseHeredocMarker("12<<E\"O\"F", &h));
  EXPECT_EQ(h.name, "EOF");
  EXPECT_FALSE(h.expand);
  EXPECT_EQ(h.fd, 12u);
  EXPECT_FALSE(ParseHeredocMarker("<<", &h));
  EXPECT_FALSE(ParseHeredocMarker("<<-", &h));
  EXPECT_FALSE(ParseHeredocMarker("a<<EOF", &h));
  EXPECT_FALSE(ParseHeredocMarker("<<<EOF", &h));
  EXPECT_FALSE(ParseHeredocMarker("<<\"EOF", &h));
}

TEST(Parser, HeredocBodiesAndChomp) {
  auto r = Parse("FROM x\nRUN <<-A cat <<B\n\t\tone\n\tA\n\ttwo\nB\nENV z=1\n");
  ASSERT_TRUE(r.has_value());
  ASSERT_EQ(r->nodes.size(), 3u);
  const Node& run = r->nodes[1];
  EXPECT_EQ(run.start_line, 2);
  EXPECT_EQ(run.end_line, 6);
  ASSERT_EQ(run.heredocs.size(), 2u);
  EXPECT_EQ(run.heredocs[0].content, "\t\tone\n");
  EXPECT_EQ(run.heredocs[0].Data(), "one\n");
  EXPECT_EQ(run.heredocs[1].content, "\ttwo\n");
  EXPECT_EQ(run.heredocs[1].Data(), "\ttwo\n");
  EXPECT_EQ(r->nodes[2].start_line, 7);
}

TEST(Parser, HeredocInsideAnUnterminatedQuoteIsNotOne) {
  // The lexer fails on the unmatched quote, so BuildKit finds no heredocs on the line.
  auto r = Parse("FROM x\nRUN echo \"oops <<EOF\nENV a=b\n");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->nodes.size(), 3u);
  EXPECT_TRUE(r->nodes[1].heredocs.empty());
}

TEST(Parser, ErrorDetail) {
  ParseError d;
  auto r = Parse("FROM x\nCMD [\"a\", 1]\n", &d);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(d.line, 2);
  EXPECT_EQ(d.message, "when using JSON array syntax, arrays must be comprised of strings only");
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.error().message,
            "dockerfile parse error on line 2: when using JSON array syntax, arrays must be "
            "comprised of strings only");
  EXPECT_EQ(FormatParseError({0, 0, "the Dockerfile cannot be empty"}),
            "the Dockerfile cannot be empty");
}

TEST(Parser, DirectiveErrorsPointAtTheirLine) {
  ParseError d;
  ASSERT_FALSE(Parse("# escape=`\n# escape=\\\nFROM x\n", &d).has_value());
  EXPECT_EQ(d.line, 2);
  EXPECT_EQ(d.message, "only one escape parser directive can be used");
}

TEST(Parser, LineLengthLimitOfGoScanner) {
  // Checked against docker 20.10: a 65535-byte line parses, a 65536-byte one fails.
  std::string ok = "FROM x\nENV a=" + std::string(65535 - 6, 'x') + "\n";
  EXPECT_TRUE(Parse(ok).has_value());
  ParseError d;
  std::string bad = "FROM x\nENV a=" + std::string(65536 - 6, 'x') + "\nENV b=c\n";
  EXPECT_FALSE(Parse(bad, &d).has_value());
  EXPECT_EQ(d.message, "dockerfile line greater than max allowed size of 65535");
  EXPECT_EQ(d.line, 2);
  // Without an instruction before it, the file has none.
  EXPECT_FALSE(Parse(std::string(70000, 'x'), &d).has_value());
  EXPECT_EQ(d.message, "file with no instructions");
}

TEST(Parser, EmptyContinuationWarning) {
  auto r = Parse("FROM x\nRUN a \\\n\n b\n");
  ASSERT_TRUE(r.has_value());
  ASSERT_EQ(r->warnings.size(), 1u);
  EXPECT_EQ(r->warnings[0].message, "Empty continuation line found in: RUN a  b");
  EXPECT_EQ(r->warnings[0].detail,
            "Empty continuation lines will become errors in a future release");
  EXPECT_EQ(r->warnings[0].line, 4);
}

TEST(Parser, ParseLineForOnbuildTriggers) {
  auto n = ParseLine("COPY --from=a <<EOF /x");
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(n->instruction, "copy");
  EXPECT_THAT(n->flags, ElementsAre("--from=a"));
  EXPECT_THAT(n->args, ElementsAre("<<EOF", "/x"));
  auto ob = ParseLine("ONBUILD ONBUILD RUN x");
  ASSERT_TRUE(ob.has_value());
  ASSERT_TRUE(ob->trigger);
  EXPECT_EQ(ob->trigger->instruction, "onbuild");
  EXPECT_THAT(ob->args, ElementsAre("ONBUILD", "RUN", "x"));
}

TEST(Parser, DeepOnbuildChainDoesNotRecurseForever) {
  std::string line;
  for (int i = 0; i < 5000; ++i) line += "ONBUILD ";
  line += "RUN x\n";
  auto r = Parse("FROM x\n" + line);
  EXPECT_FALSE(r.has_value());
}

TEST(Parser, LargeFileParsesAndKeepsLineNumbers) {
  std::string text = "FROM busybox\n";
  for (int i = 0; i < 1666; ++i) {
    text += "RUN --mount=type=cache,target=/c echo " + std::to_string(i) + " \\\n";
    text += "  && true\n";
    text += "ENV K" + std::to_string(i) + "=v" + std::to_string(i) + " other=\"x y\"\n";
  }
  auto start = std::chrono::steady_clock::now();
  auto r = Parse(text);
  auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(r.has_value());
  ASSERT_EQ(r->nodes.size(), 1u + 2 * 1666);
  EXPECT_EQ(r->nodes.back().start_line, 1 + 3 * 1666);
  // Generous bound for Debug/sanitizer builds; Release is far below 20 ms.
  EXPECT_LT(std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count(), 2000);
}

}  // namespace
}  // namespace strata::dockerfile
