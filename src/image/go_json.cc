#include "image/go_json.h"

#include <charconv>
#include <cmath>

namespace strata::image {
namespace {

constexpr char kHex[] = "0123456789abcdef";

// Decodes one UTF-8 sequence as Go's utf8.DecodeRuneInString does: returns the code point
// and its length, or -1 and length 1 for an invalid byte.
int32_t DecodeRune(std::string_view s, size_t i, size_t* len) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  unsigned char c = b(0);
  size_t n = s.size() - i;
  *len = 1;
  if (c < 0x80) return c;
  auto cont = [&](size_t k, unsigned char lo, unsigned char hi) {
    return k < n && b(k) >= lo && b(k) <= hi;
  };
  if (c >= 0xC2 && c <= 0xDF) {
    if (!cont(1, 0x80, 0xBF)) return -1;
    *len = 2;
    return ((c & 0x1F) << 6) | (b(1) & 0x3F);
  }
  if (c >= 0xE0 && c <= 0xEF) {
    unsigned char lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
    if (!cont(1, lo, hi) || !cont(2, 0x80, 0xBF)) return -1;
    *len = 3;
    return ((c & 0x0F) << 12) | ((b(1) & 0x3F) << 6) | (b(2) & 0x3F);
  }
  if (c >= 0xF0 && c <= 0xF4) {
    unsigned char lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
    if (!cont(1, lo, hi) || !cont(2, 0x80, 0xBF) || !cont(3, 0x80, 0xBF)) return -1;
    *len = 4;
    return ((c & 0x07) << 18) | ((b(1) & 0x3F) << 12) | ((b(2) & 0x3F) << 6) | (b(3) & 0x3F);
  }
  return -1;
}

void AppendString(std::string& out, std::string_view s) {
  out += '"';
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      switch (c) {
        case '"':
          out += "\\\"";
          break;
        case '\\':
          out += "\\\\";
          break;
        case '\b':
          out += "\\b";
          break;
        case '\f':
          out += "\\f";
          break;
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        case '\t':
          out += "\\t";
          break;
        case '<':
        case '>':
        case '&':
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 15];
          break;
        default:
          if (c < 0x20) {
            out += "\\u00";
            out += kHex[c >> 4];
            out += kHex[c & 15];
          } else {
            out += static_cast<char>(c);
          }
      }
      ++i;
      continue;
    }
    size_t len;
    int32_t r = DecodeRune(s, i, &len);
    if (r < 0) {
      out += "\\ufffd";
    } else if (r == 0x2028 || r == 0x2029) {
      out += r == 0x2028 ? "\\u2028" : "\\u2029";
    } else {
      out.append(s.substr(i, len));
    }
    i += len;
  }
  out += '"';
}

void AppendFloat(std::string& out, double f) {
  if (!std::isfinite(f)) {
    out += "null";  // Go refuses to encode these; JSON has no spelling for them.
    return;
  }
  char buf[64];
  double a = std::fabs(f);
  bool exp = a != 0 && (a < 1e-6 || a >= 1e21);
  auto res = std::to_chars(buf, buf + sizeof(buf), f,
                           exp ? std::chars_format::scientific : std::chars_format::fixed);
  std::string s(buf, res.ptr);
  if (exp) {
    // Go writes e-7 where C writes e-07.
    size_t n = s.size();
    if (n >= 4 && s[n - 4] == 'e' && s[n - 3] == '-' && s[n - 2] == '0') s.erase(n - 2, 1);
  }
  out += s;
}

template <typename J>
void Append(std::string& out, const J& v) {
  switch (v.type()) {
    case nlohmann::json::value_t::null:
    case nlohmann::json::value_t::discarded:
      out += "null";
      break;
    case nlohmann::json::value_t::boolean:
      out += v.template get<bool>() ? "true" : "false";
      break;
    case nlohmann::json::value_t::number_integer:
      out += std::to_string(v.template get<int64_t>());
      break;
    case nlohmann::json::value_t::number_unsigned:
      out += std::to_string(v.template get<uint64_t>());
      break;
    case nlohmann::json::value_t::number_float:
      AppendFloat(out, v.template get<double>());
      break;
    case nlohmann::json::value_t::string:
      AppendString(out, v.template get_ref<const std::string&>());
      break;
    case nlohmann::json::value_t::binary:
      out += "null";
      break;
    case nlohmann::json::value_t::array: {
      out += '[';
      bool first = true;
      for (const auto& e : v) {
        if (!first) out += ',';
        first = false;
        Append(out, e);
      }
      out += ']';
      break;
    }
    case nlohmann::json::value_t::object: {
      out += '{';
      bool first = true;
      for (auto it = v.begin(); it != v.end(); ++it) {
        if (!first) out += ',';
        first = false;
        AppendString(out, it.key());
        out += ':';
        Append(out, it.value());
      }
      out += '}';
      break;
    }
  }
}

