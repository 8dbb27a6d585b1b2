// libFuzzer entry: reference parsing (ParseNormalizedNamed and friends) must never crash, and
// what it accepts must be self-consistent: the canonical and familiar forms parse back to the
// same reference.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "image/reference.h"

namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace strata::image;
  std::string_view s(reinterpret_cast<const char*>(data), size);

  auto strict = ParseReference(s);
  if (strict) Check(strict->String() == s);

  auto any = ParseAnyReference(s);
  (void)any;

  auto r = ParseNormalizedNamed(s);
  if (!r) {
    Check(!r.error().message.empty());
    return 0;
  }
  Check(r->HasName());
  // No domain check: like Go, "foo_bar.com/x" looks like a host to splitDockerDomain but is
  // not one to the grammar, and parses with an empty domain.
  Check(r->Path().size() <= kRepositoryNameTotalLengthMax);
  auto again = ParseNormalizedNamed(r->String());
  Check(again.has_value() && *again == *r);
  std::string familiar = r->FamiliarString();
  // Like Go's, the familiar form is ambiguous when a Docker Hub namespace looks like a host
  // ("docker.io/a.b/c" -> "a.b/c"), or when it is a 64-hex ID; otherwise it must round-trip.
  std::string_view first = std::string_view(familiar).substr(0, familiar.find('/'));
  bool ambiguous = IsIdentifier(familiar) ||
                   (familiar.find('/') != std::string::npos &&
                    (first.find_first_of(".:") != std::string_view::npos || first == "localhost"));
  if (!ambiguous) {
    auto fam = ParseNormalizedNamed(familiar);
    Check(fam.has_value() && *fam == *r);
  }
  Reference tagged = TagNameOnly(*r);
  Check(tagged.HasTag() || tagged.HasDigest());
  auto docker = ParseDockerRef(s);
  Check(docker.has_value());
  return 0;
}
