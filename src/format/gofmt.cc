#include "format/gofmt.h"

#include <charconv>
#include <cmath>
#include <cstdio>

#include "util/utf8.h"

namespace strata::format {
namespace {

size_t RuneCount(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) {
    if ((c & 0xC0) != 0x80) ++n;
  }
  return n;
}

// Decimal digits of |f| such that |f| = 0.d1d2...dn * 10^dp; n significant digits, or the
// shortest round-tripping digits when n < 0.
void Digits(double f, int n, std::string* digits, int* dp) {
  char buf[64];
  std::to_chars_result r =
      n < 0 ? std::to_chars(buf, buf + sizeof buf, f, std::chars_format::scientific)
            : std::to_chars(buf, buf + sizeof buf, f, std::chars_format::scientific,
                            n > 0 ? n - 1 : 0);
  std::string_view s(buf, r.ptr - buf);
  size_t e = s.find('e');
  digits->clear();
  for (char c : s.substr(0, e)) {
    if (c != '.') digits->push_back(c);
  }
  int exp = 0;
  std::from_chars(s.data() + e + (s[e + 1] == '+' ? 2 : 1), s.data() + s.size(), exp);
  *dp = exp + 1;
  if (n == 0) {
    // Zero significant digits requested (only %e with precision 0 asks via n=1, so unreachable).
    digits->resize(1);
  }
}

std::string FormatE(const std::string& digits, int dp, int prec, char e) {
  std::string out;
  out.push_back(digits.empty() ? '0' : digits[0]);
  if (prec > 0) {
    out.push_back('.');
    for (int i = 1; i <= prec; ++i) {
      out.push_back(i < static_cast<int>(digits.size()) ? digits[i] : '0');
    }
  }
  int exp = (digits.empty() || digits == "0") ? 0 : dp - 1;
  out.push_back(e);
  out.push_back(exp < 0 ? '-' : '+');
  if (exp < 0) exp = -exp;
  if (exp < 10) out.push_back('0');
  out += std::to_string(exp);
  return out;
}

std::string FormatF(const std::string& digits, int dp, int prec) {
  std::string out;
  if (dp > 0) {
    for (int i = 0; i < dp; ++i)
      out.push_back(i < static_cast<int>(digits.size()) ? digits[i] : '0');
  } else {
    out.push_back('0');
  }
  if (prec > 0) {
    out.push_back('.');
    for (int i = 0; i < prec; ++i) {
      int j = dp + i;
      out.push_back(j < 0 || j >= static_cast<int>(digits.size()) ? '0' : digits[j]);
    }
  }
  return out;
}

// Length of the valid UTF-8 sequence at s[i], or 0 if invalid.
size_t Utf8Len(std::string_view s, size_t i) {
  unsigned char c = s[i];
  size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return 0;
  }
  if (n == 2 && c < 0xC2) return 0;
  return n;
}

void QuoteRune(std::string* out, uint32_t r, std::string_view raw, char quote) {
  static const char* kHex = "0123456789abcdef";
  switch (r) {
    case '\a':
      *out += "\\a";
      return;
    case '\b':
      *out += "\\b";
      return;
    case '\f':
      *out += "\\f";
      return;
    case '\n':
      *out += "\\n";
      return;
    case '\r':
      *out += "\\r";
      return;
    case '\t':
      *out += "\\t";
      return;
    case '\v':
      *out += "\\v";
      return;
    case '\\':
      *out += "\\\\";
      return;
  }
  if (r == static_cast<uint32_t>(quote)) {
    out->push_back('\\');
    out->push_back(quote);
    return;
  }
  if (r < 0x20 || r == 0x7F) {
    *out += "\\x";
    out->push_back(kHex[r >> 4]);
    out->push_back(kHex[r & 15]);
    return;
  }
  *out += raw;
}

// One parsed %-directive.
struct Spec {
  bool minus = false, plus = false, sharp = false, space = false, zero = false;
  int width = -1, prec = -1;
  char verb = 'v';
};

