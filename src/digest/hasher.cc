#include "digest/hasher.h"

#include <utility>

namespace strata::digest {

Hasher::Hasher() : ctx_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr); }
Hasher::~Hasher() {
  if (ctx_) EVP_MD_CTX_free(ctx_);
}
Hasher::Hasher(Hasher&& o) noexcept : ctx_(std::exchange(o.ctx_, nullptr)), size_(o.size_) {}
Hasher& Hasher::operator=(Hasher&& o) noexcept {
  if (this != &o) {
    if (ctx_) EVP_MD_CTX_free(ctx_);
    ctx_ = std::exchange(o.ctx_, nullptr);
    size_ = o.size_;
  }
  return *this;
}

void Hasher::Update(const void* data, size_t n) {
  EVP_DigestUpdate(ctx_, data, n);
  size_ += n;
}

Digest Hasher::Sum() const {
  EVP_MD_CTX* copy = EVP_MD_CTX_new();
  EVP_MD_CTX_copy_ex(copy, ctx_);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(copy, md, &len);
  EVP_MD_CTX_free(copy);
  return Digest::FromSha256Bytes(md);
}

Result<size_t> HashingReader::Read(void* buf, size_t n) {
  auto r = r_.Read(buf, n);
  if (r && *r > 0) h_.Update(buf, *r);
  return r;
}

Status HashingWriter::Write(const void* buf, size_t n) {
  h_.Update(buf, n);
  if (w_) return w_->Write(buf, n);
  return Ok();
}

}  // namespace strata::digest
