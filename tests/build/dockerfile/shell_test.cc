// Shell-word expansion: the table in testdata/dockerfile/shell/*.txt (cases recorded from docker
// 20.10's BuildKit by record.sh, or taken from today's BuildKit lexer where 20.10 is older), plus
// the referenced-variable report and the lexer options.
#include "build/dockerfile/shell.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "build/dockerfile/go_compat.h"

namespace strata::dockerfile {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

struct Case {
  std::string file;
  int line = 0;
  std::string kind;  // word, words, error
  std::string input;
  std::vector<std::string> expected;
  std::vector<std::string> env;
  char escape = '\\';
  std::string source;
};

// Table format (see README in the table directory): `group NAME` resets env and escape;
// `env K=V`, `escape C`, `source docker|buildkit`; a case is `KIND<sep>input<sep>expected...`
// where <sep> is the character right after the kind keyword.
std::vector<Case> LoadTable() {
  std::vector<Case> cases;
  std::filesystem::path dir = std::filesystem::path(STRATA_TESTDATA) / "dockerfile" / "shell";
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() == ".txt") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    std::string line;
    int n = 0;
    std::vector<std::string> env;
    char escape = '\\';
    std::string source = "docker";
    while (std::getline(in, line)) {
      ++n;
      if (line.empty() || line[0] == '#') continue;
      if (line.starts_with("group ")) {
        env.clear();
        escape = '\\';
        source = "docker";
        continue;
      }
      if (line.starts_with("env ")) {
        env.push_back(line.substr(4));
        continue;
      }
      if (line.starts_with("escape ")) {
        escape = line[7];
        continue;
      }
      if (line.starts_with("source ")) {
        source = line.substr(7);
        continue;
      }
      size_t k = 0;
      while (k < line.size() && std::isalpha(static_cast<unsigned char>(line[k]))) ++k;
      Case c;
      c.file = f.filename().string();
      c.line = n;
      c.kind = line.substr(0, k);
      if (k >= line.size()) {
        ADD_FAILURE() << c.file << ":" << n << ": malformed line";
        continue;
      }
      char sep = line[k];
      std::vector<std::string> fields;
      size_t start = k + 1;
      for (;;) {
        size_t end = line.find(sep, start);
        fields.push_back(line.substr(start, end - start));
        if (end == std::string::npos) break;
        start = end + 1;
      }
      c.input = fields[0];
      c.expected.assign(fields.begin() + 1, fields.end());
      if (c.kind == "words" && c.expected.size() == 1 && c.expected[0].empty()) c.expected.clear();
      c.env = env;
      c.escape = escape;
      c.source = source;
      if (c.kind != "word" && c.kind != "words" && c.kind != "error") {
        ADD_FAILURE() << c.file << ":" << n << ": unknown kind " << c.kind;
        continue;
      }
      cases.push_back(std::move(c));
    }
  }
  return cases;
}

std::string Show(const std::vector<std::string>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + go::Quote(v[i]);
  return s + "]";
}

TEST(ShellTable, AllCases) {
  std::vector<Case> cases = LoadTable();
  int docker = 0;
  for (const Case& c : cases) {
    if (c.source == "docker") ++docker;
    Env env(c.env);
    Lexer lex(c.escape);
    std::string where = c.file + ":" + std::to_string(c.line) + " input " + go::Quote(c.input);
    auto r = lex.Process(c.input, env);
    if (c.kind == "error") {
      ASSERT_EQ(c.expected.size(), 1u) << where;
      if (r) {
        ADD_FAILURE() << where << ": expected error, got " << go::Quote(r->word);
        continue;
      }
      EXPECT_EQ(r.error().message, "failed to process " + go::Quote(c.input) + ": " + c.expected[0])
          << where;
      continue;
    }
    if (!r) {
      ADD_FAILURE() << where << ": unexpected error: " << r.error().message;
      continue;
    }
    if (c.kind == "word") {
      ASSERT_EQ(c.expected.size(), 1u) << where;
      EXPECT_EQ(r->word, c.expected[0]) << where;
      // ProcessWord and ProcessWords agree on the error-free path.
      EXPECT_EQ(*lex.ProcessWord(c.input, env), c.expected[0]) << where;
    } else {
      EXPECT_EQ(Show(r->words), Show(c.expected)) << where;
      EXPECT_EQ(Show(*lex.ProcessWords(c.input, env)), Show(c.expected)) << where;
    }
  }
  // The table is the point of this test: keep it large and mostly recorded from docker.
  EXPECT_GE(cases.size(), 300u);
  EXPECT_GE(docker, 150);
}

