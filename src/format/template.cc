// Lexer, parser and executor of the text/template subset. The structure mirrors Go's
// text/template/parse (lex.go, parse.go) and text/template (exec.go, funcs.go) so that the
// error texts and edge cases come out the same; see template.h for the public contract.
#include "format/template.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "format/gofmt.h"
#include "util/utf8.h"

namespace strata::format {

// ---------------------------------------------------------------------------------------------
// Tree

enum class NodeType {
  kList,
  kText,
  kAction,
  kIf,
  kRange,
  kWith,
  kBreak,
  kContinue,
  kEnd,
  kElse,
  kPipe,
  kCommand,
  kField,
  kVariable,
  kDot,
  kNil,
  kBool,
  kNumber,
  kString,
  kIdentifier,
  kChain,
};

struct Node {
  NodeType type;
  size_t pos = 0;
  std::string text;                 // Text: text; String: value; Identifier: name
  std::string raw;                  // Number/String: source spelling
  std::vector<std::string> idents;  // Field: names; Variable: $x and names; Chain: names
  std::vector<std::unique_ptr<Node>>
      nodes;  // List items; Pipe commands; Command args; Chain operand
  std::vector<std::unique_ptr<Node>> decls;  // Pipe: declared variables
  bool is_assign = false;                    // Pipe: `=` rather than `:=`
  std::unique_ptr<Node> pipe, list, else_list;
  bool boolean = false;
  bool is_int = false, is_uint = false, is_float = false, float_constant = false;
  int64_t ival = 0;
  double fval = 0;

  Node(NodeType t, size_t p) : type(t), pos(p) {}
};

namespace {

std::string NodeString(const Node& n);

std::string PipeString(const Node& p) {
  std::string s;
  for (size_t i = 0; i < p.decls.size(); ++i) {
    if (i > 0) s += ", ";
    s += NodeString(*p.decls[i]);
  }
  if (!p.decls.empty()) s += p.is_assign ? " = " : " := ";
  for (size_t i = 0; i < p.nodes.size(); ++i) {
    if (i > 0) s += " | ";
    s += NodeString(*p.nodes[i]);
  }
  return s;
}

std::string NodeString(const Node& n) {
  switch (n.type) {
    case NodeType::kText:
      return n.text;
    case NodeType::kAction:
      return "{{" + PipeString(*n.pipe) + "}}";
    case NodeType::kPipe:
      return PipeString(n);
    case NodeType::kCommand: {
      std::string s;
      for (size_t i = 0; i < n.nodes.size(); ++i) {
        if (i > 0) s += " ";
        if (n.nodes[i]->type == NodeType::kPipe) {
          s += "(" + NodeString(*n.nodes[i]) + ")";
        } else {
          s += NodeString(*n.nodes[i]);
        }
      }
      return s;
    }
    case NodeType::kField: {
      std::string s;
      for (const auto& id : n.idents) s += "." + id;
      return s;
    }
    case NodeType::kVariable: {
      std::string s;
      for (size_t i = 0; i < n.idents.size(); ++i) s += (i ? "." : "") + n.idents[i];
      return s;
    }
    case NodeType::kChain: {
      std::string s = n.nodes[0]->type == NodeType::kPipe ? "(" + NodeString(*n.nodes[0]) + ")"
                                                          : NodeString(*n.nodes[0]);
      for (const auto& id : n.idents) s += "." + id;
      return s;
    }
    case NodeType::kDot:
      return ".";
    case NodeType::kNil:
      return "nil";
    case NodeType::kBool:
      return n.boolean ? "true" : "false";
    case NodeType::kNumber:
    case NodeType::kString:
      return n.raw;
    case NodeType::kIdentifier:
      return n.text;
    case NodeType::kEnd:
      return "{{end}}";
    case NodeType::kElse:
      return "{{else}}";
    case NodeType::kBreak:
      return "{{break}}";
    case NodeType::kContinue:
      return "{{continue}}";
    case NodeType::kIf:
      return "{{if " + PipeString(*n.pipe) + "}}";
    case NodeType::kRange:
      return "{{range " + PipeString(*n.pipe) + "}}";
    case NodeType::kWith:
      return "{{with " + PipeString(*n.pipe) + "}}";
    case NodeType::kList:
      return "";
  }
  return "";
}

// Internal unwinding for parse and execution errors, like Go's panic/recover in
// text/template; always caught in Parse/Execute and turned into an Error.
struct TemplateError {
  std::string message;
};

// ---------------------------------------------------------------------------------------------
// Lexer (lex.go)

enum class Tok {
  kError,
  kEOF,
  kText,
  kLeftDelim,
  kRightDelim,
  kSpace,
  kField,
  kVariable,
  kIdentifier,
  kString,
  kRawString,
  kCharConstant,
  kNumber,
  kComplex,
  kBool,
  kChar,
  kPipe,
  kLeftParen,
  kRightParen,
  kDeclare,
  kAssign,
  // Keywords (printed as <word> in errors).
  kKeyword,
  kBlock,
  kBreak,
  kContinue,
  kDot,
  kDefine,
  kElse,
  kEnd,
  kIf,
  kNil,
  kRange,
  kTemplate,
  kWith,
};

struct Token {
  Tok type;
  size_t pos;
  int line;
  std::string val;
};

bool IsSpace(uint32_t r) { return r == ' ' || r == '\t' || r == '\r' || r == '\n'; }
bool IsAlphaNumeric(uint32_t r) {
  return r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') ||
         (r >= 0xC0 && r <= 0x10FFFF && r != 0xFFFD && r != 0xD7 && r != 0xF7);
}

std::string QuoteRuneU(uint32_t r) {
  char buf[32];
  snprintf(buf, sizeof buf, "U+%04X", r);
  std::string s = buf;
  if (r >= 0x20 && r != 0x7F && !(r >= 0x80 && r < 0xA0) && r != 0xFFFD) {
    s += " '";
    std::string tmp;
    // Encode the rune back to UTF-8 for display.
    if (r < 0x80) {
      tmp.push_back(static_cast<char>(r));
    } else if (r < 0x800) {
      tmp.push_back(static_cast<char>(0xC0 | (r >> 6)));
      tmp.push_back(static_cast<char>(0x80 | (r & 0x3F)));
    } else if (r < 0x10000) {
      tmp.push_back(static_cast<char>(0xE0 | (r >> 12)));
      tmp.push_back(static_cast<char>(0x80 | ((r >> 6) & 0x3F)));
      tmp.push_back(static_cast<char>(0x80 | (r & 0x3F)));
    } else {
      tmp.push_back(static_cast<char>(0xF0 | (r >> 18)));
      tmp.push_back(static_cast<char>(0x80 | ((r >> 12) & 0x3F)));
      tmp.push_back(static_cast<char>(0x80 | ((r >> 6) & 0x3F)));
      tmp.push_back(static_cast<char>(0x80 | (r & 0x3F)));
    }
    s += tmp + "'";
  }
  return s;
}

constexpr uint32_t kEof = 0xFFFFFFFF;

class Lexer {
 public:
  explicit Lexer(std::string_view in) : in_(in) {
    for (size_t i = 0; i < in.size(); ++i) {
      if (in[i] == '\n') newlines_.push_back(i);
    }
  }

  std::vector<Token> Run() {
    bool inside = false;
    while (!done_) {
      if (inside) {
        inside = LexInsideAction();
      } else {
        inside = LexText();
      }
    }
    return std::move(items_);
  }

  int LineAt(size_t pos) const {
    return 1 + static_cast<int>(std::lower_bound(newlines_.begin(), newlines_.end(), pos) -
                                newlines_.begin());
  }

 private:
  uint32_t Next() {
    if (pos_ >= in_.size()) {
      width_ = 0;
      return kEof;
    }
    unsigned char c = in_[pos_];
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    uint32_t r = c;
    if (n == 0 || pos_ + n > in_.size()) {
      width_ = 1;
      pos_ += 1;
      return 0xFFFD;
    }
    if (n > 1) {
      r = c & (0xFF >> (n + 1));
      for (size_t k = 1; k < n; ++k) {
        unsigned char cc = in_[pos_ + k];
        if ((cc & 0xC0) != 0x80) {
          width_ = 1;
          pos_ += 1;
          return 0xFFFD;
        }
        r = (r << 6) | (cc & 0x3F);
      }
    }
    width_ = n;
    pos_ += n;
    return r;
  }
  void Backup() { pos_ -= width_; }
  uint32_t Peek() {
    uint32_t r = Next();
    Backup();
    return r;
  }
  std::string_view Rest() const { return in_.substr(pos_); }

  void Emit(Tok t) {
    items_.push_back(
        Token{t, start_, LineAt(start_), std::string(in_.substr(start_, pos_ - start_))});
    start_ = pos_;
  }
  void Ignore() { start_ = pos_; }
  bool Errorf(std::string msg) {
    items_.push_back(Token{Tok::kError, start_, LineAt(start_), std::move(msg)});
    done_ = true;
    return false;
  }

  static bool HasLeftTrimMarker(std::string_view s) {
    return s.size() >= 2 && s[0] == '-' && IsSpace(static_cast<unsigned char>(s[1]));
  }
  static bool HasRightTrimMarker(std::string_view s) {
    return s.size() >= 2 && IsSpace(static_cast<unsigned char>(s[0])) && s[1] == '-';
  }
  void AtRightDelim(bool* delim, bool* trim) const {
    std::string_view r = Rest();
    if (HasRightTrimMarker(r) && r.substr(2).starts_with("}}")) {
      *delim = *trim = true;
      return;
    }
    *delim = r.starts_with("}}");
    *trim = false;
  }
  static size_t LeftTrimLength(std::string_view s) {
    size_t i = 0;
    while (i < s.size() && IsSpace(static_cast<unsigned char>(s[i]))) ++i;
    return i;
  }
  static size_t RightTrimLength(std::string_view s) {
    size_t i = s.size();
    while (i > 0 && IsSpace(static_cast<unsigned char>(s[i - 1]))) --i;
    return s.size() - i;
  }

