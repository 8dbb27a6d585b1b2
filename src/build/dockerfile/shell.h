// Shell-word expansion for Dockerfile instructions: BuildKit's lexer (frontend/dockerfile/shell)
// with its quoting, escapes, $var / ${var...} forms, word splitting and referenced-variable report.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "util/result.h"

namespace strata::dockerfile {

// The variables a word is expanded against: an ordered KEY=VALUE list in which a later entry for
// the same key wins (BuildKit's EnvsFromSlice). Keys are case-sensitive, as on Linux.
class Env {
 public:
  Env() = default;
  // Each entry is KEY=VALUE; an entry without '=' defines KEY as the empty string.
  explicit Env(const std::vector<std::string>& entries);
  Env(std::initializer_list<std::string> entries)
      : Env(std::vector<std::string>(entries.begin(), entries.end())) {}

  void Set(std::string_view key, std::string_view value);
  // The value of key, or nullopt when it is unset (set-but-empty is "").
  std::optional<std::string_view> Get(std::string_view key) const;
  // Keys in first-definition order.
  const std::vector<std::string>& Keys() const { return keys_; }

 private:
  std::vector<std::string> keys_;
  std::unordered_map<std::string, std::string> values_;
};

// Switches that BuildKit sets for special callers (heredocs, lint); all off for instructions.
struct LexerOptions {
  bool raw_quotes = false;           // keep the quote characters in the result
  bool raw_escapes = false;          // keep escape tokens in the result
  bool skip_process_quotes = false;  // treat ' and " as ordinary characters
  bool skip_unset_env = false;       // leave references to unset variables as written
};

// Everything one expansion produces.
struct Expansion {
  std::string word;                 // the expanded text, spaces kept (ProcessWord)
  std::vector<std::string> words;   // the text split into words (ProcessWords)
  std::set<std::string> matched;    // variables referenced that were set
  std::set<std::string> unmatched;  // variables referenced that were unset
};

// Expands one Dockerfile word. The escape token is '\\' or '`' (the escape parser directive).
// Errors have BuildKit's wording: `failed to process "<word>": <reason>`.
class Lexer {
 public:
  explicit Lexer(char escape_token = '\\', LexerOptions options = {})
      : escape_(escape_token), options_(options) {}

  Result<Expansion> Process(std::string_view word, const Env& env) const;
  // One word: quotes removed, variables expanded, whitespace kept.
  Result<std::string> ProcessWord(std::string_view word, const Env& env) const;
  // Several words: split on unquoted whitespace, including whitespace that comes from a variable's
  // value (BuildKit splits there; EXPOSE uses this). Text before a ${var...} that has a word is
  // kept ("8${X:-0}80" -> "8080") as docker 20.10 records; today's lex.go shares one buffer with
  // the nested word and drops it, which we take for a bug and do not copy.
  Result<std::vector<std::string>> ProcessWords(std::string_view word, const Env& env) const;

  char escape_token() const { return escape_; }
  const LexerOptions& options() const { return options_; }

 private:
  char escape_;
  LexerOptions options_;
};

}  // namespace strata::dockerfile
