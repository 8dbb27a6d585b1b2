// Streaming sha256: Hasher, and Reader/Writer wrappers that hash what passes
// through them, so digests are verified while data streams.
#pragma once

#include <openssl/evp.h>

#include <cstdint>
#include <memory>

#include "digest/digest.h"
#include "util/io.h"

namespace strata::digest {

class Hasher {
 public:
  Hasher();
  ~Hasher();
  Hasher(Hasher&&) noexcept;
  Hasher& operator=(Hasher&&) noexcept;
  void Update(const void* data, size_t n);
  // The digest of everything so far (the hasher can keep going).
  Digest Sum() const;
  uint64_t size() const { return size_; }

 private:
  EVP_MD_CTX* ctx_;
  uint64_t size_ = 0;
};

// Passes reads through, hashing every byte read.
class HashingReader : public Reader {
 public:
  explicit HashingReader(Reader& r) : r_(r) {}
  Result<size_t> Read(void* buf, size_t n) override;
  Digest Sum() const { return h_.Sum(); }
  uint64_t size() const { return h_.size(); }

 private:
  Reader& r_;
  Hasher h_;
};

// Passes writes through (to a sink, or nowhere), hashing every byte.
class HashingWriter : public Writer {
 public:
  HashingWriter() = default;
  explicit HashingWriter(Writer& w) : w_(&w) {}
  using Writer::Write;
  Status Write(const void* buf, size_t n) override;
  Digest Sum() const { return h_.Sum(); }
  uint64_t size() const { return h_.size(); }

 private:
  Writer* w_ = nullptr;
  Hasher h_;
};

}  // namespace strata::digest