std::string Pad(std::string s, const Spec& sp, bool numeric) {
  if (sp.width < 0) return s;
  size_t n = RuneCount(s);
  if (n >= static_cast<size_t>(sp.width)) return s;
  size_t pad = sp.width - n;
  if (sp.minus) return s + std::string(pad, ' ');
  if (sp.zero) {
    // Zeros go after the sign for numbers.
    size_t at = 0;
    if (numeric && !s.empty() && (s[0] == '-' || s[0] == '+' || s[0] == ' ')) at = 1;
    if (numeric && s.size() > at + 1 && s[at] == '0' && (s[at + 1] == 'x' || s[at + 1] == 'X')) {
      at += 2;
    }
    s.insert(at, pad, '0');
    return s;
  }
  return std::string(pad, ' ') + s;
}

void FormatOne(std::string* out, const Json& v, const Spec& sp, bool nested = false);

void BadVerb(std::string* out, const Json& v, char verb) {
  *out += "%!";
  out->push_back(verb);
  out->push_back('(');
  if (v.is_null()) {
    *out += "<nil>";
  } else {
    *out += GoTypeName(v);
    out->push_back('=');
    *out += FormatValue(v);
  }
  out->push_back(')');
}

std::string IntDigits(uint64_t u, int base, bool upper) {
  const char* d = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  if (u == 0) return "0";
  std::string s;
  while (u) {
    s.insert(s.begin(), d[u % base]);
    u /= base;
  }
  return s;
}

void FormatInteger(std::string* out, const Json& v, const Spec& sp) {
  bool neg = false;
  uint64_t u;
  if (v.is_number_unsigned()) {
    u = v.get<uint64_t>();
  } else {
    int64_t i = v.get<int64_t>();
    neg = i < 0;
    u = neg ? 0 - static_cast<uint64_t>(i) : static_cast<uint64_t>(i);
  }
  std::string body;
  switch (sp.verb) {
    case 'v':
    case 'd':
      body = IntDigits(u, 10, false);
      break;
    case 'b':
      body = IntDigits(u, 2, false);
      break;
    case 'o':
      body = IntDigits(u, 8, false);
      if (sp.sharp && body != "0") body.insert(0, "0");
      break;
    case 'O':
      body = "0o" + IntDigits(u, 8, false);
      break;
    case 'x':
    case 'X':
      body = IntDigits(u, 16, sp.verb == 'X');
      break;
    case 'c': {
      std::string s;
      AppendUtf8(&s, neg ? 0xFFFD : static_cast<uint32_t>(std::min<uint64_t>(u, 0x110000)));
      *out += Pad(s, sp, false);
      return;
    }
    case 'q': {
      std::string raw;
      uint32_t r = neg ? 0xFFFD : static_cast<uint32_t>(std::min<uint64_t>(u, 0xFFFD + 0x100000));
      AppendUtf8(&raw, r);
      std::string s = "'";
      QuoteRune(&s, r, raw, '\'');
      s += "'";
      *out += Pad(s, sp, false);
      return;
    }
    case 'U': {
      std::string h = IntDigits(u, 16, true);
      while (h.size() < 4) h.insert(h.begin(), '0');
      *out += Pad("U+" + h, sp, false);
      return;
    }
    default:
      BadVerb(out, v, sp.verb);
      return;
  }
  if (sp.prec >= 0) {
    if (sp.prec == 0 && u == 0) body.clear();
    while (body.size() < static_cast<size_t>(sp.prec)) body.insert(body.begin(), '0');
  }
  if (sp.sharp && (sp.verb == 'x' || sp.verb == 'X')) body.insert(0, sp.verb == 'x' ? "0x" : "0X");
  if (neg) {
    body.insert(body.begin(), '-');
  } else if (sp.plus) {
    body.insert(body.begin(), '+');
  } else if (sp.space) {
    body.insert(body.begin(), ' ');
  }
  Spec p = sp;
  if (sp.prec >= 0) p.zero = false;  // Go ignores the 0 flag when a precision is given.
  *out += Pad(body, p, true);
}

