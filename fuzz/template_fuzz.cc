// libFuzzer target: parse arbitrary text as a template and execute it over a fixed document.
// The engine itself bounds nesting depth, steps and output, so no input may crash or hang it.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "format/table.h"
#include "format/template.h"

namespace {

const strata::format::Json& Doc() {
  static const auto kDoc = strata::format::Json::parse(R"({
    "ID": "sha256:0123456789abcdef", "Repository": "alpine", "Tag": "latest",
    "Size": 7341217, "Ratio": 0.25, "True": true, "Null": null, "Empty": "",
    "List": ["a", "b", "c"], "Nums": [1, 2, 3, -4],
    "Labels": {"a": "1", "b.c": "2"}, "Nested": {"Inner": {"Value": [{"k": "v"}]}}
  })");
  return kDoc;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  strata::format::Limits limits;
  limits.max_output = 1 << 20;
  limits.max_steps = 200000;
  auto t = strata::format::Template::Parse(text, limits);
  if (t) {
    strata::format::ExecuteOptions opts;
    opts.limits = limits;
    (void)t->Execute(Doc(), opts);
    opts.header_functions = true;
    (void)t->Execute(Doc(), opts);
  }
  if (size < 512) {
    strata::format::ExecuteOptions opts;
    opts.limits = limits;
    (void)strata::format::RenderRows(text, strata::format::Json{{"ID", "IMAGE ID"}}, {Doc(), Doc()},
                                     "", opts);
  }
  return 0;
}
