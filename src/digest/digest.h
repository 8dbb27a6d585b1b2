// Digest: a content address "algorithm:hex" (OCI image spec, descriptor.md).
// Only sha256 is accepted for content strata stores; sha512 parses for validation.
#pragma once

#include <compare>
#include <string>
#include <string_view>

#include "util/result.h"

namespace strata::digest {

class Digest {
 public:
  Digest() = default;
  // Parses "sha256:<64 lowercase hex>"; unknown algorithms and malformed hex
  // are InvalidArgument errors naming the input.
  static Result<Digest> Parse(std::string_view s);
  // Builds from a raw 32-byte sha256 hash.
  static Digest FromSha256Bytes(const unsigned char* bytes);

  const std::string& algorithm() const { return algorithm_; }
  const std::string& hex() const { return hex_; }
  std::string str() const { return empty() ? std::string() : algorithm_ + ":" + hex_; }
  // Docker's short ID: the first 12 hex characters.
  std::string Short() const { return hex_.substr(0, 12); }
  bool empty() const { return hex_.empty(); }

  auto operator<=>(const Digest&) const = default;

 private:
  std::string algorithm_;
  std::string hex_;
};

// Digest of an in-memory byte string.
Digest Sha256Of(std::string_view data);

}  // namespace strata::digest