// Nesting depth of a JSON text, counted outside strings; parsing fails later if the text
// is malformed, this only bounds recursion.
int MaxDepth(std::string_view s) {
  int depth = 0, max = 0;
  bool in_string = false, escape = false;
  for (char c : s) {
    if (in_string) {
      if (escape) {
        escape = false;
      } else if (c == '\\') {
        escape = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max) max = depth;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return max;
}

bool IsEmptyLike(const OrderedJson& v) {
  switch (v.type()) {
    case OrderedJson::value_t::null:
      return true;
    case OrderedJson::value_t::string:
      return v.get_ref<const std::string&>().empty();
    case OrderedJson::value_t::boolean:
      return !v.get<bool>();
    case OrderedJson::value_t::number_integer:
    case OrderedJson::value_t::number_unsigned:
    case OrderedJson::value_t::number_float:
      return v.get<double>() == 0;
    case OrderedJson::value_t::array:
    case OrderedJson::value_t::object:
      return v.empty();
    default:
      return false;
  }
}

// Equality where object key order does not matter (as for Go maps), so a source value that
// only differs in key order from the re-built one counts as unchanged and is kept.
bool SameValue(const OrderedJson& a, const OrderedJson& b) {
  if (a.is_object() && b.is_object()) {
    if (a.size() != b.size()) return false;
    for (auto it = a.begin(); it != a.end(); ++it) {
      auto other = b.find(it.key());
      if (other == b.end() || !SameValue(it.value(), *other)) return false;
    }
    return true;
  }
  if (a.is_array() && b.is_array()) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
      if (!SameValue(a[i], b[i])) return false;
    }
    return true;
  }
  return a == b;
}

}  // namespace

std::string GoMarshal(const OrderedJson& v) {
  std::string out;
  Append(out, v);
  return out;
}

std::string GoMarshal(const nlohmann::json& v) {
  std::string out;
  Append(out, v);
  return out;
}

Result<OrderedJson> ParseJsonObject(std::string_view bytes, std::string_view what) {
  if (MaxDepth(bytes) > kMaxJsonDepth) {
    return InvalidArgument("invalid " + std::string(what) + ": JSON nested too deeply");
  }
  OrderedJson j;
  try {
    j = OrderedJson::parse(bytes.begin(), bytes.end());
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgument("invalid " + std::string(what) + ": " + e.what());
  }
  if (!j.is_object()) {
    return InvalidArgument("invalid " + std::string(what) + ": not a JSON object");
  }
  return j;
}

FieldReader::FieldReader(const OrderedJson& obj, std::string what)
    : obj_(obj), what_(std::move(what)) {}

bool FieldReader::Has(const char* key) const { return obj_.contains(key); }

const OrderedJson* FieldReader::Take(const char* key) {
  auto it = obj_.find(key);
  if (it == obj_.end()) return nullptr;
  known_.insert(key);
  return &*it;
}

Error FieldReader::TypeError(const char* key, std::string_view want) const {
  return InvalidArgument(FieldName(key) + ": expected " + std::string(want));
}

Status FieldReader::String(const char* key, std::string* out) {
  const OrderedJson* v = Take(key);
  if (v == nullptr || v->is_null()) return Ok();
  if (!v->is_string()) return TypeError(key, "a string");
  *out = v->get<std::string>();
  return Ok();
}

Status FieldReader::Int64(const char* key, int64_t* out) {
  const OrderedJson* v = Take(key);
  if (v == nullptr || v->is_null()) return Ok();
  if (v->is_number_integer() && !v->is_number_unsigned()) {
    *out = v->get<int64_t>();
  } else if (v->is_number_unsigned()) {
    uint64_t u = v->get<uint64_t>();
    if (u > static_cast<uint64_t>(INT64_MAX)) return TypeError(key, "a 64-bit integer");
    *out = static_cast<int64_t>(u);
  } else {
    return TypeError(key, "an integer");
  }
  return Ok();
}

Status FieldReader::Bool(const char* key, bool* out) {
  const OrderedJson* v = Take(key);
  if (v == nullptr || v->is_null()) return Ok();
  if (!v->is_boolean()) return TypeError(key, "a boolean");
  *out = v->get<bool>();
  return Ok();
}