  // Returns true when an action was entered.
  bool LexText() {
    size_t x = in_.find("{{", pos_);
    if (x == std::string_view::npos) {
      pos_ = in_.size();
      if (pos_ > start_) Emit(Tok::kText);
      Emit(Tok::kEOF);
      done_ = true;
      return false;
    }
    if (x > pos_) {
      pos_ = x;
      size_t trim = 0;
      if (HasLeftTrimMarker(in_.substr(x + 2)))
        trim = RightTrimLength(in_.substr(start_, pos_ - start_));
      pos_ -= trim;
      if (pos_ > start_) Emit(Tok::kText);
      pos_ += trim;
      Ignore();
    }
    return LexLeftDelim();
  }

  bool LexLeftDelim() {
    pos_ += 2;
    bool trim = HasLeftTrimMarker(Rest());
    size_t after = trim ? 2 : 0;
    if (in_.substr(pos_ + after).starts_with("/*")) {
      pos_ += after;
      Ignore();
      return LexComment();
    }
    Emit(Tok::kLeftDelim);
    pos_ += after;
    Ignore();
    paren_depth_ = 0;
    return true;
  }

  bool LexComment() {
    pos_ += 2;
    size_t x = in_.find("*/", pos_);
    if (x == std::string_view::npos) return Errorf("unclosed comment");
    pos_ = x + 2;
    bool delim, trim;
    AtRightDelim(&delim, &trim);
    if (!delim) return Errorf("comment ends before closing delimiter");
    if (trim) pos_ += 2;
    pos_ += 2;
    if (trim) pos_ += LeftTrimLength(Rest());
    Ignore();
    return false;
  }

  bool LexRightDelim(bool trim) {
    if (trim) {
      pos_ += 2;
      Ignore();
    }
    pos_ += 2;
    Emit(Tok::kRightDelim);
    if (trim) {
      pos_ += LeftTrimLength(Rest());
      Ignore();
    }
    return false;
  }

  bool AtTerminator() {
    uint32_t r = Peek();
    if (IsSpace(r)) return true;
    switch (r) {
      case kEof:
      case '.':
      case ',':
      case '|':
      case ':':
      case ')':
      case '(':
        return true;
    }
    return Rest().starts_with("}}");
  }

  // Returns true while still inside the action.
  bool LexInsideAction() {
    bool delim, trim;
    AtRightDelim(&delim, &trim);
    if (delim) {
      if (paren_depth_ == 0) return LexRightDelim(trim);
      return Errorf("unclosed left paren");
    }
    uint32_t r = Next();
    if (r == kEof) return Errorf("unclosed action");
    if (IsSpace(r)) {
      Backup();
      return LexSpace();
    }
    switch (r) {
      case '=':
        Emit(Tok::kAssign);
        return true;
      case ':':
        if (Next() != '=') return Errorf("expected :=");
        Emit(Tok::kDeclare);
        return true;
      case '|':
        Emit(Tok::kPipe);
        return true;
      case '"':
        return LexQuoted('"', "unterminated quoted string", Tok::kString);
      case '`':
        return LexRawQuote();
      case '$':
        return LexFieldOrVariable(Tok::kVariable);
      case '\'':
        return LexQuoted('\'', "unterminated character constant", Tok::kCharConstant);
      case '(':
        Emit(Tok::kLeftParen);
        ++paren_depth_;
        return true;
      case ')':
        --paren_depth_;
        if (paren_depth_ < 0) return Errorf("unexpected right paren");
        Emit(Tok::kRightParen);
        return true;
    }
    if (r == '.') {
      if (pos_ < in_.size()) {
        char c = in_[pos_];
        if (c < '0' || c > '9') return LexFieldOrVariable(Tok::kField);
      }
      Backup();
      return LexNumber();
    }
    if (r == '+' || r == '-' || (r >= '0' && r <= '9')) {
      Backup();
      return LexNumber();
    }
    if (IsAlphaNumeric(r)) {
      Backup();
      return LexIdentifier();
    }
    if (r < 0x80 && r >= 0x20 && r != 0x7F) {
      Emit(Tok::kChar);
      return true;
    }
    return Errorf("unrecognized character in action: " + QuoteRuneU(r));
  }

  bool LexSpace() {
    int spaces = 0;
    while (IsSpace(Peek())) {
      Next();
      ++spaces;
    }
    if (HasRightTrimMarker(in_.substr(pos_ - 1)) && in_.substr(pos_ - 1 + 2).starts_with("}}")) {
      Backup();
      if (spaces == 1) return true;
    }
    Emit(Tok::kSpace);
    return true;
  }

  bool LexIdentifier() {
    uint32_t r;
    for (;;) {
      r = Next();
      if (!IsAlphaNumeric(r)) {
        Backup();
        break;
      }
    }
    if (!AtTerminator()) return Errorf("bad character " + QuoteRuneU(Peek()));
    std::string_view word = in_.substr(start_, pos_ - start_);
    static const std::map<std::string_view, Tok> kKeywords = {{"block", Tok::kBlock},
                                                              {"break", Tok::kBreak},
                                                              {"continue", Tok::kContinue},
                                                              {"define", Tok::kDefine},
                                                              {"else", Tok::kElse},
                                                              {"end", Tok::kEnd},
                                                              {"if", Tok::kIf},
                                                              {"range", Tok::kRange},
                                                              {"nil", Tok::kNil},
                                                              {"template", Tok::kTemplate},
                                                              {"with", Tok::kWith}};
    if (auto it = kKeywords.find(word); it != kKeywords.end()) {
      Emit(it->second);
    } else if (word == "true" || word == "false") {
      Emit(Tok::kBool);
    } else {
      Emit(Tok::kIdentifier);
    }
    return true;
  }

  bool LexFieldOrVariable(Tok t) {
    if (AtTerminator()) {
      Emit(t == Tok::kVariable ? Tok::kVariable : Tok::kDot);
      return true;
    }
    for (;;) {
      uint32_t r = Next();
      if (!IsAlphaNumeric(r)) {
        Backup();
        break;
      }
    }
    if (!AtTerminator()) return Errorf("bad character " + QuoteRuneU(Peek()));
    Emit(t);
    return true;
  }

  // Go's lexChar and lexQuote: up to the closing `quote` on the same line, a backslash
  // escaping the next character.
  bool LexQuoted(uint32_t quote, const char* unterminated, Tok kind) {
    for (;;) {
      uint32_t r = Next();
      if (r == '\\') {
        r = Next();
        if (r != kEof && r != '\n') continue;
      }
      if (r == kEof || r == '\n') return Errorf(unterminated);
      if (r == quote) break;
    }
    Emit(kind);
    return true;
  }

  bool LexRawQuote() {
    for (;;) {
      uint32_t r = Next();
      if (r == kEof) return Errorf("unterminated raw quoted string");
      if (r == '`') break;
    }
    Emit(Tok::kRawString);
    return true;
  }

  bool Accept(std::string_view valid) {
    if (pos_ < in_.size() && valid.find(in_[pos_]) != std::string_view::npos) {
      ++pos_;
      return true;
    }
    return false;
  }
  void AcceptRun(std::string_view valid) {
    while (pos_ < in_.size() && valid.find(in_[pos_]) != std::string_view::npos) ++pos_;
  }

  bool ScanNumber() {
    Accept("+-");
    std::string_view digits = "0123456789_";
    if (Accept("0")) {
      if (Accept("xX")) {
        digits = "0123456789abcdefABCDEF_";
      } else if (Accept("oO")) {
        digits = "01234567_";
      } else if (Accept("bB")) {
        digits = "01_";
      }
    }
    AcceptRun(digits);
    if (Accept(".")) AcceptRun(digits);
    if (digits.size() == 11 && Accept("eE")) {
      Accept("+-");
      AcceptRun("0123456789_");
    }
    if (digits.size() == 23 && Accept("pP")) {
      Accept("+-");
      AcceptRun("0123456789_");
    }
    Accept("i");
    if (IsAlphaNumeric(Peek())) {
      Next();
      return false;
    }
    return true;
  }

  bool LexNumber() {
    if (!ScanNumber())
      return Errorf("bad number syntax: " + GoQuote(in_.substr(start_, pos_ - start_)));
    uint32_t sign = Peek();
    if (sign == '+' || sign == '-') {
      if (!ScanNumber() || in_[pos_ - 1] != 'i') {
        return Errorf("bad number syntax: " + GoQuote(in_.substr(start_, pos_ - start_)));
      }
      Emit(Tok::kComplex);
      return true;
    }
    Emit(Tok::kNumber);
    return true;
  }

