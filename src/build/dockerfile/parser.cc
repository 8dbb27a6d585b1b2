#include "build/dockerfile/parser.h"

#include <algorithm>
#include <optional>
#include <unordered_set>
#include <variant>

#include "build/dockerfile/go_compat.h"

namespace strata::dockerfile {

namespace {

using go::IsSpaceByte;
using go::IsSpaceRune;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// A parse failure inside one line, before the caller attaches the line numbers.
struct LineError {
  std::string message;
};

template <typename T>
using LineResult = std::variant<T, LineError>;

// ---------------------------------------------------------------------------------------------
// Directives (BuildKit's DirectiveParser): lines of the form `#key=value` at the very top. The
// first line that is not one (including an empty line, a comment, or an unknown key) ends them.
class DirectiveState {
 public:
  // Looks at one line (newline trimmed; leading whitespace trimmed for a first line).
  // Returns an error message for a repeated directive or a bad escape token.
  std::optional<std::string> Feed(std::string_view line, int line_no, ParseResult* result) {
    if (done_) return std::nullopt;
    if (line.empty() || line[0] != '#') {
      done_ = true;
      return std::nullopt;
    }
    line.remove_prefix(1);
    line = go::TrimLeftSpace(line);
    // ^([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$  (\s is Go's [\t\n\f\r ])
    auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
    auto alnum = [&](char c) { return alpha(c) || (c >= '0' && c <= '9'); };
    auto re_space = [](char c) {
      return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
    };
    size_t i = 0;
    if (i >= line.size() || !alpha(line[i])) {
      done_ = true;
      return std::nullopt;
    }
    while (i < line.size() && alnum(line[i])) ++i;
    std::string key = Lower(line.substr(0, i));
    while (i < line.size() && re_space(line[i])) ++i;
    if (i >= line.size() || line[i] != '=') {
      done_ = true;
      return std::nullopt;
    }
    ++i;
    while (i < line.size() && re_space(line[i])) ++i;
    std::string_view value = line.substr(i);
    while (!value.empty() && re_space(value.back())) value.remove_suffix(1);
    // `.+?` needs one character that is not a newline.
    if (value.empty() || value.find('\n') != std::string_view::npos) {
      done_ = true;
      return std::nullopt;
    }
    if (key != "syntax" && key != "escape" && key != "check") {
      done_ = true;
      return std::nullopt;
    }
    if (!seen_.insert(key).second) {
      return "only one " + key + " parser directive can be used";
    }
    if (key == "escape") {
      if (value != "`" && value != "\\") {
        return "invalid escape token '" + std::string(value) + "' does not match ` or \\";
      }
      result->escape_token = value[0];
    }
    result->directives.push_back(Directive{key, std::string(value), line_no});
    return std::nullopt;
  }

