// .dockerignore: the recorded table in testdata/dockerfile/dockerignore/cases.txt (what docker's
// `COPY . /` received for a context tree and ignore file) replayed through a walker that uses the
// Matcher the way BuildKit's fsutil walker does, plus unit cases for the file reader, path
// cleaning and single-path matching.
#include "build/dockerfile/dockerignore.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace strata::dockerfile {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

struct IgnoreCase {
  std::string name;
  std::optional<std::vector<std::string>> ignore;
  std::vector<std::string> tree;
  std::vector<std::string> options;
  std::optional<std::string> want;
  std::optional<std::string> error;
  bool current = false;
};

std::vector<IgnoreCase> LoadCases() {
  std::ifstream in(std::filesystem::path(STRATA_TESTDATA) / "dockerfile" / "dockerignore" /
                   "cases.txt");
  std::vector<IgnoreCase> cases;
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with("case ")) {
      cases.push_back({line.substr(5)});
      continue;
    }
    if (cases.empty() || line.empty() || line[0] == '#') continue;
    IgnoreCase& c = cases.back();
    if (line == "ignore" || line.starts_with("ignore ")) {
      if (!c.ignore) c.ignore.emplace();
      c.ignore->push_back(line.size() > 7 ? line.substr(7) : "");
    } else if (line.starts_with("tree ")) {
      std::istringstream ss(line.substr(5));
      std::string p;
      while (ss >> p) c.tree.push_back(p);
    } else if (line.starts_with("option ")) {
      c.options.push_back(line.substr(7));
    } else if (line.starts_with("want")) {
      if (!c.current) c.want = line.size() > 5 ? line.substr(5) : "";
    } else if (line.starts_with("current ")) {
      // Today's patternmatcher differs from docker 20.10 here; the case says why.
      c.current = true;
      c.want = line.substr(8);
    } else if (line.starts_with("error ")) {
      c.error = line.substr(6);
    }
  }
  return cases;
}

// A context tree: directory -> children (name -> is_dir).
using Tree = std::map<std::string, std::map<std::string, bool>>;

void AddPath(Tree& t, const std::string& path) {
  bool dir = path.ends_with("/");
  std::string p = dir ? path.substr(0, path.size() - 1) : path;
  std::string parent;
  size_t start = 0;
  for (;;) {
    size_t slash = p.find('/', start);
    std::string name =
        p.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    bool is_dir = slash != std::string::npos || dir;
    t[parent][name] = t[parent][name] || is_dir;
    if (slash == std::string::npos) break;
    parent = parent.empty() ? name : parent + "/" + name;
    t[parent];
    start = slash + 1;
  }
}

// fsutil's walk: an excluded directory is skipped unless an exception pattern may re-include
// something below it; then it is sent and walked, its children matched with its results.
void Walk(const Matcher& m, const Tree& t, const std::string& dir, const Matcher::MatchInfo& parent,
          std::set<std::string>* out) {
  auto it = t.find(dir);
  if (it == t.end()) return;
  for (const auto& [name, is_dir] : it->second) {
    std::string path = dir.empty() ? name : dir + "/" + name;
    Matcher::MatchInfo info;
    bool excluded = m.MatchesUsingParent(path, parent, &info);
    // The single-path API must agree with the incremental one.
    EXPECT_EQ(excluded, m.Matches(path)) << path;
    if (excluded && !(is_dir && m.MaybeIncludesChildren(path))) continue;
    out->insert(is_dir ? path + "/" : path);
    if (is_dir) Walk(m, t, path, info, out);
  }
}

TEST(DockerignoreTable, MatchesRecordedDockerBuilds) {
  std::vector<IgnoreCase> cases = LoadCases();
  ASSERT_GE(cases.size(), 50u);
  size_t decisions = 0;
  for (const IgnoreCase& c : cases) {
    SCOPED_TRACE("case " + c.name);
    ASSERT_TRUE(c.want || c.error) << "case not recorded; run record.sh --update";
    std::string content;
    if (std::find(c.options.begin(), c.options.end(), "bom") != c.options.end()) {
      content = "\xEF\xBB\xBF";
    }
    std::string nl =
        std::find(c.options.begin(), c.options.end(), "crlf") != c.options.end() ? "\r\n" : "\n";
    if (c.ignore) {
      for (const std::string& l : *c.ignore) content += l + nl;
    }
    auto patterns = ParseDockerignore(content);
    Result<Matcher> m = patterns ? Matcher::Create(*patterns) : Result<Matcher>(patterns.error());
    if (c.error) {
      ASSERT_FALSE(m) << "docker refused: " << *c.error;
      EXPECT_THAT(*c.error, HasSubstr(m.error().message));
      continue;
    }
    ASSERT_TRUE(m) << m.error().message;
    Tree t;
    t[""];
    AddPath(t, "Dockerfile");
    if (c.ignore) AddPath(t, ".dockerignore");
    for (const std::string& p : c.tree) AddPath(t, p);
    std::set<std::string> got;
    Walk(*m, t, "", {}, &got);
    std::set<std::string> want;
    std::istringstream ss(*c.want);
    std::string p;
    while (ss >> p) want.insert(p);
    EXPECT_EQ(got, want);
    for (const auto& [dir, children] : t) decisions += children.size();
  }
  EXPECT_GE(decisions, 250u);
}

