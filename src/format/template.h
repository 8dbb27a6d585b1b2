// Go's text/template (the subset docker users write in --format) evaluated over JSON values,
// with docker's template functions (json, split, join, title, lower, upper, pad, truncate).
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/io.h"
#include "util/result.h"

namespace strata::format {

using Json = nlohmann::json;

struct Node;

// Bounds that keep a hostile template from exhausting memory or time.
struct Limits {
  size_t max_depth = 100;         // nesting of blocks, parentheses and pipelines
  size_t max_output = 64 << 20;   // bytes written by one Execute
  size_t max_steps = 10'000'000;  // evaluated nodes (bounds `range 1000000000`)
};

struct ExecuteOptions {
  // Use docker's HeaderFunctions: json/split/join/title/lower/upper/truncate return their
  // first argument unchanged, so a table header shows the column titles intact.
  bool header_functions = false;
  Limits limits;
  // How a field missing from an object evaluates. Go gives <no value> for a
  // map; docker's typed contexts fail instead: with root_type set, a field
  // missing at the top level is "can't evaluate field X in type <root_type>";
  // with missing_key_error, a missing key anywhere else is
  // "map has no entry for key \"X\"" (text/template's missingkey=error).
  std::string root_type;
  bool missing_key_error = false;
  // Objects that stand for Go maps inside a typed value (e.g. Config.Labels):
  // a missing key there is <no value> even with missing_key_error.
  std::function<bool(const Json&)> is_map;
  // How `json` encodes a value of the data, when the data is a view of a typed Go value whose
  // encoding differs from the view's (struct field order, nil slices as null). Returning
  // nullopt, or leaving it unset, gives DockerJson of the value.
  std::function<std::optional<std::string>(const Json&)> marshal;
  // How `{{.X}}` prints a value of the data that stands for a Go struct (printed {a b} in field
  // order) rather than a map; nullopt or unset gives FormatValue.
  std::function<std::optional<std::string>(const Json&)> print;
};

// A parsed template: parse once, execute many times. Copies share the immutable tree.
//
// Errors follow Go's text: parse errors are "template: :LINE: msg", execution errors
// "template: :LINE:COL: executing \"\" at <NODE>: msg". Data is viewed as Go would see a
// decoded value: objects are maps (a missing key yields <no value>), arrays are slices,
// integral numbers are ints, other numbers float64, null is nil.
class Template {
 public:
  static Result<Template> Parse(std::string_view text, const Limits& limits = {});

  Result<std::string> Execute(const Json& data, const ExecuteOptions& options = {}) const;
  // Streams the output to `out` in chunks; on error, part of the output may have been written.
  Status Execute(const Json& data, Writer& out, const ExecuteOptions& options = {}) const;

  // One piece of a plain template: literal text, or a top-level field access (`{{.ID}}`).
  struct Piece {
    bool is_field = false;
    std::string text;  // the literal text, or the field name
  };
  // The template as text and `{{.Field}}` actions, when that is all it is (docker's default
  // table formats are). Callers whose rows are strings can then render without JSON values;
  // anything else (functions, pipelines, nested fields, control flow) gives nullopt.
  std::optional<std::vector<Piece>> PlainFields() const;

 private:
  explicit Template(std::shared_ptr<const Node> root) : root_(std::move(root)) {}
  std::shared_ptr<const Node> root_;
};

// docker's `json` template function: json.Marshal with HTML escaping off, no trailing newline.
std::string DockerJson(const Json& v);
// The same with the keys in the object's own order (a Go struct's field order).
std::string DockerJson(const nlohmann::ordered_json& v);

}  // namespace strata::format
