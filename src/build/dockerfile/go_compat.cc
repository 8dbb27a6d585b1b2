#include "build/dockerfile/go_compat.h"

#include <cmath>
#include <cstdlib>
#include <limits>

#include "util/utf8.h"

namespace strata::dockerfile::go {

bool IsSpaceRune(uint32_t r) {
  if (r < 0x100) {
    return r == ' ' || (r >= '\t' && r <= '\r') || r == 0x85 || r == 0xA0;
  }
  return r == 0x1680 || (r >= 0x2000 && r <= 0x200a) || r == 0x2028 || r == 0x2029 || r == 0x202f ||
         r == 0x205f || r == 0x3000;
}

bool IsSpaceByte(unsigned char b) { return IsSpaceRune(b); }

uint32_t DecodeRune(std::string_view s, size_t pos, size_t* width) {
  auto b = [&](size_t i) { return static_cast<unsigned char>(s[pos + i]); };
  size_t n = s.size() - pos;
  unsigned char c = b(0);
  *width = 1;
  if (c < 0x80) return c;
  auto cont = [&](size_t i) { return i < n && (b(i) & 0xC0) == 0x80; };
  if (c >= 0xC2 && c <= 0xDF && cont(1)) {
    *width = 2;
    return ((c & 0x1Fu) << 6) | (b(1) & 0x3Fu);
  }
  if (c >= 0xE0 && c <= 0xEF && cont(1) && cont(2)) {
    uint32_t r = ((c & 0x0Fu) << 12) | ((b(1) & 0x3Fu) << 6) | (b(2) & 0x3Fu);
    if (r >= 0x800 && (r < 0xD800 || r > 0xDFFF)) {
      *width = 3;
      return r;
    }
    return 0xFFFD;
  }
  if (c >= 0xF0 && c <= 0xF4 && cont(1) && cont(2) && cont(3)) {
    uint32_t r =
        ((c & 0x07u) << 18) | ((b(1) & 0x3Fu) << 12) | ((b(2) & 0x3Fu) << 6) | (b(3) & 0x3Fu);
    if (r >= 0x10000 && r <= 0x10FFFF) {
      *width = 4;
      return r;
    }
  }
  return 0xFFFD;
}

std::u32string ToRunes(std::string_view s) {
  std::u32string out;
  size_t pos = 0;
  while (pos < s.size()) {
    size_t w;
    out.push_back(static_cast<char32_t>(DecodeRune(s, pos, &w)));
    pos += w;
  }
  return out;
}

void AppendRune(std::string* out, uint32_t r) { AppendUtf8(out, r); }

std::string_view TrimLeftSpace(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    size_t w;
    uint32_t r = DecodeRune(s, i, &w);
    // An invalid byte decodes as U+FFFD (width 1), which is not a space.
    if (!IsSpaceRune(r) || (r == 0xFFFD && w == 1)) break;
    i += w;
  }
  return s.substr(i);
}

std::string_view TrimSpace(std::string_view s) {
  s = TrimLeftSpace(s);
  // Walk back over trailing spaces; all of Go's space runes are ASCII or end in a byte that
  // cannot start a sequence, so scan candidates from the end.
  while (!s.empty()) {
    size_t start = s.size() - 1;
    while (start > 0 && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80 &&
           s.size() - start < 4) {
      --start;
    }
    size_t w;
    uint32_t r = DecodeRune(s, start, &w);
    if (start + w != s.size() || !IsSpaceRune(r) || (r == 0xFFFD && w == 1)) break;
    s.remove_suffix(w);
  }
  return s;
}

std::string Quote(std::string_view s) {
  static const char* kHex = "0123456789abcdef";
  std::string out = "\"";
  for (size_t i = 0; i < s.size();) {
    size_t w;
    uint32_t r = DecodeRune(s, i, &w);
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (r == 0xFFFD && w == 1) {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
      i += 1;
      continue;
    }
    i += w;
    switch (r) {
      case '"':
        out += "\\\"";
        continue;
      case '\\':
        out += "\\\\";
        continue;
      case '\a':
        out += "\\a";
        continue;
      case '\b':
        out += "\\b";
        continue;
      case '\f':
        out += "\\f";
        continue;
      case '\n':
        out += "\\n";
        continue;
      case '\r':
        out += "\\r";
        continue;
      case '\t':
        out += "\\t";
        continue;
      case '\v':
        out += "\\v";
        continue;
      default:
        break;
    }
    if (r < 0x20 || r == 0x7F) {
      out += "\\x";
      out += kHex[r >> 4];
      out += kHex[r & 15];
    } else if ((r >= 0x80 && r < 0xA0) || r == 0xAD || r == 0xFEFF ||
               (r >= 0x2028 && r <= 0x2029)) {
      char buf[16];
      snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(r));
      out += buf;
    } else {
      AppendRune(&out, r);
    }
  }
  out += '"';
  return out;
}