void FormatFloatVerb(std::string* out, double f, const Json& v, const Spec& sp) {
  char verb = sp.verb;
  std::string body;
  switch (verb) {
    case 'v':
      body = FormatFloat(f, 'g', sp.prec);
      break;
    case 'e':
    case 'E':
      body = FormatFloat(f, verb, sp.prec < 0 ? 6 : sp.prec);
      break;
    case 'f':
    case 'F':
      body = FormatFloat(f, 'f', sp.prec < 0 ? 6 : sp.prec);
      break;
    case 'g':
    case 'G':
      body = FormatFloat(f, verb, sp.prec);
      break;
    default:
      BadVerb(out, v, verb);
      return;
  }
  if (body[0] != '-' && body[0] != '+') {
    if (sp.plus) {
      body.insert(body.begin(), '+');
    } else if (sp.space) {
      body.insert(body.begin(), ' ');
    }
  }
  *out += Pad(body, sp, std::isfinite(f));
}

void FormatString(std::string* out, const std::string& s, const Json& v, const Spec& sp) {
  switch (sp.verb) {
    case 'v':
    case 's': {
      if (sp.prec >= 0) {
        // Precision truncates to that many runes.
        size_t runes = 0, i = 0;
        for (; i < s.size(); ++i) {
          if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) {
            if (runes == static_cast<size_t>(sp.prec)) break;
            ++runes;
          }
        }
        *out += Pad(s.substr(0, i), sp, false);
      } else {
        *out += Pad(s, sp, false);
      }
      return;
    }
    case 'q':
      *out += Pad(GoQuote(s), sp, false);
      return;
    case 'x':
    case 'X': {
      const char* d = sp.verb == 'x' ? "0123456789abcdef" : "0123456789ABCDEF";
      std::string h;
      for (size_t i = 0; i < s.size(); ++i) {
        if (sp.space && i > 0) h.push_back(' ');
        if (sp.sharp && (sp.space || i == 0)) h += sp.verb == 'x' ? "0x" : "0X";
        unsigned char c = s[i];
        h.push_back(d[c >> 4]);
        h.push_back(d[c & 15]);
      }
      *out += Pad(h, sp, false);
      return;
    }
    default:
      BadVerb(out, v, sp.verb);
      return;
  }
}

void FormatOne(std::string* out, const Json& v, const Spec& sp, bool nested) {
  if (sp.verb == 'T') {
    *out += Pad(GoTypeName(v), sp, false);
    return;
  }
  switch (v.type()) {
    case Json::value_t::null:
      // A nil inside a slice or map prints <nil> whatever the verb (fmt's printValue).
      if (sp.verb == 'v' || nested) {
        *out += Pad("<nil>", sp, false);
      } else {
        BadVerb(out, v, sp.verb);
      }
      return;
    case Json::value_t::boolean:
      if (sp.verb == 'v' || sp.verb == 't') {
        *out += Pad(v.get<bool>() ? "true" : "false", sp, false);
      } else {
        BadVerb(out, v, sp.verb);
      }
      return;
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
      FormatInteger(out, v, sp);
      return;
    case Json::value_t::number_float:
      FormatFloatVerb(out, v.get<double>(), v, sp);
      return;
    case Json::value_t::string:
      FormatString(out, v.get_ref<const std::string&>(), v, sp);
      return;
    case Json::value_t::array: {
      out->push_back('[');
      bool first = true;
      for (const Json& e : v) {
        if (!first) out->push_back(' ');
        first = false;
        FormatOne(out, e, sp, true);
      }
      out->push_back(']');
      return;
    }
    case Json::value_t::object: {
      *out += "map[";
      bool first = true;
      for (auto it = v.begin(); it != v.end(); ++it) {
        if (!first) out->push_back(' ');
        first = false;
        FormatOne(out, Json(it.key()), sp, true);
        out->push_back(':');
        FormatOne(out, it.value(), sp, true);
      }
      out->push_back(']');
      return;
    }
    default:
      *out += "?";
      return;
  }
}

}  // namespace