  std::string_view in_;
  std::vector<size_t> newlines_;
  size_t pos_ = 0, start_ = 0, width_ = 0;
  int paren_depth_ = 0;
  bool done_ = false;
  std::vector<Token> items_;
};

bool RuneCountGt(std::string_view s, size_t n) {
  size_t runes = 0;
  for (unsigned char c : s) {
    if ((c & 0xC0) != 0x80 && ++runes > n) return true;
  }
  return false;
}

std::string TokenString(const Token& t) {
  if (t.type == Tok::kEOF) return "EOF";
  if (t.type == Tok::kError) return t.val;
  if (t.type > Tok::kKeyword) return "<" + t.val + ">";
  if (RuneCountGt(t.val, 10)) {
    // %.10q: the first ten runes, quoted, then "...".
    size_t i = 0, runes = 0;
    for (; i < t.val.size(); ++i) {
      if ((static_cast<unsigned char>(t.val[i]) & 0xC0) != 0x80) {
        if (runes == 10) break;
        ++runes;
      }
    }
    return GoQuote(std::string_view(t.val).substr(0, i)) + "...";
  }
  return GoQuote(t.val);
}

// ---------------------------------------------------------------------------------------------
// Literals (strconv.Unquote, strconv.ParseInt/ParseFloat with Go's literal syntax)

int HexVal(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// strconv.UnquoteChar: decodes one (possibly escaped) character at s[*i]. Returns false on
// invalid syntax. `byte_value` is set for \x and octal escapes, which denote raw bytes.
bool UnquoteChar(std::string_view s, size_t* i, char quote, uint32_t* r, bool* byte_value) {
  *byte_value = false;
  if (*i >= s.size()) return false;
  unsigned char c = s[*i];
  if (c == static_cast<unsigned char>(quote) && (quote == '\'' || quote == '"')) return false;
  if (c >= 0x80) {
    size_t n = (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || *i + n > s.size()) {
      *r = 0xFFFD;
      *i += 1;
      return true;
    }
    uint32_t v = c & (0xFF >> (n + 1));
    for (size_t k = 1; k < n; ++k) v = (v << 6) | (static_cast<unsigned char>(s[*i + k]) & 0x3F);
    *r = v;
    *i += n;
    return true;
  }
  if (c != '\\') {
    *r = c;
    *i += 1;
    return true;
  }
  if (*i + 1 >= s.size()) return false;
  char e = s[*i + 1];
  *i += 2;
  switch (e) {
    case 'a':
      *r = '\a';
      return true;
    case 'b':
      *r = '\b';
      return true;
    case 'f':
      *r = '\f';
      return true;
    case 'n':
      *r = '\n';
      return true;
    case 'r':
      *r = '\r';
      return true;
    case 't':
      *r = '\t';
      return true;
    case 'v':
      *r = '\v';
      return true;
    case '\\':
      *r = '\\';
      return true;
    case '\'':
    case '"':
      if (e != quote) return false;
      *r = e;
      return true;
    case 'x':
    case 'u':
    case 'U': {
      size_t n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
      if (*i + n > s.size()) return false;
      uint32_t v = 0;
      for (size_t k = 0; k < n; ++k) {
        int h = HexVal(s[*i + k]);
        if (h < 0) return false;
        v = (v << 4) | h;
      }
      *i += n;
      if (e == 'x') {
        *byte_value = true;
      } else if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) {
        return false;
      }
      *r = v;
      return true;
    }
    case '0':
    case '1':
    case '2':
    case '3':
    case '4':
    case '5':
    case '6':
    case '7': {
      if (*i + 2 > s.size()) return false;
      uint32_t v = e - '0';
      for (size_t k = 0; k < 2; ++k) {
        char d = s[*i + k];
        if (d < '0' || d > '7') return false;
        v = (v << 3) | (d - '0');
      }
      if (v > 255) return false;
      *i += 2;
      *r = v;
      *byte_value = true;
      return true;
    }
  }
  return false;
}

bool Unquote(std::string_view s, std::string* out) {
  out->clear();
  if (s.size() < 2) return false;
  if (s.front() == '`') {
    if (s.back() != '`') return false;
    for (char c : s.substr(1, s.size() - 2)) {
      if (c != '\r') out->push_back(c);
    }
    return true;
  }
  if (s.front() != '"' || s.back() != '"') return false;
  std::string_view body = s.substr(1, s.size() - 2);
  for (size_t i = 0; i < body.size();) {
    if (body[i] == '\n') return false;
    uint32_t r;
    bool byte_value;
    size_t start = i;
    if (!UnquoteChar(body, &i, '"', &r, &byte_value)) return false;
    if (byte_value) {
      out->push_back(static_cast<char>(r));
    } else if (static_cast<unsigned char>(body[start]) >= 0x80) {
      out->append(body.substr(start, i - start));  // keep the source bytes as they were
    } else {
      AppendUtf8(out, r);
    }
  }
  return true;
}

// Go integer literal with base prefix and underscores (strconv.ParseUint(s, 0, 64)).
bool ParseUintGo(std::string_view s, uint64_t* out) {
  if (s.empty()) return false;
  int base = 10;
  bool prefixed = false;
  if (s.size() >= 2 && s[0] == '0') {
    char p = s[1] | 0x20;
    if (p == 'x') {
      base = 16;
    } else if (p == 'o') {
      base = 8;
    } else if (p == 'b') {
      base = 2;
    }
    if (base != 10) {
      s.remove_prefix(2);
      prefixed = true;
    } else {
      base = 8;
      s.remove_prefix(1);
      prefixed = true;
    }
  }
  uint64_t v = 0;
  bool any = false;
  bool after_digit = prefixed;  // an underscore may follow a base prefix or a digit
  for (char c : s) {
    if (c == '_') {
      if (!after_digit) return false;
      after_digit = false;
      continue;
    }
    int d = HexVal(c);
    if (d < 0 || d >= base) return false;
    if (v > (UINT64_MAX - d) / base) return false;
    v = v * base + d;
    any = true;
    after_digit = true;
  }
  if (!after_digit) return false;
  // A lone "0" is an octal prefix with no digits: zero.
  if (!any && !(base == 8 && s.empty())) return false;
  *out = v;
  return true;
}

bool ParseIntGo(std::string_view s, int64_t* out) {
  bool neg = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  uint64_t u;
  if (!ParseUintGo(s, &u)) return false;
  if (neg) {
    if (u > static_cast<uint64_t>(INT64_MAX) + 1) return false;
    *out = static_cast<int64_t>(0 - u);
  } else {
    if (u > static_cast<uint64_t>(INT64_MAX)) return false;
    *out = static_cast<int64_t>(u);
  }
  return true;
}

bool ParseFloatGo(std::string_view s, double* out) {
  std::string t;
  for (char c : s) {
    if (c != '_') t.push_back(c);
  }
  if (t.empty()) return false;
  for (char c : t) {
    if (!(std::isxdigit(static_cast<unsigned char>(c)) || c == '.' || c == '+' || c == '-' ||
          c == 'x' || c == 'X' || c == 'p' || c == 'P' || c == 'o' || c == 'O')) {
      return false;
    }
  }
  char* end = nullptr;
  *out = std::strtod(t.c_str(), &end);
  return end == t.c_str() + t.size();
}

// ---------------------------------------------------------------------------------------------
// Parser (parse.go)

const std::vector<std::string_view>& FunctionNames() {
  static const std::vector<std::string_view> kNames = {
      "and", "call", "eq", "ge", "gt", "html", "index", "js", "le", "len", "lt", "ne", "not", "or",
      "print", "printf", "println", "slice", "urlquery",
      // docker's templates.basicFunctions
      "join", "json", "lower", "pad", "split", "title", "truncate", "upper"};
  return kNames;
}

class Parser {
 public:
  Parser(std::vector<Token> toks, const Limits& limits) : toks_(std::move(toks)), limits_(limits) {}

  std::unique_ptr<Node> Parse() {
    auto root = std::make_unique<Node>(NodeType::kList, 0);
    while (Peek().type != Tok::kEOF) {
      auto n = TextOrAction();
      if (n->type == NodeType::kEnd || n->type == NodeType::kElse) {
        Errorf("unexpected " + NodeString(*n));
      }
      root->nodes.push_back(std::move(n));
    }
    return root;
  }

 private:
  const Token& Next() {
    size_t i = std::min(i_, toks_.size() - 1);
    furthest_ = std::max(furthest_, i);
    ++i_;
    return toks_[i];
  }
  const Token& Peek() {
    const Token& t = Next();
    --i_;
    return t;
  }
  void Backup() { --i_; }
  const Token& NextNonSpace() {
    for (;;) {
      const Token& t = Next();
      if (t.type != Tok::kSpace) return t;
    }
  }
  const Token& PeekNonSpace() {
    const Token& t = NextNonSpace();
    Backup();
    return t;
  }

  [[noreturn]] void Errorf(const std::string& msg) {
    int line = toks_[std::min(furthest_, toks_.size() - 1)].line;
    throw TemplateError{"template: :" + std::to_string(line) + ": " + msg};
  }

  [[noreturn]] void Unexpected(const Token& tok, const std::string& context) {
    if (tok.type == Tok::kError) {
      std::string extra;
      if (action_line_ != 0 && action_line_ != tok.line) {
        extra = " in action started at :" + std::to_string(action_line_);
        if (tok.val.ends_with(" action")) extra = extra.substr(std::string(" in action").size());
      }
      Errorf(tok.val + extra);
    }
    Errorf("unexpected " + TokenString(tok) + " in " + context);
  }

  const Token& Expect(Tok t, const std::string& context) {
    const Token& tok = NextNonSpace();
    if (tok.type != t) Unexpected(tok, context);
    return tok;
  }

  void Enter() {
    if (++depth_ > limits_.max_depth) {
      Errorf("template nesting too deep (limit " + std::to_string(limits_.max_depth) + ")");
    }
  }

  std::unique_ptr<Node> TextOrAction() {
    const Token& tok = NextNonSpace();
    switch (tok.type) {
      case Tok::kText: {
        auto n = std::make_unique<Node>(NodeType::kText, tok.pos);
        n->text = tok.val;
        return n;
      }
      case Tok::kLeftDelim: {
        action_line_ = tok.line;
        auto n = Action();
        action_line_ = 0;
        return n;
      }
      default:
        Unexpected(tok, "input");
    }
  }

  std::unique_ptr<Node> Action() {
    const Token& tok = NextNonSpace();
    switch (tok.type) {
      case Tok::kBlock:
      case Tok::kDefine:
      case Tok::kTemplate:
        Errorf("{{" + tok.val + "}} is not supported");
      case Tok::kBreak:
        return LoopControl(tok, NodeType::kBreak, "{{break}}");
      case Tok::kContinue:
        return LoopControl(tok, NodeType::kContinue, "{{continue}}");
      case Tok::kElse:
        return ElseControl();
      case Tok::kEnd:
        return std::make_unique<Node>(NodeType::kEnd, Expect(Tok::kRightDelim, "end").pos);
      case Tok::kIf:
        return Control("if", NodeType::kIf);
      case Tok::kRange:
        return Control("range", NodeType::kRange);
      case Tok::kWith:
        return Control("with", NodeType::kWith);
      default:
        break;
    }
    Backup();
    auto n = std::make_unique<Node>(NodeType::kAction, Peek().pos);
    n->pipe = Pipeline("command", Tok::kRightDelim);
    return n;
  }

  std::unique_ptr<Node> LoopControl(const Token& tok, NodeType type, const std::string& name) {
    size_t pos = tok.pos;
    const Token& next = NextNonSpace();
    if (next.type != Tok::kRightDelim) Unexpected(next, name);
    if (range_depth_ == 0) Errorf(name + " outside {{range}}");
    return std::make_unique<Node>(type, pos);
  }

  std::unique_ptr<Node> ElseControl() {
    const Token& peek = PeekNonSpace();
    if (peek.type == Tok::kIf || peek.type == Tok::kWith) {
      return std::make_unique<Node>(NodeType::kElse, peek.pos);
    }
    return std::make_unique<Node>(NodeType::kElse, Expect(Tok::kRightDelim, "else").pos);
  }