TEST(Dockerignore, ReadsLikeDocker) {
  auto p = ParseDockerignore(
      "\xEF\xBB\xBF# comment\r\n"
      "\n"
      "   \n"
      "  *.txt  \n"
      " # not a comment\n"
      "/abs/path\n"
      "./rel//x/../y/\n"
      "!  /keep\n"
      "!\n"
      "/\n"
      "last");
  ASSERT_TRUE(p);
  EXPECT_THAT(
      *p, ElementsAre("*.txt", "# not a comment", "abs/path", "rel/y", "!keep", "!", "/", "last"));
  EXPECT_THAT(*ParseDockerignore(""), IsEmpty());
  auto too_long = ParseDockerignore(std::string(70000, 'a'));
  ASSERT_FALSE(too_long);
  EXPECT_EQ(too_long.error().message, "error reading .dockerignore: bufio.Scanner: token too long");
}

TEST(Dockerignore, CleanPathIsGoFilepathClean) {
  struct {
    const char* in;
    const char* out;
  } cases[] = {{"", "."},
               {".", "."},
               {"a/", "a"},
               {"a//b", "a/b"},
               {"./a", "a"},
               {"a/./b", "a/b"},
               {"a/../b", "b"},
               {"a/..", "."},
               {"../a", "../a"},
               {"../../a", "../../a"},
               {"a/../../b", "../b"},
               {"/", "/"},
               {"/..", "/"},
               {"/../a", "/a"},
               {"//a//", "/a"},
               {"a/b/c/../../d", "a/d"},
               {"abc/def/..", "abc"},
               {"..", ".."},
               {"./..", ".."},
               {"a/.../b", "a/.../b"}};
  for (const auto& c : cases) EXPECT_EQ(CleanPath(c.in), c.out) << c.in;
}

// Single-path decisions (patternmatcher.MatchesOrParentMatches).
TEST(Dockerignore, PatternSemantics) {
  struct {
    std::vector<std::string> patterns;
    const char* path;
    bool excluded;
  } cases[] = {
      {{"*"}, "a", true},
      {{"*"}, "a/b", true},  // parent "a" matches
      {{"*.go"}, "a.go", true},
      {{"*.go"}, "dir/a.go", false},
      {{"**/*.go"}, "dir/a.go", true},
      {{"**/*.go"}, "a.go", true},
      {{"**"}, "x/y/z", true},
      {{"a**"}, "abc", true},
      {{"a**"}, "a/b", true},
      {{"a/**"}, "a", false},
      {{"a/**"}, "a/b", true},
      {{"**/b"}, "b", true},
      {{"**/b"}, "a/b", true},
      {{"**/b"}, "ab", false},
      {{"**b"}, "ab", true},
      {{"a**b"}, "ab", true},
      {{"a**b"}, "a/x/b", true},
      {{"a**b"}, "axb", false},  // "**" becomes "(.*/)?": it only spans whole directories
      {{"a/**/b"}, "a/b", true},
      {{"a/**/b"}, "a/x/y/b", true},
      {{"a/**/b"}, "a/xb", false},
      {{"?"}, "é", true},  // '?' is one UTF-8 character
      {{"??"}, "é", false},
      {{"?"}, "/", false},
      {{"a?c"}, "a/c", false},
      {{"[a-c]"}, "b", true},
      {{"[a-c]"}, "d", false},
      {{"[^a]x"}, "b/x", false},
      {{"a[^b]c"}, "a/c", true},  // a negated class is a regexp class: it matches '/'
      {{"\\*"}, "*", true},
      {{"\\*"}, "a", false},
      {{"a.b"}, "axb", false},
      {{"a+"}, "a+", true},
      {{"(a)"}, "(a)", true},
      {{"a|b"}, "a", false},
      {{"$x"}, "$x", true},
      {{"{a,b}"}, "a", false},
      {{"*", "!a"}, "a", false},
      {{"*", "!a"}, "a/b", false},  // "!a" re-includes a's subtree too (parent match)
      {{"*", "!a", "a/b"}, "a/b", true},
      {{"!a", "*"}, "a", true},
      {{"a", "!a/b"}, "a/b", false},
      {{"a", "!a/b"}, "a/c", true},
      {{"a/b"}, "a", false},
      {{"a/b"}, "a/b/c/d", true},
      {{"*/b"}, "x/b/c", true},
      {{"*/b"}, "x/y/b", false},
      {{"/a"}, "a", false},  // ParseDockerignore strips the leading "/", the matcher does not
      {{"./a"}, "a", true},
      {{"a/"}, "a/x", true},
      {{"a/../b"}, "b", true},
      {{"  a  "}, "a", true},
      {{""}, "a", false},
      {{"a\nb"}, "a\nb", true},
      {{"*"}, "a\nb", true},
      {{"**"}, "a\nb", true},
      {{"x/**"}, "x/a\nb", true},
      {{"x/**/y"}, "x/a\n/y", false},  // Go's '.' does not match a newline
  };
  for (const auto& c : cases) {
    auto m = Matcher::Create(c.patterns);
    ASSERT_TRUE(m) << c.patterns[0];
    EXPECT_EQ(m->Matches(c.path), c.excluded)
        << ::testing::PrintToString(c.patterns) << " vs " << c.path;
    Matcher::MatchInfo info;
    EXPECT_EQ(m->MatchesUsingParent(c.path, {}, &info), c.excluded) << c.path;
  }
}