std::string GoTypeName(const Json& v) {
  switch (v.type()) {
    case Json::value_t::null:
      return "<nil>";
    case Json::value_t::boolean:
      return "bool";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
      return "int";
    case Json::value_t::number_float:
      return "float64";
    case Json::value_t::string:
      return "string";
    case Json::value_t::array:
      return "[]interface {}";
    case Json::value_t::object:
      return "map[string]interface {}";
    default:
      return "interface {}";
  }
}

std::string FormatFloat(double f, char fmt, int prec) {
  if (std::isnan(f)) return "NaN";
  if (std::isinf(f)) return f > 0 ? "+Inf" : "-Inf";
  std::string sign = std::signbit(f) ? "-" : "";
  f = std::fabs(f);
  std::string digits;
  int dp = 0;
  bool upper = fmt == 'E' || fmt == 'G';
  switch (fmt) {
    case 'e':
    case 'E': {
      if (prec < 0) {
        Digits(f, -1, &digits, &dp);
        prec = static_cast<int>(digits.size()) - 1;
      } else {
        Digits(f, prec + 1, &digits, &dp);
      }
      return sign + FormatE(digits, dp, prec, upper ? 'E' : 'e');
    }
    case 'f': {
      if (prec < 0) {
        Digits(f, -1, &digits, &dp);
        if (digits == "0") dp = 1;
        return sign + FormatF(digits, dp, std::max(static_cast<int>(digits.size()) - dp, 0));
      }
      char buf[400];
      auto r = std::to_chars(buf, buf + sizeof buf, f, std::chars_format::fixed, prec);
      if (r.ec != std::errc()) return sign + "?";
      return sign + std::string(buf, r.ptr);
    }
    default: {  // 'g'
      bool shortest = prec < 0;
      if (prec == 0) prec = 1;
      Digits(f, shortest ? -1 : prec, &digits, &dp);
      // Go strips trailing zeros of %g digits.
      while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
      if (f == 0) {
        digits = "0";
        dp = 1;
      }
      int nd = static_cast<int>(digits.size());
      int eprec = prec;
      if (eprec > nd && nd >= dp) eprec = nd;
      if (shortest) eprec = 6;
      int exp = dp - 1;
      if (f == 0) exp = 0;
      if (exp < -4 || exp >= eprec) {
        int p = (shortest ? nd : std::min(prec, nd)) - 1;
        return sign + FormatE(digits, dp, std::max(p, 0), upper ? 'E' : 'e');
      }
      int p = std::max((shortest ? nd : std::min(prec, nd)) - dp, 0);
      return sign + FormatF(digits, dp, p);
    }
  }
}

std::string GoQuote(std::string_view s) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size();) {
    size_t n = Utf8Len(s, i);
    if (n == 0) {
      static const char* kHex = "0123456789abcdef";
      unsigned char c = s[i];
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
      ++i;
      continue;
    }
    uint32_t r = static_cast<unsigned char>(s[i]);
    if (n > 1) {
      r &= 0xFF >> (n + 1);
      for (size_t k = 1; k < n; ++k) r = (r << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    }
    QuoteRune(&out, r, s.substr(i, n), '"');
    i += n;
  }
  out += "\"";
  return out;
}

std::string FormatValue(const Json& v) {
  std::string out;
  FormatOne(&out, v, Spec{});
  return out;
}

std::string Sprint(const std::vector<Json>& args) {
  std::string out;
  bool prev_string = false;
  for (size_t i = 0; i < args.size(); ++i) {
    bool is_string = args[i].is_string();
    if (i > 0 && !is_string && !prev_string) out.push_back(' ');
    out += FormatValue(args[i]);
    prev_string = is_string;
  }
  return out;
}