namespace {

Error DurationError(std::string_view orig) {
  return InvalidArgument("time: invalid duration " + Quote(orig));
}

}  // namespace

Result<int64_t> ParseDuration(std::string_view orig) {
  std::string_view s = orig;
  constexpr uint64_t kMax = uint64_t{1} << 63;
  bool neg = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return int64_t{0};
  if (s.empty()) return DurationError(orig);
  uint64_t d = 0;
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  while (!s.empty()) {
    if (!(s[0] == '.' || digit(s[0]))) return DurationError(orig);
    uint64_t v = 0;
    size_t i = 0;
    for (; i < s.size() && digit(s[i]); ++i) {
      if (v > kMax / 10) return DurationError(orig);
      v = v * 10 + static_cast<uint64_t>(s[i] - '0');
      if (v > kMax) return DurationError(orig);
    }
    bool pre = i > 0;
    s.remove_prefix(i);
    uint64_t f = 0;
    double scale = 1;
    bool post = false;
    if (!s.empty() && s[0] == '.') {
      s.remove_prefix(1);
      size_t j = 0;
      bool overflow = false;
      for (; j < s.size() && digit(s[j]); ++j) {
        if (overflow) continue;
        if (f > (kMax - 1) / 10) {
          overflow = true;
          continue;
        }
        uint64_t y = f * 10 + static_cast<uint64_t>(s[j] - '0');
        if (y > kMax) {
          overflow = true;
          continue;
        }
        f = y;
        scale *= 10;
      }
      post = j > 0;
      s.remove_prefix(j);
    }
    if (!pre && !post) return DurationError(orig);
    size_t u = 0;
    while (u < s.size() && !(s[u] == '.' || digit(s[u]))) ++u;
    if (u == 0) return InvalidArgument("time: missing unit in duration " + Quote(orig));
    std::string_view unit_name = s.substr(0, u);
    s.remove_prefix(u);
    uint64_t unit;
    if (unit_name == "ns") {
      unit = 1;
    } else if (unit_name == "us" || unit_name == "\xC2\xB5s" || unit_name == "\xCE\xBCs") {
      unit = 1000;
    } else if (unit_name == "ms") {
      unit = 1000000;
    } else if (unit_name == "s") {
      unit = 1000000000;
    } else if (unit_name == "m") {
      unit = 60ull * 1000000000;
    } else if (unit_name == "h") {
      unit = 3600ull * 1000000000;
    } else {
      return InvalidArgument("time: unknown unit " + Quote(unit_name) + " in duration " +
                             Quote(orig));
    }
    if (v > kMax / unit) return DurationError(orig);
    v *= unit;
    if (f > 0) {
      v += static_cast<uint64_t>(static_cast<double>(f) * (static_cast<double>(unit) / scale));
      if (v > kMax) return DurationError(orig);
    }
    d += v;
    if (d > kMax) return DurationError(orig);
  }
  if (neg) return static_cast<int64_t>(0 - d);
  if (d > kMax - 1) return DurationError(orig);
  return static_cast<int64_t>(d);
}

std::string FormatDuration(int64_t ns) {
  if (ns == 0) return "0s";
  bool neg = ns < 0;
  uint64_t u = neg ? 0 - static_cast<uint64_t>(ns) : static_cast<uint64_t>(ns);
  std::string out;
  auto frac = [](uint64_t v, int prec, std::string* digits) {
    // Appends v / 10^prec with trailing zeros of the fraction dropped.
    uint64_t p = 1;
    for (int i = 0; i < prec; ++i) p *= 10;
    std::string f = std::to_string(v % p);
    f = std::string(static_cast<size_t>(prec) - f.size(), '0') + f;
    while (!f.empty() && f.back() == '0') f.pop_back();
    *digits = std::to_string(v / p) + (f.empty() ? "" : "." + f);
  };
  if (u < 1000000000) {
    std::string digits;
    if (u < 1000) {
      out = std::to_string(u) + "ns";
    } else if (u < 1000000) {
      frac(u, 3, &digits);
      out = digits + "\xC2\xB5s";
    } else {
      frac(u, 6, &digits);
      out = digits + "ms";
    }
  } else {
    std::string secs;
    frac(u % 60000000000ull, 9, &secs);
    uint64_t mins = u / 60000000000ull;
    out = secs + "s";
    if (mins > 0) {
      uint64_t hours = mins / 60;
      out = std::to_string(mins % 60) + "m" + out;
      if (hours > 0) out = std::to_string(hours) + "h" + out;
    }
  }
  return neg ? "-" + out : out;
}

