// BuildKit's shell lexer (moby/buildkit frontend/dockerfile/shell/lex.go), reimplemented.
// The input is scanned rune by rune as Go's text/scanner does (a leading BOM is skipped, invalid
// UTF-8 becomes U+FFFD), so results and error texts match BuildKit byte for byte.
#include "build/dockerfile/shell.h"

#include <fmt/format.h>
#include <locale.h>
#include <wctype.h>

#include <algorithm>
#include <cstdint>
#include <unordered_set>

#include "build/dockerfile/go_compat.h"

namespace strata::dockerfile {

namespace {

using Rune = int32_t;
constexpr Rune kEof = -1;
constexpr Rune kReplacement = 0xFFFD;

char32_t DecodeRune(std::string_view s, size_t pos, size_t* width) {
  return go::DecodeRune(s, pos, width);
}
void AppendRune(std::string& out, char32_t r) { go::AppendRune(&out, r); }

bool IsSpace(Rune r) { return r >= 0 && go::IsSpaceRune(static_cast<uint32_t>(r)); }

// Unicode classes for non-ASCII name characters come from glibc's C.UTF-8 tables (an explicit
// locale object, so the process locale does not matter).
locale_t Utf8Locale() {
  static locale_t loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(0));
  return loc;
}

bool IsDigit(Rune r) { return r >= '0' && r <= '9'; }

bool IsLetterOrDigit(Rune r) {
  if (r < 0x80) return (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || IsDigit(r);
  if (r == kReplacement) return false;
  locale_t loc = Utf8Locale();
  return loc != static_cast<locale_t>(0) && iswalpha_l(static_cast<wint_t>(r), loc);
}

// POSIX special parameters, which BuildKit reads as one-character names.
bool IsSpecialParam(Rune r) {
  switch (r) {
    case '@':
    case '*':
    case '#':
    case '?':
    case '-':
    case '$':
    case '!':
    case '0':
      return true;
    default:
      return false;
  }
}

std::string RuneString(Rune r) {
  std::string s;
  AppendRune(s, r < 0 ? kReplacement : static_cast<char32_t>(r));
  return s;
}

std::vector<Rune> DecodeAll(std::string_view s, bool skip_bom) {
  std::vector<Rune> out;
  out.reserve(s.size());
  size_t pos = 0;
  while (pos < s.size()) {
    size_t w;
    char32_t r = DecodeRune(s, pos, &w);
    pos += w;
    if (skip_bom && out.empty() && pos == w && r == 0xFEFF) continue;
    out.push_back(static_cast<Rune>(r));
  }
  return out;
}

// The words being collected while a word is expanded (BuildKit's wordsStruct).
class Words {
 public:
  void AddChar(Rune ch) {
    if (IsSpace(ch) && in_word_) {
      if (!buf_.empty()) {
        words_.push_back(std::move(buf_));
        buf_.clear();
        in_word_ = false;
      }
    } else if (!IsSpace(ch)) {
      AddRawChar(ch);
    }
  }
  void AddRawChar(Rune ch) {
    AppendRune(buf_, static_cast<char32_t>(ch));
    in_word_ = true;
  }
  void AddString(std::string_view s) {
    size_t pos = 0;
    while (pos < s.size()) {
      size_t w;
      char32_t r = DecodeRune(s, pos, &w);
      pos += w;
      AddChar(static_cast<Rune>(r));
    }
  }
  void AddRawString(std::string_view s) {
    buf_ += s;
    in_word_ = true;
  }
  std::vector<std::string> Take() {
    if (!buf_.empty()) {
      words_.push_back(std::move(buf_));
      buf_.clear();
      in_word_ = false;
    }
    return std::move(words_);
  }

 private:
  std::string buf_;
  std::vector<std::string> words_;
  bool in_word_ = false;
};

// ---- Shell patterns (${var#pat}, ${var%pat}, ${var/pat/repl}) ----
//
// BuildKit converts the pattern to a Go regexp: '*' is ".*" (greedy) or ".*?" (lazy), '?' is ".",
// "\*" "\?" "\\" are literals, "\}" and "\/" drop the backslash, any other escape is an error.
// Go's '.' does not match '\n'. Matching follows Go's leftmost-first rule, which a backtracking
// search that tries the preferred star length first reproduces.
struct PatToken {
  enum Kind { kLit, kAny, kStar } kind;
  char32_t ch = 0;
};

Result<std::vector<PatToken>> CompilePattern(std::string_view pattern) {
  std::vector<Rune> rs = DecodeAll(pattern, /*skip_bom=*/true);
  std::vector<PatToken> out;
  for (size_t i = 0; i < rs.size(); ++i) {
    Rune t = rs[i];
    if (t == '*') {
      out.push_back({PatToken::kStar});
    } else if (t == '?') {
      out.push_back({PatToken::kAny});
    } else if (t == '\\') {
      Rune next = i + 1 < rs.size() ? rs[i + 1] : kEof;
      if (next == '}' || next == '/') continue;
      ++i;
      if (next != '*' && next != '?' && next != '\\') {
        return InvalidArgument(fmt::format("invalid escape '\\{}'", RuneString(next)));
      }
      out.push_back({PatToken::kLit, static_cast<char32_t>(next)});
    } else {
      out.push_back({PatToken::kLit, static_cast<char32_t>(t)});
    }
  }
  return out;
}

class PatternSearch {
 public:
  PatternSearch(const std::vector<PatToken>& toks, std::string_view s, bool greedy)
      : toks_(toks), s_(s), greedy_(greedy) {}

  // End offset of the preferred match starting exactly at byte `start`, or -1.
  long MatchAt(size_t start) { return Match(0, start); }

 private:
  long Match(size_t ti, size_t pos) {
    for (;; ++ti) {
      if (ti == toks_.size()) return static_cast<long>(pos);
      const PatToken& t = toks_[ti];
      if (t.kind == PatToken::kStar) break;
      if (pos >= s_.size()) return -1;
      size_t w;
      char32_t r = DecodeRune(s_, pos, &w);
      if (t.kind == PatToken::kAny ? r == '\n' : r != t.ch) return -1;
      pos += w;
    }
    uint64_t key = (static_cast<uint64_t>(ti) << 32) | pos;
    if (failed_.count(key)) return -1;
    // Offsets the star may stop at, shortest first.
    std::vector<size_t> stops{pos};
    for (size_t p = pos; p < s_.size();) {
      size_t w;
      char32_t r = DecodeRune(s_, p, &w);
      if (r == '\n') break;
      p += w;
      stops.push_back(p);
    }
    if (greedy_) {
      for (auto it = stops.rbegin(); it != stops.rend(); ++it) {
        long e = Match(ti + 1, *it);
        if (e >= 0) return e;
      }
    } else {
      for (size_t p : stops) {
        long e = Match(ti + 1, p);
        if (e >= 0) return e;
      }
    }
    failed_.insert(key);
    return -1;
  }

  const std::vector<PatToken>& toks_;
  std::string_view s_;
  bool greedy_;
  std::unordered_set<uint64_t> failed_;
};

std::string FromRunes(const std::u32string& rs) {
  std::string out;
  for (char32_t r : rs) AppendRune(out, r);
  return out;
}

Result<std::string> TrimPrefix(std::string_view pattern, std::string_view value, bool greedy) {
  auto toks = CompilePattern(pattern);
  if (!toks) {
    return InvalidArgument(
        fmt::format("invalid pattern ({}) in substitution: {}", pattern, toks.error().message));
  }
  PatternSearch search(*toks, value, greedy);
  long end = search.MatchAt(0);
  if (end >= 0) return std::string(value.substr(static_cast<size_t>(end)));
  return std::string(value);
}

// Reverses a pattern rune-wise but keeps each "\x" escape pair in order ("a\*c" -> "c\*a").
std::string ReversePattern(std::string_view pattern) {
  std::u32string rs = go::ToRunes(pattern);
  std::u32string out(rs.size(), 0);
  size_t last = rs.size() - 1;
  for (size_t i = 0; i < rs.size();) {
    size_t o = last - i;
    if (rs[i] == '\\' && i != last) {
      out[o - 1] = rs[i];
      out[o] = rs[i + 1];
      i += 2;
    } else {
      out[o] = rs[i];
      ++i;
    }
  }
  return FromRunes(out);
}

std::string ReverseString(std::string_view s) {
  std::u32string rs = go::ToRunes(s);
  std::reverse(rs.begin(), rs.end());
  return FromRunes(rs);
}

// Regexps cannot find the shortest rightmost match, so BuildKit reverses both sides and trims a
// prefix. Reversing goes through runes, which turns invalid UTF-8 into U+FFFD as Go does.
Result<std::string> TrimSuffix(std::string_view pattern, std::string_view value, bool greedy) {
  std::string rp = pattern.empty() ? std::string() : ReversePattern(pattern);
  STRATA_ASSIGN_OR_RETURN(std::string trimmed, TrimPrefix(rp, ReverseString(value), greedy));
  return ReverseString(trimmed);
}

// Go's Regexp.Expand for a regexp without groups: $0 / ${0} is the match, $$ is '$', any other
// well-formed reference is empty, a malformed one stays literal.
void ExpandTemplate(std::string& out, std::string_view tmpl, std::string_view match) {
  while (!tmpl.empty()) {
    size_t d = tmpl.find('$');
    if (d == std::string_view::npos) break;
    out += tmpl.substr(0, d);
    tmpl.remove_prefix(d + 1);
    if (!tmpl.empty() && tmpl[0] == '$') {
      out += '$';
      tmpl.remove_prefix(1);
      continue;
    }
    // extract(): a name in braces or a run of letters, digits and '_'.
    std::string_view name;
    std::string_view rest;
    bool ok = false;
    auto is_name_rune = [](char32_t r) {
      return r == '_' || IsLetterOrDigit(static_cast<Rune>(r));
    };
    auto scan_name = [&](std::string_view t, size_t* n) {
      size_t i = 0;
      while (i < t.size()) {
        size_t w;
        char32_t r = DecodeRune(t, i, &w);
        if (!is_name_rune(r)) break;
        i += w;
      }
      *n = i;
    };
    if (!tmpl.empty() && tmpl[0] == '{') {
      size_t n;
      scan_name(tmpl.substr(1), &n);
      if (n > 0 && 1 + n < tmpl.size() && tmpl[1 + n] == '}') {
        name = tmpl.substr(1, n);
        rest = tmpl.substr(n + 2);
        ok = true;
      }
    } else {
      size_t n;
      scan_name(tmpl, &n);
      if (n > 0) {
        name = tmpl.substr(0, n);
        rest = tmpl.substr(n);
        ok = true;
      }
    }
    if (!ok) {
      out += '$';
      continue;
    }
    tmpl = rest;
    // A number names a group; the only group is 0, the whole match (leading zeros allowed).
    if (name.find_first_not_of('0') == std::string_view::npos) out += match;
  }
  out += tmpl;
}

std::string ReplaceAll(const std::vector<PatToken>& toks, std::string_view src,
                       std::string_view repl) {
  PatternSearch search(toks, src, /*greedy=*/true);
  std::string out;
  size_t last_end = 0;
  size_t search_pos = 0;
  while (search_pos <= src.size()) {
    long a0 = -1, a1 = -1;
    for (size_t p = search_pos; p <= src.size();) {
      long e = search.MatchAt(p);
      if (e >= 0) {
        a0 = static_cast<long>(p);
        a1 = e;
        break;
      }
      if (p == src.size()) break;
      size_t w;
      DecodeRune(src, p, &w);
      p += w;
    }
    if (a0 < 0) break;
    out += src.substr(last_end, static_cast<size_t>(a0) - last_end);
    if (static_cast<size_t>(a1) > last_end || a0 == 0) {
      ExpandTemplate(out, repl, src.substr(a0, a1 - a0));
    }
    last_end = static_cast<size_t>(a1);
    size_t width = 0;
    if (search_pos < src.size()) DecodeRune(src, search_pos, &width);
    if (search_pos + width > static_cast<size_t>(a1)) {
      search_pos += width;
    } else if (search_pos + 1 > static_cast<size_t>(a1)) {
      search_pos++;
    } else {
      search_pos = static_cast<size_t>(a1);
    }
  }
  out += src.substr(last_end);
  return out;
}

// One expansion in progress (BuildKit's shellWord).
class ShellWord {
 public:
  ShellWord(std::string_view word, const Env& env, char escape, const LexerOptions& opts)
      : runes_(DecodeAll(word, /*skip_bom=*/true)),
        env_(env),
        escape_(static_cast<unsigned char>(escape)),
        opts_(opts),
        raw_escapes_(opts.raw_escapes) {}

  Status Run(Expansion& out) {
    std::string word;
    std::vector<std::string> words;
    STRATA_TRY(ProcessStopOn(kEof, raw_escapes_, &word, &words));
    out.word = std::move(word);
    out.words = std::move(words);
    out.matched = std::move(matched_);
    out.unmatched = std::move(unmatched_);
    return Ok();
  }

 private:
  Rune Peek() const { return pos_ < runes_.size() ? runes_[pos_] : kEof; }
  Rune Next() { return pos_ < runes_.size() ? runes_[pos_++] : kEof; }

  Status ProcessStopOn(Rune stop, bool raw_escapes, std::string* result_out,
                       std::vector<std::string>* words_out) {
    std::string result;
    Words words;
    bool saved = raw_escapes_;
    raw_escapes_ = raw_escapes;
    struct Restore {
      bool& flag;
      bool value;
      ~Restore() { flag = value; }
    } restore{raw_escapes_, saved};

    while (Peek() != kEof) {
      Rune ch = Peek();
      if (stop != kEof && ch == stop) {
        Next();
        *result_out = std::move(result);
        if (words_out) *words_out = words.Take();
        return Ok();
      }
      bool quote = !opts_.skip_process_quotes && (ch == '\'' || ch == '"');
      if (ch == '$' || quote) {
        std::string tmp;
        if (ch == '$') {
          STRATA_TRY(ProcessDollar(&tmp));
        } else if (ch == '\'') {
          STRATA_TRY(ProcessSingleQuote(&tmp));
        } else {
          STRATA_TRY(ProcessDoubleQuote(&tmp));
        }
        result += tmp;
        if (ch == '$') {
          words.AddString(tmp);
        } else {
          words.AddRawString(tmp);
        }
        continue;
      }
      ch = Next();
      if (ch == escape_) {
        if (raw_escapes_) {
          words.AddRawChar(ch);
          AppendRune(result, static_cast<char32_t>(ch));
        }
        // The escape token escapes the next character; at the very end it is dropped.
        ch = Next();
        if (ch == kEof) break;
        words.AddRawChar(ch);
      } else {
        words.AddChar(ch);
      }
      AppendRune(result, static_cast<char32_t>(ch));
    }
    if (stop != kEof) {
      return InvalidArgument(fmt::format(
          "unexpected end of statement while looking for matching {}", RuneString(stop)));
    }
    *result_out = std::move(result);
    if (words_out) *words_out = words.Take();
    return Ok();
  }

  // Everything between single quotes is literal; a single quote cannot be escaped.
  Status ProcessSingleQuote(std::string* out) {
    std::string result;
    Rune ch = Next();
    if (opts_.raw_quotes) AppendRune(result, static_cast<char32_t>(ch));
    for (;;) {
      ch = Next();
      if (ch == kEof) {
        return InvalidArgument(
            "unexpected end of statement while looking for matching single-quote");
      }
      if (ch == '\'') {
        if (opts_.raw_quotes) AppendRune(result, static_cast<char32_t>(ch));
        *out = std::move(result);
        return Ok();
      }
      AppendRune(result, static_cast<char32_t>(ch));
    }
  }

  // Double quotes keep everything literal except '$' and the escape token, which escapes only
  // '"', '$' and itself (before anything else it stays as written).
  Status ProcessDoubleQuote(std::string* out) {
    std::string result;
    Rune ch = Next();
    if (opts_.raw_quotes) AppendRune(result, static_cast<char32_t>(ch));
    for (;;) {
      Rune p = Peek();
      if (p == kEof) {
        return InvalidArgument(
            "unexpected end of statement while looking for matching double-quote");
      }
      if (p == '"') {
        ch = Next();
        if (opts_.raw_quotes) AppendRune(result, static_cast<char32_t>(ch));
        *out = std::move(result);
        return Ok();
      }
      if (p == '$') {
        std::string value;
        STRATA_TRY(ProcessDollar(&value));
        result += value;
        continue;
      }
      ch = Next();
      if (ch == escape_) {
        if (raw_escapes_) AppendRune(result, static_cast<char32_t>(ch));
        Rune n = Peek();
        if (n == kEof) continue;  // an escape at the end of the word is dropped
        if (n == '"' || n == '$' || n == escape_) ch = Next();
      }
      AppendRune(result, static_cast<char32_t>(ch));
    }
  }

  Status ProcessDollar(std::string* out) {
    Next();  // '$'
    if (Peek() != '{') {
      std::string name = ProcessName();
      if (name.empty()) {
        *out = "$";
        return Ok();
      }
      auto value = GetEnv(name);
      if (!value && opts_.skip_unset_env) {
        *out = "$" + name;
      } else {
        *out = value.value_or("");
      }
      return Ok();
    }
    Next();  // '{'
    switch (Peek()) {
      case kEof:
        return InvalidArgument("syntax error: missing '}'");
      case '{':
      case '}':
      case ':':
        return InvalidArgument("syntax error: bad substitution");
      default:
        break;
    }
    std::string name = ProcessName();
    Rune ch = Next();
    std::string chs = RuneString(ch);
    bool null_is_unset = false;

    if (ch == '}') {
      auto value = GetEnv(name);
      if (!value && opts_.skip_unset_env) {
        *out = "${" + name + "}";
      } else {
        *out = value.value_or("");
      }
      return Ok();
    }
    if (ch == ':' || ch == '+' || ch == '-' || ch == '?' || ch == '#' || ch == '%') {
      if (ch == ':') {
        // ${var:X...}: X is taken whatever it is; an unknown one is reported after the word.
        null_is_unset = true;
        ch = Next();
        chs += RuneString(ch);
      }
      bool pattern = ch == '#' || ch == '%';
      if (null_is_unset && pattern) {
        return InvalidArgument(fmt::format("unsupported modifier ({}) in substitution", chs));
      }
      std::string word;
      if (Status st = ProcessStopOn('}', pattern, &word, nullptr); !st) {
        if (Peek() == kEof) return InvalidArgument("syntax error: missing '}'");
        return st;
      }
      auto value = GetEnv(name);
      if (opts_.skip_unset_env && !value) {
        *out = "${" + name + chs + word + "}";
        return Ok();
      }
      bool unset_or_null = !value || (null_is_unset && value->empty());
      switch (ch) {
        case '-':
          *out = unset_or_null ? word : std::string(*value);
          return Ok();
        case '+':
          *out = unset_or_null ? std::string() : word;
          return Ok();
        case '?':
          if (!value) {
            return InvalidArgument(
                fmt::format("{}: {}", name, word.empty() ? "is not allowed to be unset" : word));
          }
          if (null_is_unset && value->empty()) {
            return InvalidArgument(
                fmt::format("{}: {}", name, word.empty() ? "is not allowed to be empty" : word));
          }
          *out = std::string(*value);
          return Ok();
        case '#':
        case '%': {
          // One '#'/'%' removes the shortest match, a doubled one the longest.
          bool greedy = false;
          std::string_view pat = word;
          if (!pat.empty() && static_cast<unsigned char>(pat[0]) == static_cast<unsigned>(ch)) {
            greedy = true;
            pat.remove_prefix(1);
          }
          std::string v(value.value_or(""));
          Result<std::string> r =
              ch == '%' ? TrimSuffix(pat, v, greedy) : TrimPrefix(pat, v, greedy);
          if (!r) return std::move(r).error();
          *out = std::move(*r);
          return Ok();
        }
        default:
          return InvalidArgument(fmt::format("unsupported modifier ({}) in substitution", chs));
      }
    }
    if (ch == '/') {
      bool replace_all = Peek() == '/';
      if (replace_all) Next();
      std::string pattern;
      if (Status st = ProcessStopOn('/', true, &pattern, nullptr); !st) {
        if (Peek() == kEof) return InvalidArgument("syntax error: missing '/' in ${}");
        return st;
      }
      std::string replacement;
      if (Status st = ProcessStopOn('}', true, &replacement, nullptr); !st) {
        if (Peek() == kEof) return InvalidArgument("syntax error: missing '}'");
        return st;
      }
      auto value = GetEnv(name);
      if (opts_.skip_unset_env && !value) {
        *out = "${" + name + "/" + pattern + "/" + replacement + "}";
        return Ok();
      }
      auto toks = CompilePattern(pattern);
      if (!toks) {
        return InvalidArgument(
            fmt::format("invalid pattern ({}) in substitution: {}", pattern, toks.error().message));
      }
      std::string v(value.value_or(""));
      if (replace_all) {
        *out = ReplaceAll(*toks, v, replacement);
      } else {
        PatternSearch search(*toks, v, /*greedy=*/true);
        *out = v;
        for (size_t p = 0; p <= v.size();) {
          long e = search.MatchAt(p);
          if (e >= 0) {
            *out = v.substr(0, p) + replacement + v.substr(static_cast<size_t>(e));
            break;
          }
          if (p == v.size()) break;
          size_t w;
          DecodeRune(v, p, &w);
          p += w;
        }
      }
      return Ok();
    }
    return InvalidArgument(fmt::format("unsupported modifier ({}) in substitution", chs));
  }

  // A name: a run of digits, one special parameter, or letters, digits and '_'.
  std::string ProcessName() {
    std::string name;
    while (Peek() != kEof) {
      Rune ch = Peek();
      if (name.empty() && IsDigit(ch)) {
        while (Peek() != kEof && IsDigit(Peek())) AppendRune(name, static_cast<char32_t>(Next()));
        return name;
      }
      if (name.empty() && IsSpecialParam(ch)) {
        Next();
        return std::string(1, static_cast<char>(ch));
      }
      if (!IsLetterOrDigit(ch) && ch != '_') break;
      AppendRune(name, static_cast<char32_t>(Next()));
    }
    return name;
  }

  std::optional<std::string> GetEnv(const std::string& name) {
    auto v = env_.Get(name);
    if (v) {
      matched_.insert(name);
      return std::string(*v);
    }
    unmatched_.insert(name);
    return std::nullopt;
  }

  std::vector<Rune> runes_;
  size_t pos_ = 0;
  const Env& env_;
  Rune escape_;
  const LexerOptions& opts_;
  bool raw_escapes_;
  std::set<std::string> matched_;
  std::set<std::string> unmatched_;
};

}  // namespace

Env::Env(const std::vector<std::string>& entries) {
  for (const std::string& e : entries) {
    size_t eq = e.find('=');
    if (eq == std::string::npos) {
      Set(e, "");
    } else {
      Set(std::string_view(e).substr(0, eq), std::string_view(e).substr(eq + 1));
    }
  }
}

void Env::Set(std::string_view key, std::string_view value) {
  auto [it, inserted] = values_.insert_or_assign(std::string(key), std::string(value));
  if (inserted) keys_.push_back(it->first);
}

std::optional<std::string_view> Env::Get(std::string_view key) const {
  auto it = values_.find(std::string(key));
  if (it == values_.end()) return std::nullopt;
  return std::string_view(it->second);
}

Result<Expansion> Lexer::Process(std::string_view word, const Env& env) const {
  ShellWord sw(word, env, escape_, options_);
  Expansion out;
  if (Status st = sw.Run(out); !st) {
    return Error{st.error().code,
                 fmt::format("failed to process {}: {}", go::Quote(word), st.error().message)};
  }
  return out;
}

Result<std::string> Lexer::ProcessWord(std::string_view word, const Env& env) const {
  STRATA_ASSIGN_OR_RETURN(Expansion e, Process(word, env));
  return std::move(e.word);
}

Result<std::vector<std::string>> Lexer::ProcessWords(std::string_view word, const Env& env) const {
  STRATA_ASSIGN_OR_RETURN(Expansion e, Process(word, env));
  return std::move(e.words);
}

}  // namespace strata::dockerfile
