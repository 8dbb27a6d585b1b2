// Byte streams: Reader and Writer are the seams through which blobs, layer
// tars and archives flow, so data streams instead of being buffered whole.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "util/result.h"
#include "util/unique_fd.h"

namespace strata {

class Reader {
 public:
  virtual ~Reader() = default;
  // Reads up to n bytes; returns 0 only at end of stream.
  virtual Result<size_t> Read(void* buf, size_t n) = 0;
};

class Writer {
 public:
  virtual ~Writer() = default;
  // Writes all n bytes or fails.
  virtual Status Write(const void* buf, size_t n) = 0;
  Status Write(std::string_view s) { return Write(s.data(), s.size()); }
};

// Reads from a borrowed fd (not closed).
class FdReader : public Reader {
 public:
  explicit FdReader(int fd) : fd_(fd) {}
  Result<size_t> Read(void* buf, size_t n) override;

 private:
  int fd_;
};

// Reads from an fd it owns (closed with the reader).
class OwnedFdReader : public Reader {
 public:
  explicit OwnedFdReader(UniqueFd fd) : fd_(std::move(fd)), r_(fd_.get()) {}
  Result<size_t> Read(void* buf, size_t n) override { return r_.Read(buf, n); }

 private:
  UniqueFd fd_;
  FdReader r_;
};

// Writes to a borrowed fd (not closed).
class FdWriter : public Writer {
 public:
  explicit FdWriter(int fd) : fd_(fd) {}
  using Writer::Write;
  Status Write(const void* buf, size_t n) override;

 private:
  int fd_;
};

class StringReader : public Reader {
 public:
  explicit StringReader(std::string_view data) : data_(data) {}
  Result<size_t> Read(void* buf, size_t n) override;

 private:
  std::string_view data_;
  size_t pos_ = 0;
};

class StringWriter : public Writer {
 public:
  using Writer::Write;
  Status Write(const void* buf, size_t n) override {
    out_.append(static_cast<const char*>(buf), n);
    return Ok();
  }
  const std::string& str() const { return out_; }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

// Discards bytes, counting them.
class CountingWriter : public Writer {
 public:
  using Writer::Write;
  Status Write(const void*, size_t n) override {
    count_ += n;
    return Ok();
  }
  uint64_t count() const { return count_; }

 private:
  uint64_t count_ = 0;
};

// Reads at most `limit` bytes from an underlying reader.
class LimitedReader : public Reader {
 public:
  LimitedReader(Reader& r, uint64_t limit) : r_(r), left_(limit) {}
  Result<size_t> Read(void* buf, size_t n) override;

 private:
  Reader& r_;
  uint64_t left_;
};

inline constexpr size_t kCopyBufferSize = 1 << 20;

// Copies r to w until EOF; returns the number of bytes copied.
Result<uint64_t> Copy(Reader& r, Writer& w);
// Reads everything (bounded by max_bytes; larger input is an error).
Result<std::string> ReadAll(Reader& r, size_t max_bytes);

}  // namespace strata
