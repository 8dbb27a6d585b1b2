#include "util/io.h"

#include <cerrno>
#include <cstring>
#include <memory>

namespace strata {

Result<size_t> FdReader::Read(void* buf, size_t n) {
  for (;;) {
    ssize_t r = ::read(fd_, buf, n);
    if (r >= 0) return static_cast<size_t>(r);
    if (errno != EINTR) return ErrnoError("read");
  }
}

Status FdWriter::Write(const void* buf, size_t n) {
  const char* p = static_cast<const char*>(buf);
  while (n > 0) {
    ssize_t w = ::write(fd_, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("write");
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return Ok();
}

Result<size_t> StringReader::Read(void* buf, size_t n) {
  size_t k = std::min(n, data_.size() - pos_);
  std::memcpy(buf, data_.data() + pos_, k);
  pos_ += k;
  return k;
}

Result<size_t> LimitedReader::Read(void* buf, size_t n) {
  if (left_ == 0) return size_t{0};
  if (n > left_) n = static_cast<size_t>(left_);
  auto r = r_.Read(buf, n);
  if (r) left_ -= *r;
  return r;
}

Result<uint64_t> Copy(Reader& r, Writer& w) {
  auto buf = std::make_unique<char[]>(kCopyBufferSize);
  uint64_t total = 0;
  for (;;) {
    STRATA_ASSIGN_OR_RETURN(size_t n, r.Read(buf.get(), kCopyBufferSize));
    if (n == 0) return total;
    STRATA_TRY(w.Write(buf.get(), n));
    total += n;
  }
}

Result<std::string> ReadAll(Reader& r, size_t max_bytes) {
  std::string out;
  char buf[65536];
  for (;;) {
    STRATA_ASSIGN_OR_RETURN(size_t n, r.Read(buf, sizeof buf));
    if (n == 0) return out;
    if (out.size() + n > max_bytes) {
      return InvalidArgument("input larger than " + std::to_string(max_bytes) + " bytes");
    }
    out.append(buf, n);
  }
}

}  // namespace strata