Result<int64_t> ParseInt(std::string_view s, int bits) {
  std::string_view orig = s;
  auto syntax = [&] {
    return InvalidArgument("strconv.ParseInt: parsing " + Quote(orig) + ": invalid syntax");
  };
  if (s.empty()) return syntax();
  bool neg = false;
  if (s[0] == '+' || s[0] == '-') {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s.empty()) return syntax();
  uint64_t v = 0;
  bool range = false;
  for (char c : s) {
    if (c < '0' || c > '9') return syntax();
    if (v > (std::numeric_limits<uint64_t>::max() - 9) / 10) {
      range = true;
    } else {
      v = v * 10 + static_cast<uint64_t>(c - '0');
    }
  }
  uint64_t cutoff = uint64_t{1} << (bits - 1);
  if (range || (!neg && v >= cutoff) || (neg && v > cutoff)) {
    return InvalidArgument("strconv.ParseInt: parsing " + Quote(orig) + ": value out of range");
  }
  return neg ? -static_cast<int64_t>(v) : static_cast<int64_t>(v);
}

Result<uint64_t> ParseUint(std::string_view s, int base, int bits) {
  auto syntax = [&] {
    return InvalidArgument("strconv.ParseUint: parsing " + Quote(s) + ": invalid syntax");
  };
  if (s.empty()) return syntax();
  uint64_t v = 0;
  uint64_t max = bits >= 64 ? std::numeric_limits<uint64_t>::max() : (uint64_t{1} << bits) - 1;
  bool range = false;
  for (char c : s) {
    int dgt;
    if (c >= '0' && c <= '9') {
      dgt = c - '0';
    } else if (c >= 'a' && c <= 'z') {
      dgt = c - 'a' + 10;
    } else if (c >= 'A' && c <= 'Z') {
      dgt = c - 'A' + 10;
    } else {
      return syntax();
    }
    if (dgt >= base) return syntax();
    if (v > (max - static_cast<uint64_t>(dgt)) / static_cast<uint64_t>(base)) {
      range = true;
    } else {
      v = v * static_cast<uint64_t>(base) + static_cast<uint64_t>(dgt);
    }
  }
  if (range) {
    return InvalidArgument("strconv.ParseUint: parsing " + Quote(s) + ": value out of range");
  }
  return v;
}

std::optional<bool> ParseBool(std::string_view s) {
  if (s == "1" || s == "t" || s == "T" || s == "TRUE" || s == "true" || s == "True") return true;
  if (s == "0" || s == "f" || s == "F" || s == "FALSE" || s == "false" || s == "False") {
    return false;
  }
  return std::nullopt;
}

namespace {

// A recursive-descent reader for one JSON value with encoding/json's rules. Go is used as the
// reference because BuildKit's exec-form detection is exactly "does Go decode this".
class JsonReader {
 public:
  explicit JsonReader(std::string_view s) : s_(s) {}

  // Reads the top-level array. Returns false on any error Go would report.
  bool ReadTopArray(std::vector<std::string>* strings, bool* all_strings) {
    SkipSpace();
    if (!Eat('[')) return false;
    *all_strings = true;
    SkipSpace();
    if (Eat(']')) return true;
    for (;;) {
      SkipSpace();
      if (Peek() == '"') {
        std::string str;
        if (!ReadString(&str)) return false;
        strings->push_back(std::move(str));
      } else {
        *all_strings = false;
        if (!SkipValue(1)) return false;
      }
      SkipSpace();
      if (Eat(',')) continue;
      return Eat(']');
    }
  }

 private:
  // Go's scanner rejects nesting deeper than this.
  static constexpr int kMaxDepth = 10000;