  std::unique_ptr<Node> Control(const std::string& context, NodeType type) {
    Enter();
    size_t mark = vars_.size();
    auto n = std::make_unique<Node>(type, 0);
    n->pipe = Pipeline(context, Tok::kRightDelim);
    n->pos = n->pipe->pos;
    if (type == NodeType::kRange) ++range_depth_;
    std::unique_ptr<Node> next;
    n->list = ItemList(&next);
    if (type == NodeType::kRange) --range_depth_;
    if (next->type == NodeType::kElse) {
      Tok t = Peek().type;
      if ((context == "if" && t == Tok::kIf) || (context == "with" && t == Tok::kWith)) {
        Next();
        n->else_list = std::make_unique<Node>(NodeType::kList, next->pos);
        n->else_list->nodes.push_back(Control(context, type));
      } else {
        std::unique_ptr<Node> end;
        n->else_list = ItemList(&end);
        if (end->type != NodeType::kEnd) Errorf("expected end; found " + NodeString(*end));
      }
    }
    vars_.resize(mark);
    --depth_;
    return n;
  }

  std::unique_ptr<Node> ItemList(std::unique_ptr<Node>* terminator) {
    auto list = std::make_unique<Node>(NodeType::kList, PeekNonSpace().pos);
    while (PeekNonSpace().type != Tok::kEOF) {
      auto n = TextOrAction();
      if (n->type == NodeType::kEnd || n->type == NodeType::kElse) {
        *terminator = std::move(n);
        return list;
      }
      list->nodes.push_back(std::move(n));
    }
    Errorf("unexpected EOF");
  }

  static std::vector<std::string> SplitDots(std::string_view s) {
    std::vector<std::string> out;
    size_t start = 0;
    for (;;) {
      size_t d = s.find('.', start);
      out.emplace_back(s.substr(start, d == std::string_view::npos ? d : d - start));
      if (d == std::string_view::npos) return out;
      start = d + 1;
    }
  }

  std::unique_ptr<Node> NewVariable(const Token& v) {
    auto n = std::make_unique<Node>(NodeType::kVariable, v.pos);
    n->idents = SplitDots(v.val);
    return n;
  }

  std::unique_ptr<Node> Pipeline(const std::string& context, Tok end) {
    Enter();
    auto pipe = std::make_unique<Node>(NodeType::kPipe, PeekNonSpace().pos);
    for (;;) {  // declarations
      size_t save = i_;
      const Token v = PeekNonSpace();
      if (v.type != Tok::kVariable) break;
      save = i_;
      Next();
      const Token next = PeekNonSpace();
      if (next.type == Tok::kAssign || next.type == Tok::kDeclare) {
        pipe->is_assign = next.type == Tok::kAssign;
        NextNonSpace();
        pipe->decls.push_back(NewVariable(v));
        vars_.push_back(v.val);
        break;
      }
      if (next.type == Tok::kChar && next.val == ",") {
        NextNonSpace();
        pipe->decls.push_back(NewVariable(v));
        vars_.push_back(v.val);
        if (context == "range" && pipe->decls.size() < 2) {
          Tok t = PeekNonSpace().type;
          if (t == Tok::kVariable || t == Tok::kRightDelim || t == Tok::kRightParen) continue;
          Errorf("range can only initialize variables");
        }
        Errorf("too many declarations in " + context);
      }
      i_ = save;  // $x was an operand, not a declaration
      break;
    }
    for (;;) {
      const Token& tok = NextNonSpace();
      if (tok.type == end) {
        if (pipe->nodes.empty()) Errorf("missing value for " + context);
        for (size_t i = 1; i < pipe->nodes.size(); ++i) {
          switch (pipe->nodes[i]->nodes[0]->type) {
            case NodeType::kBool:
            case NodeType::kDot:
            case NodeType::kNil:
            case NodeType::kNumber:
            case NodeType::kString:
              Errorf("non executable command in pipeline stage " + std::to_string(i + 1));
            default:
              break;
          }
        }
        --depth_;
        return pipe;
      }
      switch (tok.type) {
        case Tok::kBool:
        case Tok::kCharConstant:
        case Tok::kComplex:
        case Tok::kDot:
        case Tok::kField:
        case Tok::kIdentifier:
        case Tok::kNumber:
        case Tok::kNil:
        case Tok::kRawString:
        case Tok::kString:
        case Tok::kVariable:
        case Tok::kLeftParen:
          Backup();
          pipe->nodes.push_back(Command());
          break;
        default:
          Unexpected(tok, context);
      }
    }
  }

  std::unique_ptr<Node> Command() {
    auto cmd = std::make_unique<Node>(NodeType::kCommand, PeekNonSpace().pos);
    for (;;) {
      PeekNonSpace();
      auto op = Operand();
      if (op) cmd->nodes.push_back(std::move(op));
      const Token& tok = Next();
      if (tok.type == Tok::kSpace) continue;
      if (tok.type == Tok::kRightDelim || tok.type == Tok::kRightParen) {
        Backup();
      } else if (tok.type != Tok::kPipe) {
        Unexpected(tok, "operand");
      }
      break;
    }
    if (cmd->nodes.empty()) Errorf("empty command");
    return cmd;
  }

  std::unique_ptr<Node> Operand() {
    auto node = Term();
    if (!node) return nullptr;
    if (Peek().type == Tok::kField) {
      size_t pos = Peek().pos;
      std::vector<std::string> fields;
      while (Peek().type == Tok::kField) fields.push_back(Next().val.substr(1));
      switch (node->type) {
        case NodeType::kField:
        case NodeType::kVariable: {
          auto n = std::make_unique<Node>(node->type, pos);
          n->idents = node->idents;
          n->idents.insert(n->idents.end(), fields.begin(), fields.end());
          return n;
        }
        case NodeType::kBool:
        case NodeType::kString:
        case NodeType::kNumber:
        case NodeType::kNil:
        case NodeType::kDot:
          Errorf("unexpected . after term " + GoQuote(NodeString(*node)));
        default: {
          auto chain = std::make_unique<Node>(NodeType::kChain, pos);
          chain->nodes.push_back(std::move(node));
          chain->idents = std::move(fields);
          return chain;
        }
      }
    }
    return node;
  }

  std::unique_ptr<Node> Term() {
    const Token& tok = NextNonSpace();
    switch (tok.type) {
      case Tok::kIdentifier: {
        const auto& names = FunctionNames();
        if (std::find(names.begin(), names.end(), tok.val) == names.end()) {
          Errorf("function " + GoQuote(tok.val) + " not defined");
        }
        auto n = std::make_unique<Node>(NodeType::kIdentifier, tok.pos);
        n->text = tok.val;
        return n;
      }
      case Tok::kDot:
        return std::make_unique<Node>(NodeType::kDot, tok.pos);
      case Tok::kNil:
        return std::make_unique<Node>(NodeType::kNil, tok.pos);
      case Tok::kVariable: {
        auto n = NewVariable(tok);
        if (std::find(vars_.rbegin(), vars_.rend(), n->idents[0]) == vars_.rend()) {
          Errorf("undefined variable " + GoQuote(n->idents[0]));
        }
        return n;
      }
      case Tok::kField: {
        auto n = std::make_unique<Node>(NodeType::kField, tok.pos);
        n->idents = SplitDots(std::string_view(tok.val).substr(1));
        return n;
      }
      case Tok::kBool: {
        auto n = std::make_unique<Node>(NodeType::kBool, tok.pos);
        n->boolean = tok.val == "true";
        return n;
      }
      case Tok::kCharConstant:
      case Tok::kComplex:
      case Tok::kNumber:
        return NewNumber(tok);
      case Tok::kLeftParen:
        return Pipeline("parenthesized pipeline", Tok::kRightParen);
      case Tok::kString:
      case Tok::kRawString: {
        auto n = std::make_unique<Node>(NodeType::kString, tok.pos);
        n->raw = tok.val;
        if (!Unquote(tok.val, &n->text)) Errorf("invalid syntax");
        return n;
      }
      default:
        Backup();
        return nullptr;
    }
  }

  std::unique_ptr<Node> NewNumber(const Token& tok) {
    auto n = std::make_unique<Node>(NodeType::kNumber, tok.pos);
    const std::string& text = tok.val;
    n->raw = text;
    if (tok.type == Tok::kComplex || (!text.empty() && text.back() == 'i')) {
      Errorf("complex numbers are not supported: " + text);
    }
    if (tok.type == Tok::kCharConstant) {
      size_t i = 1;
      uint32_t r;
      bool byte_value;
      if (!UnquoteChar(text, &i, '\'', &r, &byte_value)) Errorf("invalid syntax");
      if (text.substr(i) != "'") Errorf("malformed character constant: " + text);
      n->is_int = n->is_uint = n->is_float = true;
      n->ival = r;
      n->fval = r;
      return n;
    }
    uint64_t u = 0;
    n->is_uint = ParseUintGo(text, &u);
    n->is_int = ParseIntGo(text, &n->ival);
    if (n->is_int) {
      n->is_float = true;
      n->fval = static_cast<double>(n->ival);
    } else if (n->is_uint) {
      n->is_float = true;
      n->fval = static_cast<double>(u);
    } else {
      double f;
      if (ParseFloatGo(text, &f)) {
        if (text.find_first_of(".eEpP") == std::string::npos) {
          Errorf("integer overflow: " + GoQuote(text));
        }
        n->is_float = true;
        n->fval = f;
        if (std::isfinite(f) && f >= -9.2e18 && f <= 9.2e18 &&
            static_cast<double>(static_cast<int64_t>(f)) == f) {
          n->is_int = true;
          n->ival = static_cast<int64_t>(f);
        }
      }
    }
    if (!n->is_int && !n->is_uint && !n->is_float)
      Errorf("illegal number syntax: " + GoQuote(text));
    bool hex_int = text.size() > 2 && text[0] == '0' && (text[1] | 0x20) == 'x' &&
                   text.find_first_of("pP") == std::string::npos;
    n->float_constant = n->is_float && !hex_int && text.find_first_of(".eEpP") != std::string::npos;
    return n;
  }

  std::vector<Token> toks_;
  const Limits& limits_;
  size_t i_ = 0, furthest_ = 0, depth_ = 0;
  int action_line_ = 0;
  int range_depth_ = 0;
  std::vector<std::string> vars_ = {"$"};
};

// ---------------------------------------------------------------------------------------------
// Execution (exec.go, funcs.go)

// A value during execution: a JSON value borrowed from the data (or from an owned temporary
// kept alive by `owner`), or no value at all (Go's invalid reflect.Value, printed <no value>).
struct Value {
  std::shared_ptr<const Json> owner;
  const Json* p = nullptr;