TEST(Dockerignore, BadPatterns) {
  for (const char* p : {"[", "a[", "[]", "[a", "[a-]", "[-a]", "a\\", "[\\", "[z-a]", "[^]"}) {
    auto m = Matcher::Create({p});
    ASSERT_FALSE(m) << p;
    EXPECT_EQ(m.error().message, "syntax error in pattern") << p;
  }
  auto bang = Matcher::Create({"!"});
  ASSERT_FALSE(bang);
  EXPECT_EQ(bang.error().message, "illegal exclusion pattern: \"!\"");
  for (const char* p : {"[a]", "[\\]]", "[a-c]", "[^a]", "a\\b", "[[]", "]", "[!a]", "[*]"}) {
    EXPECT_TRUE(Matcher::Create({p})) << p;
  }
}

TEST(Dockerignore, MaybeIncludesChildrenUsesExceptionPrefixes) {
  auto m = Matcher::Create({"dir", "!dir/keep", "!**/*.go", "other"});
  ASSERT_TRUE(m);
  EXPECT_TRUE(m->HasExclusions());
  EXPECT_TRUE(m->MaybeIncludesChildren("dir"));
  // fsutil only looks at literal prefixes, so "!**/*.go" does not open "other".
  EXPECT_FALSE(m->MaybeIncludesChildren("other"));
  EXPECT_FALSE(m->MaybeIncludesChildren("di"));
  auto plain = Matcher::Create({"dir"});
  EXPECT_FALSE(plain->HasExclusions());
  EXPECT_FALSE(plain->MaybeIncludesChildren("dir"));
}

TEST(Dockerignore, ParentResultsAreReused) {
  auto m = Matcher::Create({"a", "!a/b/keep*"});
  ASSERT_TRUE(m);
  Matcher::MatchInfo a_info, b_info, c_info;
  EXPECT_TRUE(m->MatchesUsingParent("a", {}, &a_info));
  EXPECT_TRUE(m->MatchesUsingParent("a/b", a_info, &b_info));
  EXPECT_FALSE(m->MatchesUsingParent("a/b/keep.txt", b_info, &c_info));
  EXPECT_TRUE(m->MatchesUsingParent("a/b/other", b_info, nullptr));
}

TEST(Dockerignore, IgnoreFileForPrefersTheDockerfilesOwn) {
  std::set<std::string> files = {"ctx/app.Dockerfile.dockerignore", "ctx/.dockerignore"};
  auto exists = [&](const std::string& p) { return files.count(p) > 0; };
  EXPECT_EQ(IgnoreFileFor("ctx", "ctx/app.Dockerfile", exists), "ctx/app.Dockerfile.dockerignore");
  EXPECT_EQ(IgnoreFileFor("ctx", "ctx/Dockerfile", exists), "ctx/.dockerignore");
  EXPECT_EQ(IgnoreFileFor("", "", exists), "./.dockerignore");
  // The file-system variant.
  auto dir = std::filesystem::temp_directory_path() / ("strata-ignore-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "x.Dockerfile") << "FROM scratch\n";
  EXPECT_EQ(IgnoreFileFor(dir.string(), (dir / "x.Dockerfile").string()),
            dir.string() + "/.dockerignore");
  std::ofstream(dir / "x.Dockerfile.dockerignore") << "*\n";
  EXPECT_EQ(IgnoreFileFor(dir.string(), (dir / "x.Dockerfile").string()),
            (dir / "x.Dockerfile.dockerignore").string());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace strata::dockerfile