  int Peek() const { return pos_ < s_.size() ? static_cast<unsigned char>(s_[pos_]) : -1; }
  bool Eat(char c) {
    if (Peek() == static_cast<unsigned char>(c)) {
      ++pos_;
      return true;
    }
    return false;
  }
  void SkipSpace() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) {
      ++pos_;
    }
  }

  static int Hex(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }

  bool Read4(uint32_t* v) {
    if (pos_ + 4 > s_.size()) return false;
    *v = 0;
    for (int i = 0; i < 4; ++i) {
      int h = Hex(static_cast<unsigned char>(s_[pos_ + static_cast<size_t>(i)]));
      if (h < 0) return false;
      *v = *v * 16 + static_cast<uint32_t>(h);
    }
    pos_ += 4;
    return true;
  }

  // A string; invalid UTF-8 and lone surrogates become U+FFFD as in Go.
  bool ReadString(std::string* out) {
    if (!Eat('"')) return false;
    for (;;) {
      if (pos_ >= s_.size()) return false;
      unsigned char c = static_cast<unsigned char>(s_[pos_]);
      if (c == '"') {
        ++pos_;
        return true;
      }
      if (c < 0x20) return false;
      if (c == '\\') {
        ++pos_;
        int e = Peek();
        ++pos_;
        switch (e) {
          case '"':
            *out += '"';
            break;
          case '\\':
            *out += '\\';
            break;
          case '/':
            *out += '/';
            break;
          case 'b':
            *out += '\b';
            break;
          case 'f':
            *out += '\f';
            break;
          case 'n':
            *out += '\n';
            break;
          case 'r':
            *out += '\r';
            break;
          case 't':
            *out += '\t';
            break;
          case 'u': {
            uint32_t r;
            if (!Read4(&r)) return false;
            if (r >= 0xD800 && r < 0xDC00) {
              // A high surrogate pairs only with an immediately following \u low surrogate.
              if (pos_ + 6 <= s_.size() && s_[pos_] == '\\' && s_[pos_ + 1] == 'u') {
                size_t save = pos_;
                pos_ += 2;
                uint32_t lo;
                if (!Read4(&lo)) return false;
                if (lo >= 0xDC00 && lo < 0xE000) {
                  AppendRune(out, 0x10000 + ((r - 0xD800) << 10) + (lo - 0xDC00));
                  break;
                }
                pos_ = save;
              }
              r = 0xFFFD;
            } else if (r >= 0xDC00 && r < 0xE000) {
              r = 0xFFFD;
            }
            AppendRune(out, r);
            break;
          }
          default:
            return false;
        }
        continue;
      }
      size_t w;
      uint32_t r = DecodeRune(s_, pos_, &w);
      if (r == 0xFFFD && w == 1) {
        AppendRune(out, 0xFFFD);
      } else {
        out->append(s_.substr(pos_, w));
      }
      pos_ += w;
    }
  }

  bool SkipNumber() {
    size_t start = pos_;
    Eat('-');
    if (Eat('0')) {
    } else if (Peek() >= '1' && Peek() <= '9') {
      while (Peek() >= '0' && Peek() <= '9') ++pos_;
    } else {
      return false;
    }
    if (Eat('.')) {
      if (!(Peek() >= '0' && Peek() <= '9')) return false;
      while (Peek() >= '0' && Peek() <= '9') ++pos_;
    }
    if (Peek() == 'e' || Peek() == 'E') {
      ++pos_;
      if (Peek() == '+' || Peek() == '-') ++pos_;
      if (!(Peek() >= '0' && Peek() <= '9')) return false;
      while (Peek() >= '0' && Peek() <= '9') ++pos_;
    }
    // Decoding into interface{} makes a float64; Go fails on values out of its range.
    std::string num(s_.substr(start, pos_ - start));
    double d = std::strtod(num.c_str(), nullptr);
    if (std::isinf(d)) range_error_ = true;
    return true;
  }

  bool SkipLiteral(std::string_view lit) {
    if (s_.substr(pos_, lit.size()) != lit) return false;
    pos_ += lit.size();
    return true;
  }

  bool SkipValue(int depth) {
    if (depth >= kMaxDepth) return false;
    SkipSpace();
    int c = Peek();
    if (c == '"') {
      std::string ignored;
      return ReadString(&ignored);
    }
    if (c == '[') {
      ++pos_;
      SkipSpace();
      if (Eat(']')) return true;
      for (;;) {
        if (!SkipValue(depth + 1)) return false;
        SkipSpace();
        if (Eat(',')) continue;
        return Eat(']');
      }
    }
    if (c == '{') {
      ++pos_;
      SkipSpace();
      if (Eat('}')) return true;
      for (;;) {
        SkipSpace();
        std::string key;
        if (!ReadString(&key)) return false;
        SkipSpace();
        if (!Eat(':')) return false;
        if (!SkipValue(depth + 1)) return false;
        SkipSpace();
        if (Eat(',')) continue;
        return Eat('}');
      }
    }
    if (c == 't') return SkipLiteral("true");
    if (c == 'f') return SkipLiteral("false");
    if (c == 'n') return SkipLiteral("null");
    if (c == '-' || (c >= '0' && c <= '9')) return SkipNumber();
    return false;
  }

 public:
  bool range_error() const { return range_error_; }

 private:
  std::string_view s_;
  size_t pos_ = 0;
  bool range_error_ = false;
};

}  // namespace

JsonArrayKind DecodeJsonStringArray(std::string_view text, std::vector<std::string>* out) {
  JsonReader reader(text);
  std::vector<std::string> strings;
  bool all_strings = true;
  if (!reader.ReadTopArray(&strings, &all_strings)) return JsonArrayKind::kError;
  // Go reports an unmarshal type error (a number too large) after decoding the whole value,
  // and that error is not BuildKit's "not a string array" one.
  if (reader.range_error()) return JsonArrayKind::kError;
  if (!all_strings) return JsonArrayKind::kNotStrings;
  *out = std::move(strings);
  return JsonArrayKind::kStrings;
}

}  // namespace strata::dockerfile::go