 private:
  bool done_ = false;
  std::unordered_set<std::string> seen_;
};

std::string_view TrimNewline(std::string_view s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

bool IsComment(std::string_view raw) {
  std::string_view t = go::TrimLeftSpace(TrimNewline(raw));
  return !t.empty() && t[0] == '#';
}

// Removes a trailing line-continuation escape: the escape token, then only spaces or tabs, not
// itself escaped (BuildKit's `([^\E])\E[ \t]*$|^\E[ \t]*$`). Returns true if it was one.
bool TrimContinuation(std::string_view* line, char escape) {
  std::string_view s = *line;
  size_t end = s.size();
  while (end > 0 && (s[end - 1] == ' ' || s[end - 1] == '\t')) --end;
  if (end == 0 || s[end - 1] != escape) return false;
  if (end >= 2 && s[end - 2] == escape) return false;
  *line = s.substr(0, end - 1);
  return true;
}

// ---------------------------------------------------------------------------------------------
// Word splitting.

// BuildKit's parseWords: whitespace-separated words, quotes and escapes kept in the word.
std::vector<std::string> ParseWords(std::string_view rest, char escape) {
  enum { kSpaces, kWord, kQuote } phase = kSpaces;
  std::vector<std::string> words;
  std::string word;
  uint32_t quote = 0;
  bool blank_ok = false;
  uint32_t ch = 0;
  size_t width = 0;
  auto append = [&](uint32_t r, size_t pos, size_t w) {
    // Go appends string(rune): an invalid byte becomes U+FFFD.
    if (r == 0xFFFD && w == 1) {
      go::AppendRune(&word, r);
    } else {
      word.append(rest.substr(pos, w));
    }
  };
  size_t ch_pos = 0;
  for (size_t pos = 0; pos <= rest.size(); pos += width) {
    if (pos != rest.size()) {
      ch = go::DecodeRune(rest, pos, &width);
      ch_pos = pos;
    } else {
      width = 1;
    }
    if (phase == kSpaces) {
      if (pos == rest.size()) break;
      if (IsSpaceRune(ch) && !(ch == 0xFFFD && width == 1)) continue;
      phase = kWord;
    }
    if ((phase == kWord || phase == kQuote) && pos == rest.size()) {
      if (blank_ok || !word.empty()) words.push_back(word);
      break;
    }
    if (phase == kWord) {
      if (IsSpaceRune(ch) && !(ch == 0xFFFD && width == 1)) {
        phase = kSpaces;
        if (blank_ok || !word.empty()) words.push_back(word);
        word.clear();
        blank_ok = false;
        continue;
      }
      if (ch == '\'' || ch == '"') {
        quote = ch;
        blank_ok = true;
        phase = kQuote;
      }
      if (ch == static_cast<unsigned char>(escape)) {
        if (pos + width == rest.size()) continue;  // an escape at the very end is dropped
        append(ch, ch_pos, width);
        pos += width;
        ch = go::DecodeRune(rest, pos, &width);
        ch_pos = pos;
      }
      append(ch, ch_pos, width);
      continue;
    }
    // kQuote
    if (ch == quote) phase = kWord;
    if (ch == static_cast<unsigned char>(escape) && quote != '\'') {
      if (pos + width == rest.size()) {
        phase = kWord;
        continue;
      }
      append(ch, ch_pos, width);
      pos += width;
      ch = go::DecodeRune(rest, pos, &width);
      ch_pos = pos;
    }
    append(ch, ch_pos, width);
  }
  return words;
}

// regexp.Split(s, n) with `[\t\v\f\r ]+`.
std::vector<std::string> SplitWhitespace(std::string_view s, int n) {
  auto ws = [](char c) { return c == '\t' || c == '\v' || c == '\f' || c == '\r' || c == ' '; };
  std::vector<std::string> out;
  size_t start = 0;
  size_t i = 0;
  while (i < s.size()) {
    if (n > 0 && static_cast<int>(out.size()) == n - 1) break;
    if (ws(s[i])) {
      size_t j = i;
      while (j < s.size() && ws(s[j])) ++j;
      out.emplace_back(s.substr(start, i - start));
      start = i = j;
    } else {
      ++i;
    }
  }
  out.emplace_back(s.substr(start));
  return out;
}

// BuildKit's extractBuilderFlags: leading `--name[=value]` words (quotes and backslashes
// processed inside them), stopping at the first word that does not start with `--` or at a
// bare `--`. Works bytewise, as BuildKit does: each byte is appended as the rune of that value,
// so a non-ASCII flag value is re-encoded as if it were Latin-1 (BuildKit's behaviour).
std::string_view ExtractFlags(std::string_view line, std::vector<std::string>* flags) {
  enum { kSpaces, kWord, kQuote } phase = kSpaces;
  std::string word;
  char quote = 0;
  bool blank_ok = false;
  for (size_t pos = 0; pos <= line.size(); ++pos) {
    unsigned char ch = pos < line.size() ? static_cast<unsigned char>(line[pos]) : 0;
    if (phase == kSpaces) {
      if (pos == line.size()) break;
      if (IsSpaceByte(ch)) continue;
      if (ch != '-' || pos + 1 == line.size() || line[pos + 1] != '-') return line.substr(pos);
      phase = kWord;
    }
    if (pos == line.size()) {
      if (word != "--" && (blank_ok || !word.empty())) flags->push_back(word);
      break;
    }
    if (phase == kWord) {
      if (IsSpaceByte(ch)) {
        phase = kSpaces;
        if (word == "--") return line.substr(pos);
        if (blank_ok || !word.empty()) flags->push_back(word);
        word.clear();
        blank_ok = false;
        continue;
      }
      if (ch == '\'' || ch == '"') {
        quote = static_cast<char>(ch);
        blank_ok = true;
        phase = kQuote;
        continue;
      }
      if (ch == '\\') {
        if (pos + 1 == line.size()) continue;
        ++pos;
        ch = static_cast<unsigned char>(line[pos]);
      }
      go::AppendRune(&word, ch);
      continue;
    }
    // kQuote
    if (ch == static_cast<unsigned char>(quote)) {
      phase = kWord;
      continue;
    }
    if (ch == '\\') {
      if (pos + 1 == line.size()) {
        phase = kWord;
        continue;
      }
      ++pos;
      ch = static_cast<unsigned char>(line[pos]);
    }
    go::AppendRune(&word, ch);
  }
  return {};
}

// ---------------------------------------------------------------------------------------------
// A minimal form of BuildKit's shell lexer in ProcessWords mode without an environment
// (SkipUnsetEnv): enough to find heredoc markers the way the parser finds them. Quotes are
// kept (raw_quotes) or removed; escapes are kept (raw_escapes) or applied. `$` is literal.
// Returns false on an unterminated quote, as the lexer errors then.
bool LexWords(std::string_view s, bool raw_quotes, bool raw_escapes,
              std::vector<std::string>* out) {
  const char kEscape = '\\';
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  auto end_word = [&] {
    if (in_word) words.push_back(word);
    word.clear();
    in_word = false;
  };
  size_t i = 0;
  while (i < s.size()) {
    char c = s[i];
    if (c == '\'') {
      std::string tmp;
      if (raw_quotes) tmp += c;
      size_t j = i + 1;
      while (j < s.size() && s[j] != '\'') tmp += s[j++];
      if (j >= s.size()) return false;
      if (raw_quotes) tmp += '\'';
      word += tmp;
      in_word = true;
      i = j + 1;
      continue;
    }
    if (c == '"') {
      std::string tmp;
      if (raw_quotes) tmp += c;
      size_t j = i + 1;
      for (;;) {
        if (j >= s.size()) return false;
        char d = s[j];
        if (d == '"') {
          if (raw_quotes) tmp += d;
          ++j;
          break;
        }
        ++j;
        if (d == kEscape) {
          if (raw_escapes) tmp += d;
          if (j >= s.size()) continue;
          if (s[j] == '"' || s[j] == '$' || s[j] == kEscape) d = s[j++];
        }
        tmp += d;
      }
      word += tmp;
      in_word = true;
      i = j;
      continue;
    }
    ++i;
    if (c == kEscape) {
      if (raw_escapes) word += c;
      if (i >= s.size()) break;
      word += s[i++];
      in_word = true;
      continue;
    }
    size_t w;
    uint32_t r = go::DecodeRune(s, i - 1, &w);
    if (IsSpaceRune(r) && !(r == 0xFFFD && w == 1)) {
      end_word();
      i += w - 1;
      continue;
    }
    word += c;
    in_word = true;
  }
  end_word();
  *out = std::move(words);
  return true;
}

std::vector<Heredoc> HeredocsFromLine(std::string_view line) {
  std::vector<std::string> words;
  std::vector<Heredoc> docs;
  if (!LexWords(line, true, true, &words)) return docs;
  for (const std::string& w : words) {
    Heredoc h;
    if (ParseHeredocMarker(w, &h)) docs.push_back(std::move(h));
  }
  return docs;
}

// ---------------------------------------------------------------------------------------------
// Per-instruction argument parsers (BuildKit's dispatch table).

struct Parsed {
  std::vector<std::string> args;
  bool json = false;
  std::shared_ptr<const Node> trigger;
};

const char kNotStringArray[] =
    "when using JSON array syntax, arrays must be comprised of strings only";

// parseJSON: 0 = is JSON (args set), 1 = not JSON, 2 = JSON with non-strings (an error).
int TryJson(std::string_view rest, std::vector<std::string>* args) {
  rest = go::TrimLeftSpace(rest);
  if (rest.empty() || rest[0] != '[') return 1;
  switch (go::DecodeJsonStringArray(rest, args)) {
    case go::JsonArrayKind::kStrings:
      return 0;
    case go::JsonArrayKind::kNotStrings:
      return 2;
    case go::JsonArrayKind::kError:
      return 1;
  }
  return 1;
}

LineResult<Parsed> ParseMaybeJson(std::string_view rest) {
  Parsed p;
  if (rest.empty()) return p;
  switch (TryJson(rest, &p.args)) {
    case 0:
      p.json = true;
      return p;
    case 2:
      return LineError{kNotStringArray};
    default:
      break;
  }
  p.args = {std::string(rest)};
  return p;
}

LineResult<Parsed> ParseMaybeJsonToList(std::string_view rest) {
  Parsed p;
  switch (TryJson(rest, &p.args)) {
    case 0:
      p.json = true;
      return p;
    case 2:
      return LineError{kNotStringArray};
    default:
      break;
  }
  if (!rest.empty()) p.args = SplitWhitespace(rest, -1);
  return p;
}

LineResult<Parsed> ParseNameVal(std::string_view rest, std::string_view key, char escape) {
  Parsed p;
  std::vector<std::string> words = ParseWords(rest, escape);
  if (words.empty()) return p;
  if (words[0].find('=') == std::string::npos) {
    std::vector<std::string> parts = SplitWhitespace(rest, 2);
    if (parts.size() < 2) return LineError{std::string(key) + " must have two arguments"};
    p.args = {parts[0], parts[1]};
    return p;
  }
  for (const std::string& w : words) {
    size_t eq = w.find('=');
    if (eq == std::string::npos) {
      return LineError{"Syntax error - can't find = in " + go::Quote(w) +
                       ". Must be of the form: name=value"};
    }
    p.args.push_back(w.substr(0, eq));
    p.args.push_back(w.substr(eq + 1));
  }
  return p;
}

LineResult<Parsed> ParseHealthConfig(std::string_view rest) {
  Parsed p;
  size_t sep = 0;
  while (sep < rest.size() && !IsSpaceByte(static_cast<unsigned char>(rest[sep]))) ++sep;
  size_t next = sep;
  while (next < rest.size() && IsSpaceByte(static_cast<unsigned char>(rest[next]))) ++next;
  if (sep == 0) return p;
  auto cmd = ParseMaybeJson(rest.substr(next));
  if (auto* e = std::get_if<LineError>(&cmd)) return *e;
  Parsed& c = std::get<Parsed>(cmd);
  p.args.emplace_back(rest.substr(0, sep));
  p.args.insert(p.args.end(), c.args.begin(), c.args.end());
  p.json = c.json;
  return p;
}

LineResult<Node> NodeFromLine(std::string_view line, char escape, int depth);

LineResult<Parsed> DispatchArgs(const std::string& cmd, std::string_view rest, char escape,
                                int depth) {
  Parsed p;
  if (cmd == "add" || cmd == "copy" || cmd == "volume") return ParseMaybeJsonToList(rest);
  if (cmd == "cmd" || cmd == "entrypoint" || cmd == "run" || cmd == "shell") {
    return ParseMaybeJson(rest);
  }
  if (cmd == "arg") {
    p.args = ParseWords(rest, escape);
    return p;
  }
  if (cmd == "env") return ParseNameVal(rest, "ENV", escape);
  if (cmd == "label") return ParseNameVal(rest, "LABEL", escape);
  if (cmd == "expose" || cmd == "from") {
    if (!rest.empty()) p.args = SplitWhitespace(rest, -1);
    return p;
  }
  if (cmd == "healthcheck") return ParseHealthConfig(rest);
  if (cmd == "maintainer" || cmd == "stopsignal" || cmd == "user" || cmd == "workdir") {
    if (!rest.empty()) p.args = {std::string(rest)};
    return p;
  }
  if (cmd == "onbuild") {
    if (rest.empty()) return p;
    // Each ONBUILD level is one recursion; BuildKit recurses too, but a pathological
    // `ONBUILD ONBUILD ...` line must not exhaust our stack.
    if (depth > 64) return LineError{"Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"};
    auto child = NodeFromLine(rest, escape, depth + 1);
    if (auto* e = std::get_if<LineError>(&child)) return *e;
    auto trigger = std::make_shared<Node>(std::move(std::get<Node>(child)));
    p.args.push_back(trigger->keyword);
    p.args.insert(p.args.end(), trigger->args.begin(), trigger->args.end());
    p.json = false;
    p.trigger = std::move(trigger);
    return p;
  }
  // Unknown instruction: no arguments; the typed-instruction step reports it.
  return p;
}

// BuildKit's newNodeFromLine: split the instruction word, flags and arguments, then dispatch.
LineResult<Node> NodeFromLine(std::string_view line, char escape, int depth) {
  std::vector<std::string> split = SplitWhitespace(go::TrimSpace(line), 2);
  Node node;
  node.keyword = split[0];
  node.instruction = Lower(split[0]);
  node.original = std::string(line);
  std::string_view rest;
  if (split.size() == 2) {
    rest = go::TrimSpace(ExtractFlags(split[1], &node.flags));
  }
  auto parsed = DispatchArgs(node.instruction, rest, escape, depth);
  if (auto* e = std::get_if<LineError>(&parsed)) return *e;
  Parsed& p = std::get<Parsed>(parsed);
  node.args = std::move(p.args);
  node.json = p.json;
  node.trigger = std::move(p.trigger);
  return node;
}

bool CanContainHeredoc(const Node& node) {
  const Node* n = &node;
  if (n->instruction == "onbuild" && n->trigger) n = n->trigger.get();
  if (n->instruction != "run" && n->instruction != "copy" && n->instruction != "add") {
    return false;
  }
  return !n->json;
}

std::string_view TrimLeadingTabs(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && s[i] == '\t') ++i;
  return s.substr(i);
}

// Splits text into lines that keep their "\n" (BuildKit's scanLines over a bufio.Scanner).
// Like the Go scanner, it stops for good at a line of 64 KiB or more (its maximum token size).
class LineScanner {
 public:
  static constexpr size_t kMaxLine = 64 * 1024;

