// libFuzzer entry: manifest, index and config parsing must never crash on hostile JSON, and
// anything accepted must re-serialize to bytes that parse back to an equal value.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "image/config.h"
#include "image/index.h"
#include "image/manifest.h"

namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

template <typename T>
void RoundTrip(std::string_view s) {
  auto v = T::Parse(s);
  if (!v) return;
  std::string out = v->Marshal();
  auto back = T::Parse(out);
  Check(back.has_value());
  Check(*back == *v);
  Check(back->Marshal() == out);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace strata::image;
  std::string_view s(reinterpret_cast<const char*>(data), size);
  RoundTrip<Manifest>(s);
  RoundTrip<Index>(s);
  RoundTrip<Config>(s);
  auto mt = DetectMediaType(s);
  (void)mt;
  if (auto idx = Index::Parse(s)) {
    (void)idx->Select(PlatformMatcher(HostPlatform()));
  }
  return 0;
}