TEST(Shell, ReportsMatchedAndUnmatchedVariables) {
  Lexer lex;
  Env env{"A=1", "EMPTY="};
  auto r = lex.Process("$A ${EMPTY:-$B} ${C:+x} ${A:-$D}", env);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->word, "1   1");
  // Default words are expanded even when unused, so their variables count as referenced.
  EXPECT_EQ(r->matched, (std::set<std::string>{"A", "EMPTY"}));
  EXPECT_EQ(r->unmatched, (std::set<std::string>{"B", "C", "D"}));
}

TEST(Shell, QuotedAndEscapedDollarIsNotAReference) {
  Lexer lex;
  auto r = lex.Process(R"('$A' \$B "\$C")", Env{});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->word, "$A $B $C");
  EXPECT_THAT(r->matched, IsEmpty());
  EXPECT_THAT(r->unmatched, IsEmpty());
}

TEST(Shell, EnvLaterEntryWins) {
  Env env{"A=first", "B", "A=second"};
  EXPECT_EQ(*env.Get("A"), "second");
  EXPECT_EQ(*env.Get("B"), "");
  EXPECT_FALSE(env.Get("a").has_value());  // case-sensitive
  EXPECT_THAT(env.Keys(), ElementsAre("A", "B"));
  EXPECT_EQ(*Lexer().ProcessWord("$A", env), "second");
}

TEST(Shell, SkipUnsetEnvKeepsReferences) {
  LexerOptions o;
  o.skip_unset_env = true;
  Lexer lex('\\', o);
  Env env{"A=1"};
  EXPECT_EQ(*lex.ProcessWord("$A $B ${C} ${D:-x} ${E/a/b} ${A:-x}", env),
            "1 $B ${C} ${D:-x} ${E/a/b} 1");
}

TEST(Shell, RawQuotesAndEscapes) {
  LexerOptions o;
  o.raw_quotes = true;
  o.raw_escapes = true;
  Lexer lex('\\', o);
  EXPECT_EQ(*lex.ProcessWord(R"('a' "b\"c" \d)", Env{}), R"('a' "b\"c" \d)");
  LexerOptions q;
  q.skip_process_quotes = true;
  EXPECT_EQ(*Lexer('\\', q).ProcessWord(R"('$A' "$A")", Env{"A=x"}), R"('x' "x")");
}

TEST(Shell, InvalidUtf8BecomesReplacementCharacter) {
  Lexer lex;
  EXPECT_EQ(*lex.ProcessWord("a\xff", Env{}), "a\xEF\xBF\xBD");
  auto r = lex.ProcessWord("${\xff", Env{});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message,
            "failed to process \"${\\xff\": unsupported modifier (\xEF\xBF\xBD) in substitution");
}

TEST(Shell, LeadingByteOrderMarkIsSkipped) {
  EXPECT_EQ(*Lexer().ProcessWord("\xEF\xBB\xBF"
                                 "a\xEF\xBB\xBF",
                                 Env{}),
            "a\xEF\xBB\xBF");
}

TEST(Shell, LongInputsDoNotBlowUp) {
  // Patterns with many stars against a long value must stay polynomial.
  std::string value(2000, 'a');
  Env env{"V=" + value};
  std::string pat;
  for (int i = 0; i < 30; ++i) pat += "*a";
  auto r = Lexer().ProcessWord("${V%%" + pat + "b}", env);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, value);
  auto r2 = Lexer().ProcessWord("${V//" + pat + "/x}", env);
  ASSERT_TRUE(r2);
  EXPECT_EQ(*r2, "x");
}

}  // namespace
}  // namespace strata::dockerfile
