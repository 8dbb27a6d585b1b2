// JSON helpers shared by the image value types: Go encoding/json-compatible output (compact,
// HTML-escaped, keys in a given order) and readers/writers that keep unknown fields.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/result.h"

namespace strata::image {

// Object keys keep their insertion (or source) order, as Go's struct fields do.
using OrderedJson = nlohmann::ordered_json;

// Serializes like Go's json.Marshal: no whitespace, keys in the object's order, "<", ">", "&",
// U+2028 and U+2029 escaped as \u003c…, \b \f \n \r \t short escapes, other control
// characters as \u00XX, invalid UTF-8 replaced by \ufffd, floats formatted as Go formats
// float64 (shortest round-trip; exponent form below 1e-6 and from 1e21).
std::string GoMarshal(const OrderedJson& v);
// The same for a json value whose objects are key-sorted (nlohmann::json), which is what Go
// produces for maps.
std::string GoMarshal(const nlohmann::json& v);

// Parses a JSON document that must be an object. Nesting deeper than kMaxJsonDepth is
// rejected before parsing so hostile input cannot exhaust the stack.
inline constexpr int kMaxJsonDepth = 1000;
Result<OrderedJson> ParseJsonObject(std::string_view bytes, std::string_view what);

// The source object a value was parsed from. Kept so re-serializing an unchanged value
// reproduces the input's key order and representation ("Cmd": null stays null); it never
// takes part in ==, so values compare by content.
struct JsonSource {
  OrderedJson object;
  bool operator==(const JsonSource&) const { return true; }
};

// Reads the known fields of one object, type-checking each; whatever is left unread is
// returned by Finish() as the unknown fields. Errors name the field: "<what>.<field>: …".
class FieldReader {
 public:
  FieldReader(const OrderedJson& obj, std::string what);

  bool Has(const char* key) const;
  // Marks the key known and returns its value, or nullptr if absent.
  const OrderedJson* Take(const char* key);
  Status String(const char* key, std::string* out);
  Status Int64(const char* key, int64_t* out);
  Status Bool(const char* key, bool* out);
  // Array of strings; null is empty. With accept_string, a plain string is a one-element
  // list (docker's strslice.StrSlice).
  Status StringList(const char* key, std::vector<std::string>* out, bool accept_string = false);
  Status StringMap(const char* key, std::map<std::string, std::string>* out);
  // A Go map[string]struct{}: an object whose keys are the set members.
  Status StringSet(const char* key, std::set<std::string>* out);
  Status Raw(const char* key, OrderedJson* out);

  std::string FieldName(const char* key) const { return what_ + "." + key; }
  Error TypeError(const char* key, std::string_view want) const;
  // Unknown fields, in source order.
  OrderedJson Finish() const;

 private:
  const OrderedJson& obj_;
  std::string what_;
  std::set<std::string, std::less<>> known_;
};

// Builds an object from known fields (given in the Go struct's declaration order) plus the
// unknown fields, laid out as the source was: source keys first in source order, a source
// value reused when the field still means the same, then new known fields, then new extras.
class FieldWriter {
 public:
  // Always-present field.
  void Set(const char* key, OrderedJson v) { fields_.emplace_back(key, std::move(v)); }
  // omitempty: absent when empty.
  void SetString(const char* key, const std::string& v, bool omitempty = true);
  void SetInt64(const char* key, int64_t v, bool omitempty = true);
  void SetBool(const char* key, bool v, bool omitempty = true);
  void SetStringList(const char* key, const std::vector<std::string>& v, bool omitempty = true);
  void SetStringMap(const char* key, const std::map<std::string, std::string>& v,
                    bool omitempty = true);
  void SetStringSet(const char* key, const std::set<std::string>& v, bool omitempty = true);
  // Marks a known field as absent (so a source value of it is dropped unless empty-like).
  void Omit(const char* key) { fields_.emplace_back(key, std::nullopt); }

  OrderedJson Build(const OrderedJson& extra, const JsonSource& source) const;

 private:
  std::vector<std::pair<std::string, std::optional<OrderedJson>>> fields_;
};

namespace internal {
// Shared by Manifest and Index parsing: schemaVersion must be 2 (1 is unimplemented), the
// mediaType must be of the kind `is_kind` accepts and agree with `expected` if given.
Status CheckDocumentHeader(FieldReader& r, std::string_view kind, bool (*is_kind)(std::string_view),
                           int64_t* schema_version, std::string* media_type,
                           std::string_view expected);
}  // namespace internal

}  // namespace strata::image