std::string Sprintln(const std::vector<Json>& args) {
  std::string out;
  for (size_t i = 0; i < args.size(); ++i) {
    if (i > 0) out.push_back(' ');
    out += FormatValue(args[i]);
  }
  out.push_back('\n');
  return out;
}

std::string Sprintf(std::string_view format, const std::vector<Json>& args, size_t max_size) {
  constexpr int kTooLarge = 1000000;
  std::string out;
  size_t argn = 0;
  size_t i = 0;
  const size_t end = format.size();
  while (i < end) {
    if (out.size() > max_size) return out;
    size_t pct = format.find('%', i);
    if (pct == std::string_view::npos) pct = end;
    out.append(format.substr(i, pct - i));
    if (pct >= end) break;
    i = pct + 1;
    Spec sp;
    for (; i < end; ++i) {
      char c = format[i];
      if (c == '-') {
        sp.minus = true;
        sp.zero = false;
      } else if (c == '+') {
        sp.plus = true;
      } else if (c == '#') {
        sp.sharp = true;
      } else if (c == ' ') {
        sp.space = true;
      } else if (c == '0') {
        sp.zero = !sp.minus;
      } else {
        break;
      }
    }
    bool bad_width = false, bad_prec = false;
    auto parse_num = [&](int* dst, bool* bad) {
      if (i < end && format[i] == '*') {
        ++i;
        if (argn < args.size() && args[argn].is_number_integer()) {
          int64_t w = args[argn].get<int64_t>();
          if (w > kTooLarge || w < -kTooLarge) {
            *bad = true;
          } else if (w < 0 && dst == &sp.width) {
            sp.minus = true;  // A negative '*' width means left-justify.
            sp.zero = false;
            *dst = static_cast<int>(-w);
          } else {
            *dst = w < 0 ? -1 : static_cast<int>(w);
          }
        } else {
          *bad = true;
        }
        ++argn;
        return;
      }
      if (i < end && format[i] >= '0' && format[i] <= '9') {
        int64_t n = 0;
        while (i < end && format[i] >= '0' && format[i] <= '9') {
          n = n * 10 + (format[i] - '0');
          if (n > kTooLarge) *bad = true;
          ++i;
        }
        if (!*bad) *dst = static_cast<int>(n);
      }
    };
    parse_num(&sp.width, &bad_width);
    if (i < end && format[i] == '.') {
      ++i;
      sp.prec = 0;
      parse_num(&sp.prec, &bad_prec);
    }
    if (bad_width) out += "%!(BADWIDTH)";
    if (bad_prec) out += "%!(BADPREC)";
    if (i >= end) {
      out += "%!(NOVERB)";
      break;
    }
    // The verb is one rune.
    size_t vl = Utf8Len(format, i);
    if (vl == 0) vl = 1;
    std::string_view verb = format.substr(i, vl);
    i += vl;
    if (verb == "%") {
      out.push_back('%');
      continue;
    }
    if (argn >= args.size()) {
      out += "%!";
      out += verb;
      out += "(MISSING)";
      continue;
    }
    if (vl > 1) {
      out += "%!";
      out += verb;
      out += "(" + GoTypeName(args[argn]) + "=" + FormatValue(args[argn]) + ")";
      ++argn;
      continue;
    }
    sp.verb = verb[0];
    FormatOne(&out, args[argn++], sp);
  }
  if (argn < args.size()) {
    out += "%!(EXTRA ";
    for (size_t k = argn; k < args.size(); ++k) {
      if (k > argn) out += ", ";
      if (args[k].is_null()) {
        out += "<nil>";
      } else {
        out += GoTypeName(args[k]) + "=" + FormatValue(args[k]);
      }
    }
    out += ")";
  }
  return out;
}

}  // namespace strata::format
