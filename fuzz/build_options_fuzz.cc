// libFuzzer entry: the CSV option lists of `strata build` (-o/--output, --cache-to,
// --cache-from, and the CSV reader RUN --mount shares) must never crash, and what they accept
// must be self-consistent.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "engine/build_output.h"
#include "util/csv.h"

namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace strata;
  std::string s(reinterpret_cast<const char*>(data), size);

  auto fields = ReadCsvRecord(s, "fuzz");
  if (fields && s.find_first_of("\"\r\n") == std::string::npos) {
    // Without quotes or line ends a record is its fields joined by commas.
    std::string joined;
    for (size_t i = 0; i < fields->size(); ++i) joined += (i ? "," : "") + (*fields)[i];
    Check(joined == s);
  }

  auto out = engine::ParseBuildOutputs({s});
  if (out) {
    using T = engine::BuildExport::Type;
    if (out->type == T::kLocal || out->type == T::kTar || out->type == T::kOci) {
      Check(!out->dest.empty());
    }
    Check(out->type != T::kImage);
  }
  auto to = engine::ParseCacheTo({s});
  if (to && *to && (*to)->type == engine::CacheExchange::Type::kRegistry) {
    Check(!(*to)->ref.empty());
  }
  auto from = engine::ParseCacheFrom({s});
  if (from) {
    Check(from->size() == (s.empty() ? 0u : 1u));
    if (s.empty()) return 0;
    Check(!(*from)[0].ref.empty());
  }
  return 0;
}