Status FieldReader::StringList(const char* key, std::vector<std::string>* out, bool accept_string) {
  const OrderedJson* v = Take(key);
  out->clear();
  if (v == nullptr || v->is_null()) return Ok();
  if (accept_string && v->is_string()) {
    out->push_back(v->get<std::string>());
    return Ok();
  }
  if (!v->is_array()) return TypeError(key, "an array of strings");
  for (const auto& e : *v) {
    if (!e.is_string()) return TypeError(key, "an array of strings");
    out->push_back(e.get<std::string>());
  }
  return Ok();
}

Status FieldReader::StringMap(const char* key, std::map<std::string, std::string>* out) {
  const OrderedJson* v = Take(key);
  out->clear();
  if (v == nullptr || v->is_null()) return Ok();
  if (!v->is_object()) return TypeError(key, "an object of strings");
  for (auto it = v->begin(); it != v->end(); ++it) {
    if (!it.value().is_string()) return TypeError(key, "an object of strings");
    (*out)[it.key()] = it.value().get<std::string>();
  }
  return Ok();
}

Status FieldReader::StringSet(const char* key, std::set<std::string>* out) {
  const OrderedJson* v = Take(key);
  out->clear();
  if (v == nullptr || v->is_null()) return Ok();
  if (!v->is_object()) return TypeError(key, "an object");
  for (auto it = v->begin(); it != v->end(); ++it) out->insert(it.key());
  return Ok();
}

Status FieldReader::Raw(const char* key, OrderedJson* out) {
  const OrderedJson* v = Take(key);
  if (v != nullptr) *out = *v;
  return Ok();
}

OrderedJson FieldReader::Finish() const {
  OrderedJson extra = OrderedJson::object();
  for (auto it = obj_.begin(); it != obj_.end(); ++it) {
    if (!known_.contains(it.key())) extra[it.key()] = it.value();
  }
  return extra;
}

void FieldWriter::SetString(const char* key, const std::string& v, bool omitempty) {
  if (omitempty && v.empty()) return Omit(key);
  Set(key, v);
}

void FieldWriter::SetInt64(const char* key, int64_t v, bool omitempty) {
  if (omitempty && v == 0) return Omit(key);
  Set(key, v);
}

void FieldWriter::SetBool(const char* key, bool v, bool omitempty) {
  if (omitempty && !v) return Omit(key);
  Set(key, v);
}

void FieldWriter::SetStringList(const char* key, const std::vector<std::string>& v,
                                bool omitempty) {
  if (omitempty && v.empty()) return Omit(key);
  OrderedJson a = OrderedJson::array();
  for (const auto& s : v) a.push_back(s);
  Set(key, std::move(a));
}

void FieldWriter::SetStringMap(const char* key, const std::map<std::string, std::string>& v,
                               bool omitempty) {
  if (omitempty && v.empty()) return Omit(key);
  OrderedJson o = OrderedJson::object();
  for (const auto& [k, s] : v) o[k] = s;  // std::map order = Go's sorted map keys
  Set(key, std::move(o));
}

void FieldWriter::SetStringSet(const char* key, const std::set<std::string>& v, bool omitempty) {
  if (omitempty && v.empty()) return Omit(key);
  OrderedJson o = OrderedJson::object();
  for (const auto& k : v) o[k] = OrderedJson::object();
  Set(key, std::move(o));
}

OrderedJson FieldWriter::Build(const OrderedJson& extra, const JsonSource& source) const {
  OrderedJson out = OrderedJson::object();
  auto find_field = [&](const std::string& key) {
    for (const auto& f : fields_) {
      if (f.first == key) return &f;
    }
    return static_cast<const std::pair<std::string, std::optional<OrderedJson>>*>(nullptr);
  };
  std::set<std::string> done;
  if (source.object.is_object()) {
    for (auto it = source.object.begin(); it != source.object.end(); ++it) {
      const std::string& key = it.key();
      if (const auto* f = find_field(key)) {
        if (f->second) {
          out[key] = SameValue(*f->second, it.value()) ? it.value() : *f->second;
        } else if (IsEmptyLike(it.value())) {
          out[key] = it.value();  // still empty: keep the source's spelling (null, [], …)
        }
        done.insert(key);
      } else if (extra.is_object() && extra.contains(key)) {
        out[key] = extra[key];
        done.insert(key);
      }
    }
  }
  for (const auto& [key, value] : fields_) {
    if (value && !done.contains(key)) out[key] = *value;
  }
  if (extra.is_object()) {
    for (auto it = extra.begin(); it != extra.end(); ++it) {
      if (!done.contains(it.key()) && !out.contains(it.key())) out[it.key()] = it.value();
    }
  }
  return out;
}

}  // namespace strata::image