  static Value Own(Json j) {
    Value v;
    v.owner = std::make_shared<const Json>(std::move(j));
    v.p = v.owner.get();
    return v;
  }
  static Value Null() { return Own(Json()); }
  Value Child(const Json* c) const {
    Value v;
    v.owner = owner;
    v.p = c;
    return v;
  }
  bool valid() const { return p != nullptr; }
  // Go's nil interface and missing value both behave as "nothing" in most places.
  bool nilish() const { return p == nullptr || p->is_null(); }
  const Json& j() const { return *p; }
};

enum class Kind { kValue, kAny, kString, kInt, kStringSlice };

std::string KindName(Kind k) {
  switch (k) {
    case Kind::kValue:
      return "reflect.Value";
    case Kind::kAny:
      return "interface {}";
    case Kind::kString:
      return "string";
    case Kind::kInt:
      return "int";
    case Kind::kStringSlice:
      return "[]string";
  }
  return "";
}

// Thrown by template functions; becomes "error calling NAME: msg".
struct FuncError {
  std::string message;
};

class State;
using FuncImpl = std::function<Value(State&, std::vector<Value>&)>;

struct Func {
  std::vector<Kind> params;
  bool variadic = false;  // the last param repeats
  FuncImpl impl;
};

enum class Flow { kNormal, kBreak, kContinue };

bool Truth(const Value& v) {
  if (!v.valid()) return false;
  const Json& j = v.j();
  switch (j.type()) {
    case Json::value_t::null:
      return false;
    case Json::value_t::boolean:
      return j.get<bool>();
    case Json::value_t::number_integer:
      return j.get<int64_t>() != 0;
    case Json::value_t::number_unsigned:
      return j.get<uint64_t>() != 0;
    case Json::value_t::number_float:
      return j.get<double>() != 0;
    case Json::value_t::string:
      return !j.get_ref<const std::string&>().empty();
    case Json::value_t::array:
    case Json::value_t::object:
      return !j.empty();
    default:
      return true;
  }
}

const std::map<std::string, Func, std::less<>>& Builtins();
const std::map<std::string, Func, std::less<>>& HeaderBuiltins();

class Output {
 public:
  Output(Writer* sink, size_t limit) : sink_(sink), limit_(limit) {}
  // Returns false when the output limit is exceeded.
  bool Write(std::string_view s) {
    total_ += s.size();
    if (total_ > limit_) return false;
    buf_.append(s);
    if (sink_ && buf_.size() >= (64 << 10)) return Flush();
    return true;
  }
  bool Flush() {
    if (!sink_ || buf_.empty()) return true;
    Status st = sink_->Write(buf_);
    buf_.clear();
    if (!st) {
      error_ = st.error();
      return false;
    }
    return true;
  }
  std::string& buf() { return buf_; }
  const Error* sink_error() const { return error_ ? &*error_ : nullptr; }
  size_t remaining() const { return total_ >= limit_ ? 0 : limit_ - total_; }

 private:
  Writer* sink_;
  size_t limit_;
  size_t total_ = 0;
  std::string buf_;
  std::optional<Error> error_;
};

class State {
 public:
  State(std::string_view text, Output* out, const ExecuteOptions& opts)
      : text_(text),
        out_(out),
        opts_(opts),
        funcs_(opts.header_functions ? HeaderBuiltins() : Builtins()) {}

  void Run(const Node& root, const Value& data) {
    root_ = data.valid() ? &data.j() : nullptr;
    vars_.emplace_back("$", data);
    Walk(data, root);
  }

  size_t remaining_output() const { return out_->remaining(); }
  const ExecuteOptions& options() const { return opts_; }

  std::string Print(const Json& v) const {
    if (opts_.print) {
      if (auto typed = opts_.print(v)) return *typed;
    }
    return FormatValue(v);
  }

  [[noreturn]] void Errorf(const std::string& msg) {
    if (!node_) throw TemplateError{"template: : " + msg};
    std::string_view before = text_.substr(0, std::min(node_->pos, text_.size()));
    size_t nl = before.rfind('\n');
    size_t col = nl == std::string_view::npos ? node_->pos : node_->pos - (nl + 1);
    int line = 1 + static_cast<int>(std::count(before.begin(), before.end(), '\n'));
    throw TemplateError{"template: :" + std::to_string(line) + ":" + std::to_string(col) +
                        ": executing \"\" at <" + NodeString(*node_) + ">: " + msg};
  }

 private:
  void At(const Node& n) { node_ = &n; }

  void Step() {
    if (++steps_ > opts_.limits.max_steps) {
      Errorf("template execution exceeded " + std::to_string(opts_.limits.max_steps) + " steps");
    }
  }

  void Write(std::string_view s) {
    if (!out_->Write(s)) {
      if (const Error* e = out_->sink_error()) throw TemplateError{e->message};
      Errorf("template output exceeds " + std::to_string(opts_.limits.max_output) + " bytes");
    }
  }

  Flow Walk(const Value& dot, const Node& node) {
    Step();
    At(node);
    switch (node.type) {
      case NodeType::kAction: {
        Value val = EvalPipeline(dot, *node.pipe);
        if (node.pipe->decls.empty()) {
          At(node);
          Write(val.valid() ? Print(val.j()) : "<no value>");
        }
        return Flow::kNormal;
      }
      case NodeType::kBreak:
        return Flow::kBreak;
      case NodeType::kContinue:
        return Flow::kContinue;
      case NodeType::kIf:
      case NodeType::kWith: {
        size_t mark = vars_.size();
        Value val = EvalPipeline(dot, *node.pipe);
        Flow f = Flow::kNormal;
        if (Truth(val)) {
          f = Walk(node.type == NodeType::kWith ? val : dot, *node.list);
        } else if (node.else_list) {
          f = Walk(dot, *node.else_list);
        }
        vars_.resize(mark);
        return f;
      }
      case NodeType::kList:
        for (const auto& n : node.nodes) {
          Flow f = Walk(dot, *n);
          if (f != Flow::kNormal) return f;
        }
        return Flow::kNormal;
      case NodeType::kRange:
        WalkRange(dot, node);
        return Flow::kNormal;
      case NodeType::kText:
        Write(node.text);
        return Flow::kNormal;
      default:
        Errorf("unknown node: " + NodeString(node));
    }
  }

  void SetTopVar(size_t n, const Value& v) { vars_[vars_.size() - n].second = v; }
  void SetVar(const std::string& name, const Value& v) {
    for (size_t i = vars_.size(); i-- > 0;) {
      if (vars_[i].first == name) {
        vars_[i].second = v;
        return;
      }
    }
    Errorf("undefined variable: " + name);
  }
  Value VarValue(const std::string& name) {
    for (size_t i = vars_.size(); i-- > 0;) {
      if (vars_[i].first == name) return vars_[i].second;
    }
    Errorf("undefined variable: " + name);
  }

  void WalkRange(const Value& dot, const Node& r) {
    At(r);
    size_t mark = vars_.size();
    Value val = EvalPipeline(dot, *r.pipe);
    size_t body_mark = vars_.size();
    const auto& decls = r.pipe->decls;
    // Returns false on {{break}}.
    auto one = [&](const Value& index, const Value& elem) {
      if (!decls.empty()) {
        if (r.pipe->is_assign) {
          SetVar(decls[0]->idents[0], decls.size() > 1 ? index : elem);
        } else {
          SetTopVar(1, elem);
        }
      }
      if (decls.size() > 1) {
        if (r.pipe->is_assign) {
          SetVar(decls[1]->idents[0], elem);
        } else {
          SetTopVar(2, index);
        }
      }
      Flow f = Walk(elem, *r.list);
      vars_.resize(body_mark);
      return f != Flow::kBreak;
    };
    bool empty = true;
    if (val.valid()) {
      const Json& j = val.j();
      switch (j.type()) {
        case Json::value_t::array:
          empty = j.empty();
          for (size_t i = 0; i < j.size(); ++i) {
            if (!one(Value::Own(static_cast<int64_t>(i)), val.Child(&j[i]))) break;
          }
          break;
        case Json::value_t::object:
          empty = j.empty();
          for (auto it = j.begin(); it != j.end(); ++it) {
            if (!one(Value::Own(it.key()), val.Child(&it.value()))) break;
          }
          break;
        case Json::value_t::number_integer:
        case Json::value_t::number_unsigned: {
          if (decls.size() > 1) {
            Errorf("can't use " + FormatValue(j) + " to iterate over more than one variable");
          }
          int64_t n = j.is_number_unsigned()
                          ? static_cast<int64_t>(std::min<uint64_t>(j.get<uint64_t>(), INT64_MAX))
                          : j.get<int64_t>();
          empty = n <= 0;
          for (int64_t i = 0; i < n; ++i) {
            Value iv = Value::Own(i);
            if (!one(iv, iv)) break;
          }
          break;
        }
        case Json::value_t::null:
          break;
        default:
          Errorf("range can't iterate over " + FormatValue(j));
      }
    }
    if (empty && r.else_list) Walk(dot, *r.else_list);
    vars_.resize(mark);
  }

  Value EvalPipeline(const Value& dot, const Node& pipe) {
    At(pipe);
    Value value;
    bool have = false;
    for (const auto& cmd : pipe.nodes) {
      value = EvalCommand(dot, *cmd, have ? &value : nullptr);
      have = true;
    }
    for (const auto& var : pipe.decls) {
      if (pipe.is_assign) {
        SetVar(var->idents[0], value);
      } else {
        vars_.emplace_back(var->idents[0], value);
      }
    }
    return value;
  }

  void NotAFunction(const std::vector<std::unique_ptr<Node>>* args, const Value* final) {
    if ((args && args->size() > 1) || final) {
      Errorf("can't give argument to non-function " + NodeString(*(*args)[0]));
    }
  }

