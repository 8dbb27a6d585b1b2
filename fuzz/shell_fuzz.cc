// libFuzzer target: arbitrary text through the shell-word lexer (both escape tokens, with and
// without BuildKit's raw/skip options) and through the .dockerignore reader and matcher.
// Nothing may crash, hang or trip a sanitizer; errors are fine.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "build/dockerfile/dockerignore.h"
#include "build/dockerfile/shell.h"

namespace {

const strata::dockerfile::Env& FuzzEnv() {
  static const strata::dockerfile::Env env{
      "A=hello",    "B=x y",         "EMPTY=",         "P=/usr/local/bin/app.tar.gz",
      "S=a*b?c\\d", "N=line\nbreak", "U=\xC3\xA9\xFF", "D=$0 ${A} '\""};
  return env;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace strata::dockerfile;
  std::string_view text(reinterpret_cast<const char*>(data), size);

  // Lexer: every escape token and option combination chosen by the first byte.
  uint8_t sel = size > 0 ? data[0] : 0;
  LexerOptions opts;
  opts.raw_quotes = sel & 1;
  opts.raw_escapes = sel & 2;
  opts.skip_process_quotes = sel & 4;
  opts.skip_unset_env = sel & 8;
  Lexer lex((sel & 16) ? '`' : '\\', opts);
  std::string_view word = size > 0 ? text.substr(1) : text;
  if (auto r = lex.Process(word, FuzzEnv())) {
    // ProcessWord and ProcessWords are views of the same expansion.
    auto w = lex.ProcessWord(word, FuzzEnv());
    auto ws = lex.ProcessWords(word, FuzzEnv());
    if (!w || *w != r->word || !ws || *ws != r->words) __builtin_trap();
    for (const std::string& s : r->words) {
      if (s.empty()) __builtin_trap();  // words are never empty
    }
  }

  // .dockerignore: the text as a file, then each pattern against paths derived from the text.
  auto patterns = ParseDockerignore(text);
  if (!patterns) return 0;
  auto m = Matcher::Create(*patterns);
  if (!m) return 0;
  const char* paths[] = {"a", "a/b", "a/b/c.txt", "Dockerfile", ".dockerignore", "x/y/z/w"};
  for (const char* p : paths) {
    Matcher::MatchInfo info;
    if (m->Matches(p) != m->MatchesUsingParent(p, {}, &info)) __builtin_trap();
    (void)m->MaybeIncludesChildren(p);
  }
  for (const std::string& p : *patterns) {
    std::string path = CleanPath(p[0] == '!' ? p.substr(1) : p);
    if (path.empty() || path[0] == '/' || path == "." || path.starts_with("..")) continue;
    Matcher::MatchInfo parent;
    std::string prefix;
    bool ok = true;
    // Walk the path's components with parent results; the result must equal the direct match.
    size_t start = 0;
    bool last = false;
    while (ok) {
      size_t slash = path.find('/', start);
      prefix = path.substr(0, slash);
      Matcher::MatchInfo info;
      last = m->MatchesUsingParent(prefix, parent, &info);
      parent = std::move(info);
      if (slash == std::string::npos) break;
      start = slash + 1;
    }
    (void)last;
    (void)m->Matches(path);
  }
  return 0;
}