  explicit LineScanner(std::string_view text) : text_(text) {}
  bool Next(std::string_view* line) {
    if (too_long_ || pos_ >= text_.size()) return false;
    size_t nl = text_.find('\n', pos_);
    size_t content_end = nl == std::string_view::npos ? text_.size() : nl;
    if (content_end - pos_ >= kMaxLine) {
      too_long_ = true;
      return false;
    }
    size_t end = nl == std::string_view::npos ? text_.size() : nl + 1;
    *line = text_.substr(pos_, end - pos_);
    pos_ = end;
    return true;
  }
  bool too_long() const { return too_long_; }

 private:
  std::string_view text_;
  size_t pos_ = 0;
  bool too_long_ = false;
};

}  // namespace

std::string Heredoc::Data() const {
  if (!chomp) return content;
  // (?m)^\t+ -> "": leading tabs of every line.
  std::string out;
  out.reserve(content.size());
  bool at_line_start = true;
  for (char c : content) {
    if (at_line_start && c == '\t') continue;
    at_line_start = c == '\n';
    out.push_back(c);
  }
  return out;
}

bool ParseHeredocMarker(std::string_view word, Heredoc* out) {
  // ^(\d*)<<(-?)([^<]*)$
  size_t i = 0;
  while (i < word.size() && word[i] >= '0' && word[i] <= '9') ++i;
  std::string_view digits = word.substr(0, i);
  if (word.substr(i, 2) != "<<") return false;
  i += 2;
  bool chomp = false;
  if (i < word.size() && word[i] == '-') {
    chomp = true;
    ++i;
  }
  std::string_view rest = word.substr(i);
  if (rest.empty() || rest.find('<') != std::string_view::npos) return false;
  std::vector<std::string> words, raw;
  if (!LexWords(rest, false, false, &words) || words.size() != 1) return false;
  if (!LexWords(rest, true, false, &raw) || raw.size() != 1) return false;
  auto quotes = [](const std::string& s) {
    return std::count(s.begin(), s.end(), '\'') + std::count(s.begin(), s.end(), '"');
  };
  Heredoc h;
  h.name = words[0];
  h.expand = quotes(words[0]) == quotes(raw[0]);
  h.chomp = chomp;
  // strconv.ParseUint(match, 10, 0) with the error ignored: 0 when empty or out of range.
  auto fd = go::ParseUint(digits, 10, 64);
  h.fd = fd && *fd <= 0xFFFFFFFFu ? static_cast<unsigned>(*fd) : 0;
  *out = std::move(h);
  return true;
}

std::string FormatParseError(const ParseError& e) {
  if (e.line <= 0) return e.message;
  return "dockerfile parse error on line " + std::to_string(e.line) + ": " + e.message;
}

namespace {

Error MakeError(ParseError detail, ParseError* out) {
  Error err = InvalidArgument(FormatParseError(detail));
  if (out) *out = std::move(detail);
  return err;
}

}  // namespace

Result<Node> ParseLine(std::string_view line, char escape_token) {
  auto r = NodeFromLine(line, escape_token, 0);
  if (auto* e = std::get_if<LineError>(&r)) return InvalidArgument(e->message);
  return std::move(std::get<Node>(r));
}

Result<ParseResult> Parse(std::string_view text, ParseError* error_detail) {
  ParseResult result;
  if (text.empty()) {
    // BuildKit's front end refuses a zero-byte file before parsing it.
    return MakeError({0, 0, "the Dockerfile cannot be empty"}, error_detail);
  }
  DirectiveState directives;
  LineScanner scanner(text);
  int current_line = 0;
  std::vector<std::string> comments;
  std::string_view raw;
  while (scanner.Next(&raw)) {
    if (current_line == 0 && raw.substr(0, 3) == "\xEF\xBB\xBF") raw.remove_prefix(3);
    if (IsComment(raw)) {
      std::string_view c = go::TrimSpace(raw.substr(1));
      if (c.empty()) {
        comments.clear();
      } else {
        comments.emplace_back(c);
      }
    }
    std::string_view token = go::TrimLeftSpace(TrimNewline(raw));
    if (auto err = directives.Feed(token, current_line + 1, &result)) {
      // BuildKit locates directive errors at the count of lines before this one (an
      // off-by-one); the line itself is what a user needs.
      return MakeError({current_line + 1, current_line + 1, *err}, error_detail);
    }
    if (!token.empty() && token[0] == '#') token = {};
    ++current_line;
    int start_line = current_line;
    char escape = result.escape_token;
    std::string_view first = token;
    bool continued = TrimContinuation(&first, escape);
    if (!continued && first.empty()) continue;
    std::string line(first);
    bool has_empty_continuation = false;
    while (continued && scanner.Next(&raw)) {
      std::string_view next = TrimNewline(raw);
      if (auto err = directives.Feed(next, current_line + 1, &result)) {
        return MakeError({current_line + 1, current_line + 1, *err}, error_detail);
      }
      ++current_line;
      if (IsComment(raw)) continue;
      if (go::TrimLeftSpace(next).empty()) {
        has_empty_continuation = true;
        continue;
      }
      std::string_view part = next;
      continued = TrimContinuation(&part, escape);
      line.append(part);
    }
    if (has_empty_continuation) {
      result.warnings.push_back(Warning{
          "Empty continuation line found in: " + line,
          "Empty continuation lines will become errors in a future release",
          "https://docs.docker.com/go/dockerfile/rule/no-empty-continuation/", current_line});
    }
    auto parsed = NodeFromLine(line, escape, 0);
    if (auto* e = std::get_if<LineError>(&parsed)) {
      return MakeError({start_line, current_line, e->message}, error_detail);
    }
    Node node = std::move(std::get<Node>(parsed));
    if (CanContainHeredoc(node) && line.find("<<") != std::string::npos) {
      for (Heredoc& h : HeredocsFromLine(line)) {
        bool terminated = false;
        while (scanner.Next(&raw)) {
          ++current_line;
          std::string_view candidate = TrimNewline(raw);
          if (h.chomp) candidate = TrimLeadingTabs(candidate);
          if (candidate == h.name) {
            terminated = true;
            break;
          }
          h.content.append(raw);
        }
        if (!terminated) {
          return MakeError({start_line, current_line, "unterminated heredoc"}, error_detail);
        }
        node.heredocs.push_back(std::move(h));
      }
    }
    node.start_line = start_line;
    node.end_line = current_line;
    node.comments = std::move(comments);
    comments.clear();
    result.nodes.push_back(std::move(node));
  }
  if (result.nodes.empty()) {
    return MakeError({current_line, current_line, "file with no instructions"}, error_detail);
  }
  if (scanner.too_long()) {
    return MakeError({current_line + 1, current_line + 1,
                      "dockerfile line greater than max allowed size of " +
                          std::to_string(LineScanner::kMaxLine - 1)},
                     error_detail);
  }
  return result;
}

}  // namespace strata::dockerfile