  Value EvalCommand(const Value& dot, const Node& cmd, const Value* final) {
    Step();
    const Node& first = *cmd.nodes[0];
    switch (first.type) {
      case NodeType::kField:
        return EvalFieldNode(dot, first, &cmd.nodes, final);
      case NodeType::kChain:
        return EvalChainNode(dot, first, &cmd.nodes, final);
      case NodeType::kIdentifier:
        return EvalFunction(dot, first, cmd, &cmd.nodes, final);
      case NodeType::kPipe:
        NotAFunction(&cmd.nodes, final);
        return EvalPipeline(dot, first);
      case NodeType::kVariable:
        return EvalVariableNode(dot, first, &cmd.nodes, final);
      default:
        break;
    }
    At(first);
    NotAFunction(&cmd.nodes, final);
    switch (first.type) {
      case NodeType::kBool:
        return Value::Own(first.boolean);
      case NodeType::kDot:
        return dot;
      case NodeType::kNil:
        Errorf("nil is not a command");
      case NodeType::kNumber:
        return IdealConstant(first);
      case NodeType::kString:
        return Value::Own(first.text);
      default:
        Errorf("can't evaluate command " + GoQuote(NodeString(first)));
    }
  }

  Value IdealConstant(const Node& n) {
    At(n);
    if (n.float_constant) return Value::Own(n.fval);
    if (n.is_int) return Value::Own(n.ival);
    Errorf(n.raw + " overflows int");
  }

  Value EvalFieldNode(const Value& dot, const Node& field,
                      const std::vector<std::unique_ptr<Node>>* args, const Value* final) {
    At(field);
    return EvalFieldChain(dot, field.idents, 0, args, final);
  }

  Value EvalChainNode(const Value& dot, const Node& chain,
                      const std::vector<std::unique_ptr<Node>>* args, const Value* final) {
    At(chain);
    if (chain.nodes[0]->type == NodeType::kNil) {
      Errorf("indirection through explicit nil in " + NodeString(chain));
    }
    Value pipe = EvalArg(dot, Kind::kValue, *chain.nodes[0]);
    return EvalFieldChain(pipe, chain.idents, 0, args, final);
  }

  Value EvalVariableNode(const Value& dot, const Node& var,
                         const std::vector<std::unique_ptr<Node>>* args, const Value* final) {
    At(var);
    Value value = VarValue(var.idents[0]);
    if (var.idents.size() == 1) {
      NotAFunction(args, final);
      return value;
    }
    (void)dot;
    return EvalFieldChain(value, var.idents, 1, args, final);
  }

  Value EvalFieldChain(Value receiver, const std::vector<std::string>& idents, size_t from,
                       const std::vector<std::unique_ptr<Node>>* args, const Value* final) {
    for (size_t i = from; i + 1 < idents.size(); ++i) {
      receiver = EvalField(idents[i], nullptr, nullptr, receiver);
    }
    return EvalField(idents.back(), args, final, receiver);
  }

  Value EvalField(const std::string& name, const std::vector<std::unique_ptr<Node>>* args,
                  const Value* final, const Value& receiver) {
    if (!receiver.valid()) return Value();
    const Json& j = receiver.j();
    if (j.is_null()) Errorf("nil pointer evaluating interface {}." + name);
    if (j.is_object()) {
      if ((args && args->size() > 1) || final) Errorf(name + " is not a method but has arguments");
      auto it = j.find(name);
      if (it == j.end()) {
        if (!opts_.root_type.empty() && &j == root_) {
          Errorf("can't evaluate field " + name + " in type " + opts_.root_type);
        }
        if (opts_.missing_key_error && !(opts_.is_map && opts_.is_map(j)))
          Errorf("map has no entry for key " + GoQuote(name));
        return Value();
      }
      return receiver.Child(&*it);
    }
    Errorf("can't evaluate field " + name + " in type " + GoTypeName(j));
  }

  Value EvalFunction(const Value& dot, const Node& ident, const Node& cmd,
                     const std::vector<std::unique_ptr<Node>>* args, const Value* final) {
    At(ident);
    auto it = funcs_.find(ident.text);
    if (it == funcs_.end()) Errorf(GoQuote(ident.text) + " is not a defined function");
    return EvalCall(dot, it->second, cmd, ident.text, args, final);
  }

  Value EvalCall(const Value& dot, const Func& fn, const Node& node, const std::string& name,
                 const std::vector<std::unique_ptr<Node>>* all_args, const Value* final) {
    std::vector<const Node*> args;
    if (all_args) {
      for (size_t i = 1; i < all_args->size(); ++i) args.push_back((*all_args)[i].get());
    }
    size_t num_in = args.size() + (final ? 1 : 0);
    size_t num_params = fn.params.size();
    if (fn.variadic) {
      if (num_in < num_params - 1) {
        Errorf("wrong number of args for " + name + ": want at least " +
               std::to_string(num_params - 1) + " got " + std::to_string(args.size()));
      }
    } else if (num_in != num_params) {
      Errorf("wrong number of args for " + name + ": want " + std::to_string(num_params) + " got " +
             std::to_string(num_in));
    }
    auto kind_at = [&](size_t i) { return i < num_params ? fn.params[i] : fn.params.back(); };

    if (name == "and" || name == "or") {
      // Short-circuit: evaluate arguments only until the result is known.
      bool want = name == "or";
      Value v;
      for (const Node* a : args) {
        v = EvalArg(dot, Kind::kValue, *a);
        if (Truth(v) == want) return v;
      }
      if (final) v = *final;
      return v;
    }
    std::vector<Value> argv;
    argv.reserve(num_in);
    for (size_t i = 0; i < args.size(); ++i) argv.push_back(EvalArg(dot, kind_at(i), *args[i]));
    if (final) argv.push_back(ValidateType(*final, kind_at(num_in - 1)));
    try {
      Value result = fn.impl(*this, argv);
      if (result.valid() && result.j().is_string() &&
          result.j().get_ref<const std::string&>().size() > opts_.limits.max_output) {
        throw FuncError{"result exceeds output limit"};
      }
      return result;
    } catch (const FuncError& e) {
      At(node);
      Errorf("error calling " + name + ": " + e.message);
    }
  }

  Value ValidateType(const Value& v, Kind k) {
    switch (k) {
      case Kind::kValue:
        return v;
      case Kind::kAny:
        return v.valid() ? v : Value::Null();
      case Kind::kString:
        if (v.nilish()) Errorf("invalid value; expected string");
        if (!v.j().is_string())
          Errorf("wrong type for value; expected string; got " + GoTypeName(v.j()));
        return v;
      case Kind::kInt:
        if (v.nilish()) Errorf("invalid value; expected int");
        if (!v.j().is_number_integer())
          Errorf("wrong type for value; expected int; got " + GoTypeName(v.j()));
        return v;
      case Kind::kStringSlice:
        if (v.nilish()) return Value::Own(Json::array());
        if (v.j().is_array() &&
            std::all_of(v.j().begin(), v.j().end(), [](const Json& e) { return e.is_string(); })) {
          return v;
        }
        Errorf("wrong type for value; expected []string; got " + GoTypeName(v.j()));
    }
    return v;
  }

  Value EvalArg(const Value& dot, Kind k, const Node& n) {
    Step();
    At(n);
    switch (n.type) {
      case NodeType::kDot:
        return ValidateType(dot, k);
      case NodeType::kNil:
        if (k == Kind::kValue || k == Kind::kAny || k == Kind::kStringSlice) return Value::Null();
        Errorf("cannot assign nil to " + KindName(k));
      case NodeType::kField:
        return ValidateType(EvalFieldNode(dot, n, nullptr, nullptr), k);
      case NodeType::kVariable:
        return ValidateType(EvalVariableNode(dot, n, nullptr, nullptr), k);
      case NodeType::kPipe:
        return ValidateType(EvalPipeline(dot, n), k);
      case NodeType::kIdentifier:
        return ValidateType(EvalFunction(dot, n, n, nullptr, nullptr), k);
      case NodeType::kChain:
        return ValidateType(EvalChainNode(dot, n, nullptr, nullptr), k);
      default:
        break;
    }
    switch (k) {
      case Kind::kString:
        if (n.type == NodeType::kString) return Value::Own(n.text);
        Errorf("expected string; found " + NodeString(n));
      case Kind::kInt:
        if (n.type == NodeType::kNumber && n.is_int) return Value::Own(n.ival);
        Errorf("expected integer; found " + NodeString(n));
      case Kind::kValue:
      case Kind::kAny:
        if (n.type == NodeType::kBool) return Value::Own(n.boolean);
        if (n.type == NodeType::kNumber) return IdealConstant(n);
        if (n.type == NodeType::kString) return Value::Own(n.text);
        Errorf("can't handle assignment of " + NodeString(n) + " to empty interface argument");
      case Kind::kStringSlice:
        break;
    }
    Errorf("can't handle " + NodeString(n) + " for arg of type " + KindName(k));
  }

