// Go's text/template (the subset docker users write in --format) evaluated over JSON values,
// with docker's template functions (json, split, join, title, lower, upper, pad, truncate).
#pragma once

#include <cstddef>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

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

 private:
  explicit Template(std::shared_ptr<const Node> root) : root_(std::move(root)) {}
  std::shared_ptr<const Node> root_;
};

// docker's `json` template function: json.Marshal with HTML escaping off, no trailing newline.
std::string DockerJson(const Json& v);

}  // namespace strata::format
