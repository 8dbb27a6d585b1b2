#include "digest/digest.h"

#include <openssl/sha.h>

namespace strata::digest {
namespace {

bool IsLowerHex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

Result<Digest> Digest::Parse(std::string_view s) {
  auto colon = s.find(':');
  if (colon == std::string_view::npos || colon == 0) {
    return InvalidArgument("invalid digest \"" + std::string(s) + "\": missing algorithm");
  }
  std::string_view alg = s.substr(0, colon), hex = s.substr(colon + 1);
  size_t want = 0;
  if (alg == "sha256") {
    want = 64;
  } else if (alg == "sha512") {
    want = 128;
  } else {
    return InvalidArgument("invalid digest \"" + std::string(s) + "\": unsupported algorithm \"" +
                           std::string(alg) + "\"");
  }
  if (hex.size() != want || !IsLowerHex(hex)) {
    return InvalidArgument("invalid digest \"" + std::string(s) +
                           "\": invalid checksum digest format");
  }
  Digest d;
  d.algorithm_ = std::string(alg);
  d.hex_ = std::string(hex);
  return d;
}

Digest Digest::FromSha256Bytes(const unsigned char* bytes) {
  static const char kHex[] = "0123456789abcdef";
  Digest d;
  d.algorithm_ = "sha256";
  d.hex_.resize(64);
  for (int i = 0; i < 32; ++i) {
    d.hex_[2 * i] = kHex[bytes[i] >> 4];
    d.hex_[2 * i + 1] = kHex[bytes[i] & 15];
  }
  return d;
}

Digest Sha256Of(std::string_view data) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), md);
  return Digest::FromSha256Bytes(md);
}

}  // namespace strata::digest