  std::string_view text_;
  Output* out_;
  const ExecuteOptions& opts_;
  const Json* root_ = nullptr;  // the data passed to Execute (for root_type errors)
  const std::map<std::string, Func, std::less<>>& funcs_;
  const Node* node_ = nullptr;
  std::vector<std::pair<std::string, Value>> vars_;
  size_t steps_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Functions

enum class BasicKind { kNil, kBool, kInt, kFloat, kString, kComposite };

BasicKind KindOf(const Value& v) {
  if (v.nilish()) return BasicKind::kNil;
  const Json& j = v.j();
  if (j.is_boolean()) return BasicKind::kBool;
  if (j.is_number_integer()) return BasicKind::kInt;
  if (j.is_number_float()) return BasicKind::kFloat;
  if (j.is_string()) return BasicKind::kString;
  return BasicKind::kComposite;
}

int64_t IntOf(const Json& j) {
  return j.is_number_unsigned() ? static_cast<int64_t>(j.get<uint64_t>()) : j.get<int64_t>();
}

// Go's eq for one pair; throws FuncError for incomparable operands.
bool EqualPair(const Value& a, const Value& b) {
  BasicKind ka = KindOf(a), kb = KindOf(b);
  if (ka != kb) {
    if (ka == BasicKind::kNil || kb == BasicKind::kNil) return false;
    throw FuncError{"incompatible types for comparison"};
  }
  switch (ka) {
    case BasicKind::kNil:
      return true;
    case BasicKind::kBool:
      return a.j().get<bool>() == b.j().get<bool>();
    case BasicKind::kInt:
      if (a.j().is_number_unsigned() || b.j().is_number_unsigned()) {
        return a.j().is_number_unsigned() == b.j().is_number_unsigned()
                   ? a.j() == b.j()
                   : (IntOf(a.j()) >= 0 && IntOf(b.j()) >= 0 && IntOf(a.j()) == IntOf(b.j()));
      }
      return a.j().get<int64_t>() == b.j().get<int64_t>();
    case BasicKind::kFloat:
      return a.j().get<double>() == b.j().get<double>();
    case BasicKind::kString:
      return a.j().get_ref<const std::string&>() == b.j().get_ref<const std::string&>();
    case BasicKind::kComposite:
      throw FuncError{"non-comparable types " + FormatValue(a.j()) + ": " + GoTypeName(a.j()) +
                      ", " + GoTypeName(b.j()) + ": " + FormatValue(b.j())};
  }
  return false;
}

bool Less(const Value& a, const Value& b) {
  BasicKind ka = KindOf(a), kb = KindOf(b);
  auto bad_type = [](BasicKind k) { return k == BasicKind::kNil || k == BasicKind::kComposite; };
  if (bad_type(ka) || bad_type(kb)) throw FuncError{"invalid type for comparison"};
  if (ka != kb) throw FuncError{"incompatible types for comparison"};
  switch (ka) {
    case BasicKind::kInt:
      return IntOf(a.j()) < IntOf(b.j());
    case BasicKind::kFloat:
      return a.j().get<double>() < b.j().get<double>();
    case BasicKind::kString:
      return a.j().get_ref<const std::string&>() < b.j().get_ref<const std::string&>();
    default:
      throw FuncError{"invalid type for comparison"};
  }
}

std::vector<Json> ToJson(const std::vector<Value>& args, size_t from = 0) {
  std::vector<Json> out;
  for (size_t i = from; i < args.size(); ++i) out.push_back(args[i].valid() ? args[i].j() : Json());
  return out;
}

// text/template's evalArgs: a lone string argument as is, otherwise fmt.Sprint.
std::string EvalArgsString(const std::vector<Value>& args) {
  if (args.size() == 1 && args[0].valid() && args[0].j().is_string()) {
    return args[0].j().get<std::string>();
  }
  return Sprint(ToJson(args));
}

std::string HtmlEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '"':
        out += "&#34;";
        break;
      case '\'':
        out += "&#39;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '\0':
        out += "\xEF\xBF\xBD";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

std::string JsEscape(std::string_view s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = s[i];
    switch (c) {
      case '\\':
        out += "\\\\";
        continue;
      case '\'':
        out += "\\'";
        continue;
      case '"':
        out += "\\\"";
        continue;
      case '<':
        out += "\\u003C";
        continue;
      case '>':
        out += "\\u003E";
        continue;
      case '&':
        out += "\\u0026";
        continue;
      case '=':
        out += "\\u003D";
        continue;
      default:
        break;
    }
    if (c < ' ') {
      out += "\\u00";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    } else {
      out.push_back(static_cast<char>(c));  // printable ASCII and UTF-8 sequences pass through
    }
  }
  return out;
}

std::string UrlQueryEscape(std::string_view s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else if (c == ' ') {
      out.push_back('+');
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

// strings.Title for ASCII separators; non-ASCII letters count as letters.
std::string Title(std::string_view s) {
  std::string out(s);
  bool prev_sep = true;
  for (char& ch : out) {
    unsigned char c = ch;
    if (prev_sep && c >= 'a' && c <= 'z') ch = static_cast<char>(c - 'a' + 'A');
    if (c < 0x80) {
      prev_sep = !(std::isalnum(c) || c == '_');
    } else {
      prev_sep = false;
    }
  }
  return out;
}

const std::string& Str(const Value& v) { return v.j().get_ref<const std::string&>(); }

// indexArg in funcs.go: an integer index within [0, cap].
int64_t IndexArg(const Value& idx, size_t cap) {
  if (idx.nilish()) throw FuncError{"cannot index slice/array with nil"};
  if (!idx.j().is_number_integer()) {
    throw FuncError{"cannot index slice/array with type " + GoTypeName(idx.j())};
  }
  int64_t x = IntOf(idx.j());
  if (x < 0 || static_cast<uint64_t>(x) > cap) {
    throw FuncError{"index out of range: " + std::to_string(x)};
  }
  return x;
}

Value Index(std::vector<Value>& args) {
  Value item = args[0];
  if (item.nilish()) throw FuncError{"index of untyped nil"};
  for (size_t i = 1; i < args.size(); ++i) {
    if (item.nilish()) throw FuncError{"index of nil pointer"};
    const Json& j = item.j();
    if (j.is_array() || j.is_string()) {
      size_t len = j.is_array() ? j.size() : Str(item).size();
      int64_t x = IndexArg(args[i], len);
      if (static_cast<size_t>(x) == len) {
        throw FuncError{j.is_array() ? "reflect: slice index out of range"
                                     : "reflect: string index out of range"};
      }
      if (j.is_array()) {
        item = item.Child(&j[x]);
      } else {
        item = Value::Own(static_cast<int64_t>(static_cast<unsigned char>(Str(item)[x])));
      }
    } else if (j.is_object()) {
      const Value& k = args[i];
      if (k.nilish()) throw FuncError{"value is nil; should be of type string"};
      if (!k.j().is_string()) {
        throw FuncError{"value has type " + GoTypeName(k.j()) + "; should be string"};
      }
      auto it = j.find(Str(k));
      item = it == j.end() ? Value() : item.Child(&*it);  // missing: Go's zero interface
    } else {
      throw FuncError{"can't index item of type " + GoTypeName(j)};
    }
  }
  return item;
}

Value Slice(std::vector<Value>& args) {
  const Value& item = args[0];
  if (item.nilish()) throw FuncError{"slice of untyped nil"};
  size_t n = args.size() - 1;
  if (n > 3) throw FuncError{"too many slice indexes: " + std::to_string(n)};
  const Json& j = item.j();
  size_t len;
  if (j.is_string()) {
    if (n == 3) throw FuncError{"cannot 3-index slice a string"};
    len = Str(item).size();
  } else if (j.is_array()) {
    len = j.size();
  } else {
    throw FuncError{"can't slice item of type " + GoTypeName(j)};
  }
  int64_t idx[3] = {0, static_cast<int64_t>(len), static_cast<int64_t>(len)};
  for (size_t i = 0; i < n; ++i) idx[i] = IndexArg(args[i + 1], len);
  if (idx[0] > idx[1]) {
    throw FuncError{"invalid slice index: " + std::to_string(idx[0]) + " > " +
                    std::to_string(idx[1])};
  }
  if (n == 3 && idx[1] > idx[2]) {
    throw FuncError{"invalid slice index: " + std::to_string(idx[1]) + " > " +
                    std::to_string(idx[2])};
  }
  if (j.is_string()) return Value::Own(Str(item).substr(idx[0], idx[1] - idx[0]));
  Json out = Json::array();
  for (int64_t i = idx[0]; i < idx[1]; ++i) out.push_back(j[i]);
  return Value::Own(std::move(out));
}

Value Len(std::vector<Value>& args) {
  const Value& v = args[0];
  if (!v.valid()) throw FuncError{"reflect: call of reflect.Value.Type on zero Value"};
  const Json& j = v.j();
  if (j.is_null()) throw FuncError{"len of nil pointer"};
  if (j.is_string()) return Value::Own(static_cast<int64_t>(Str(v).size()));
  if (j.is_array() || j.is_object()) return Value::Own(static_cast<int64_t>(j.size()));
  throw FuncError{"len of type " + GoTypeName(j)};
}

Value Split(const std::string& s, const std::string& sep) {
  Json out = Json::array();
  if (sep.empty()) {
    // Split after each UTF-8 sequence.
    for (size_t i = 0; i < s.size();) {
      unsigned char c = s[i];
      size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
      if (i + n > s.size()) n = 1;
      out.push_back(s.substr(i, n));
      i += n;
    }
    return Value::Own(std::move(out));
  }
  size_t start = 0;
  for (;;) {
    size_t x = s.find(sep, start);
    if (x == std::string::npos) break;
    out.push_back(s.substr(start, x - start));
    start = x + sep.size();
  }
  out.push_back(s.substr(start));
  return Value::Own(std::move(out));
}

std::map<std::string, Func, std::less<>> BaseFuncs() {
  const Kind V = Kind::kValue, A = Kind::kAny, S = Kind::kString, I = Kind::kInt;
  std::map<std::string, Func, std::less<>> f;
  auto noop = [](State&, std::vector<Value>&) -> Value { return Value(); };
  f["and"] = {{V, V}, true, noop};
  f["or"] = {{V, V}, true, noop};
  f["not"] = {{V}, false, [](State&, std::vector<Value>& a) { return Value::Own(!Truth(a[0])); }};
  f["len"] = {{V}, false, [](State&, std::vector<Value>& a) { return Len(a); }};
  f["index"] = {{V, V}, true, [](State&, std::vector<Value>& a) { return Index(a); }};
  f["slice"] = {{V, V}, true, [](State&, std::vector<Value>& a) { return Slice(a); }};
  f["call"] = {{V, V}, true, [](State&, std::vector<Value>& a) -> Value {
                 throw FuncError{"non-function of type " +
                                 (a[0].valid() ? GoTypeName(a[0].j()) : std::string("<nil>"))};
               }};
  f["print"] = {
      {A}, true, [](State&, std::vector<Value>& a) { return Value::Own(Sprint(ToJson(a))); }};
  f["println"] = {
      {A}, true, [](State&, std::vector<Value>& a) { return Value::Own(Sprintln(ToJson(a))); }};
  f["printf"] = {{S, A}, true, [](State& st, std::vector<Value>& a) {
                   std::string s = Sprintf(Str(a[0]), ToJson(a, 1), st.remaining_output() + 1);
                   if (s.size() > st.remaining_output())
                     throw FuncError{"result exceeds output limit"};
                   return Value::Own(std::move(s));
                 }};
  f["html"] = {{A}, true, [](State&, std::vector<Value>& a) {
                 return Value::Own(HtmlEscape(EvalArgsString(a)));
               }};
  f["js"] = {{A}, true, [](State&, std::vector<Value>& a) {
               return Value::Own(JsEscape(EvalArgsString(a)));
             }};
  f["urlquery"] = {{A}, true, [](State&, std::vector<Value>& a) {
                     return Value::Own(UrlQueryEscape(EvalArgsString(a)));
                   }};
  f["eq"] = {{V, V}, true, [](State&, std::vector<Value>& a) {
               if (a.size() < 2) throw FuncError{"missing argument for comparison"};
               for (size_t i = 1; i < a.size(); ++i) {
                 if (EqualPair(a[0], a[i])) return Value::Own(true);
               }
               return Value::Own(false);
             }};
  f["ne"] = {{V, V}, false, [](State&, std::vector<Value>& a) {
               return Value::Own(!EqualPair(a[0], a[1]));
             }};
  f["lt"] = {
      {V, V}, false, [](State&, std::vector<Value>& a) { return Value::Own(Less(a[0], a[1])); }};
  f["le"] = {{V, V}, false, [](State&, std::vector<Value>& a) {
               return Value::Own(Less(a[0], a[1]) || EqualPair(a[0], a[1]));
             }};
  f["gt"] = {{V, V}, false, [](State&, std::vector<Value>& a) {
               return Value::Own(!(Less(a[0], a[1]) || EqualPair(a[0], a[1])));
             }};
  f["ge"] = {
      {V, V}, false, [](State&, std::vector<Value>& a) { return Value::Own(!Less(a[0], a[1])); }};
  // docker/cli templates.basicFunctions
  f["json"] = {{A}, false, [](State& s, std::vector<Value>& a) {
                 if (s.options().marshal) {
                   if (auto typed = s.options().marshal(a[0].j())) return Value::Own(*typed);
                 }
                 return Value::Own(DockerJson(a[0].j()));
               }};
  f["split"] = {
      {S, S}, false, [](State&, std::vector<Value>& a) { return Split(Str(a[0]), Str(a[1])); }};
  f["join"] = {{Kind::kStringSlice, S}, false, [](State&, std::vector<Value>& a) {
                 std::string out;
                 const Json& arr = a[0].j();
                 for (size_t i = 0; i < arr.size(); ++i) {
                   if (i) out += Str(a[1]);
                   out += arr[i].get_ref<const std::string&>();
                 }
                 return Value::Own(std::move(out));
               }};
  f["title"] = {
      {S}, false, [](State&, std::vector<Value>& a) { return Value::Own(Title(Str(a[0]))); }};
  f["lower"] = {{S}, false, [](State&, std::vector<Value>& a) {
                  std::string s = Str(a[0]);
                  for (char& c : s)
                    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
                  return Value::Own(std::move(s));
                }};
  f["upper"] = {{S}, false, [](State&, std::vector<Value>& a) {
                  std::string s = Str(a[0]);
                  for (char& c : s)
                    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
                  return Value::Own(std::move(s));
                }};
  f["pad"] = {{S, I, I}, false, [](State& st, std::vector<Value>& a) {
                const std::string& s = Str(a[0]);
                if (s.empty()) return a[0];
                int64_t pre = IntOf(a[1].j()), suf = IntOf(a[2].j());
                if (pre < 0 || suf < 0) throw FuncError{"strings: negative Repeat count"};
                if (static_cast<uint64_t>(pre) + static_cast<uint64_t>(suf) + s.size() >
                    st.remaining_output()) {
                  throw FuncError{"result exceeds output limit"};
                }
                return Value::Own(std::string(pre, ' ') + s + std::string(suf, ' '));
              }};
  f["truncate"] = {
      {S, I}, false, [](State&, std::vector<Value>& a) {
        const std::string& s = Str(a[0]);
        int64_t n = IntOf(a[1].j());
        if (static_cast<int64_t>(s.size()) < n) return a[0];
        if (n < 0) {
          throw FuncError{"runtime error: slice bounds out of range [:" + std::to_string(n) + "]"};
        }
        return Value::Own(s.substr(0, n));
      }};
  return f;
}

const std::map<std::string, Func, std::less<>>& Builtins() {
  static const auto kFuncs = BaseFuncs();
  return kFuncs;
}

// docker/cli templates.HeaderFunctions: keep the header titles intact.
const std::map<std::string, Func, std::less<>>& HeaderBuiltins() {
  static const auto kFuncs = [] {
    auto f = BaseFuncs();
    const Kind S = Kind::kString, I = Kind::kInt;
    FuncImpl first = [](State&, std::vector<Value>& a) { return a[0]; };
    f["json"] = {{S}, false, first};
    f["split"] = {{S, S}, false, first};
    f["join"] = {{S, S}, false, first};
    f["title"] = {{S}, false, first};
    f["lower"] = {{S}, false, first};
    f["upper"] = {{S}, false, first};
    f["truncate"] = {{S, I}, false, first};
    return f;
  }();
  return kFuncs;
}

template <class J>
void AppendJson(std::string* out, const J& v) {
  switch (v.type()) {
    case J::value_t::null:
      *out += "null";
      return;
    case J::value_t::boolean:
      *out += v.template get<bool>() ? "true" : "false";
      return;
    case J::value_t::number_integer:
      *out += std::to_string(v.template get<int64_t>());
      return;
    case J::value_t::number_unsigned:
      *out += std::to_string(v.template get<uint64_t>());
      return;
    case J::value_t::number_float: {
      // encoding/json: 'f' format unless the magnitude needs an exponent; e-09 becomes e-9.
      double f = v.template get<double>();
      if (!std::isfinite(f)) {
        *out += "null";
        return;
      }
      double a = std::fabs(f);
      bool exp = a != 0 && (a < 1e-6 || a >= 1e21);
      std::string s = FormatFloat(f, exp ? 'e' : 'f', -1);
      if (exp) {
        size_t n = s.size();
        if (n >= 4 && s[n - 4] == 'e' && s[n - 3] == '-' && s[n - 2] == '0') s.erase(n - 2, 1);
      }
      *out += s;
      return;
    }
    case J::value_t::string: {
      static const char* kHex = "0123456789abcdef";
      const std::string& s = v.template get_ref<const std::string&>();
      out->push_back('"');
      for (size_t i = 0; i < s.size(); ++i) {
        unsigned char c = s[i];
        switch (c) {
          case '"':
            *out += "\\\"";
            continue;
          case '\\':
            *out += "\\\\";
            continue;
          case '\n':
            *out += "\\n";
            continue;
          case '\r':
            *out += "\\r";
            continue;
          case '\t':
            *out += "\\t";
            continue;
          case '\b':
            *out += "\\b";
            continue;
          case '\f':
            *out += "\\f";
            continue;
          default:
            break;
        }
        if (c < 0x20) {
          *out += "\\u00";
          out->push_back(kHex[c >> 4]);
          out->push_back(kHex[c & 15]);
          continue;
        }
        if (c < 0x80) {
          out->push_back(static_cast<char>(c));
          continue;
        }
        size_t n = (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        bool ok = n != 0 && i + n <= s.size();
        for (size_t k = 1; ok && k < n; ++k)
          ok = (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
        if (!ok) {
          *out += "\\ufffd";
          continue;
        }
        std::string_view seq(s.data() + i, n);
        if (seq == "\xE2\x80\xA8") {
          *out += "\\u2028";
        } else if (seq == "\xE2\x80\xA9") {
          *out += "\\u2029";
        } else {
          out->append(seq);
        }
        i += n - 1;
      }
      out->push_back('"');
      return;
    }
    case J::value_t::array: {
      out->push_back('[');
      bool first = true;
      for (const J& e : v) {
        if (!first) out->push_back(',');
        first = false;
        AppendJson(out, e);
      }
      out->push_back(']');
      return;
    }
    case J::value_t::object: {
      out->push_back('{');
      bool first = true;
      for (auto it = v.begin(); it != v.end(); ++it) {
        if (!first) out->push_back(',');
        first = false;
        AppendJson(out, J(it.key()));
        out->push_back(':');
        AppendJson(out, it.value());
      }
      out->push_back('}');
      return;
    }
    default:
      *out += "null";
      return;
  }
}

// Executes `root` over `data` into `output`. On a template error, what came before it still
// reaches a sink, as Go's Execute leaves the partial output written.
Status ExecuteInto(const Node& root, const Json& data, Output* output,
                   const ExecuteOptions& options) {
  State state(root.text, output, options);
  Value dot;
  dot.p = &data;
  try {
    state.Run(root, dot);
  } catch (const TemplateError& e) {
    (void)output->Flush();
    return InvalidArgument(e.message);
  } catch (const Json::exception& e) {
    return Internal(std::string("template: ") + e.what());
  }
  return Ok();
}

}  // namespace

std::string DockerJson(const Json& v) {
  std::string out;
  AppendJson(&out, v);
  return out;
}

std::string DockerJson(const nlohmann::ordered_json& v) {
  std::string out;
  AppendJson(&out, v);
  return out;
}

Result<Template> Template::Parse(std::string_view text, const Limits& limits) {
  try {
    Lexer lexer(text);
    Parser parser(lexer.Run(), limits);
    std::unique_ptr<Node> root = parser.Parse();
    root->text = std::string(text);  // kept for line:column in execution errors
    return Template(std::shared_ptr<const Node>(std::move(root)));
  } catch (const TemplateError& e) {
    return InvalidArgument(e.message);
  }
}

Status Template::Execute(const Json& data, Writer& out, const ExecuteOptions& options) const {
  Output output(&out, options.limits.max_output);
  STRATA_TRY(ExecuteInto(*root_, data, &output, options));
  if (!output.Flush()) return *output.sink_error();
  return Ok();
}

std::optional<std::vector<Template::Piece>> Template::PlainFields() const {
  std::vector<Piece> out;
  for (const auto& n : root_->nodes) {
    if (n->type == NodeType::kText) {
      out.push_back({false, n->text});
      continue;
    }
    if (n->type != NodeType::kAction) return std::nullopt;
    const Node& pipe = *n->pipe;
    if (!pipe.decls.empty() || pipe.nodes.size() != 1) return std::nullopt;
    const Node& cmd = *pipe.nodes[0];
    if (cmd.nodes.size() != 1) return std::nullopt;
    const Node& field = *cmd.nodes[0];
    if (field.type != NodeType::kField || field.idents.size() != 1) return std::nullopt;
    out.push_back({true, field.idents[0]});
  }
  return out;
}

Result<std::string> Template::Execute(const Json& data, const ExecuteOptions& options) const {
  Output output(nullptr, options.limits.max_output);
  STRATA_TRY(ExecuteInto(*root_, data, &output, options));
  return std::move(output.buf());
}

}  // namespace strata::format
