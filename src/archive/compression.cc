#include "archive/compression.h"

#include <archive.h>
#include <isa-l/igzip_lib.h>
#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

namespace strata::archive {
namespace {

constexpr size_t kInBufSize = 64 << 10;

// Replays bytes read ahead for detection, then continues with the source.
class PrefixReader : public Reader {
 public:
  PrefixReader(std::string prefix, Reader& r) : prefix_(std::move(prefix)), r_(r) {}
  Result<size_t> Read(void* buf, size_t n) override {
    if (pos_ < prefix_.size()) {
      size_t k = std::min(n, prefix_.size() - pos_);
      std::memcpy(buf, prefix_.data() + pos_, k);
      pos_ += k;
      return k;
    }
    return r_.Read(buf, n);
  }

 private:
  std::string prefix_;
  size_t pos_ = 0;
  Reader& r_;
};

// Owns a PrefixReader and the decompressor reading from it.
class OwningReader : public Reader {
 public:
  OwningReader(std::unique_ptr<Reader> src, std::unique_ptr<Reader> top)
      : src_(std::move(src)), top_(std::move(top)) {}
  Result<size_t> Read(void* buf, size_t n) override { return top_->Read(buf, n); }

 private:
  std::unique_ptr<Reader> src_;
  std::unique_ptr<Reader> top_;
};

std::string IsalError(int ret) {
  switch (ret) {
    case ISAL_INVALID_BLOCK:
      return "invalid deflate block";
    case ISAL_INVALID_SYMBOL:
      return "invalid deflate symbol";
    case ISAL_INVALID_LOOKBACK:
      return "invalid lookback distance";
    case ISAL_INVALID_WRAPPER:
      return "invalid gzip header";
    case ISAL_UNSUPPORTED_METHOD:
      return "invalid gzip header: unsupported compression method";
    case ISAL_INCORRECT_CHECKSUM:
      return "gzip checksum mismatch";
    case ISAL_NEED_DICT:
      return "deflate stream needs a dictionary";
    default:
      return "inflate error " + std::to_string(ret);
  }
}

// gzip via ISA-L, accepting concatenated members (as `gzip -d` and Go do).
class GzipReader : public Reader {
 public:
  explicit GzipReader(Reader& r) : r_(r), in_(kInBufSize), st_(new inflate_state) {
    isal_inflate_init(st_.get());
    st_->crc_flag = ISAL_GZIP;
  }

  Result<size_t> Read(void* buf, size_t n) override {
    if (done_ || n == 0) return size_t{0};
    n = std::min<size_t>(n, std::numeric_limits<uint32_t>::max());
    for (;;) {
      if (st_->block_state == ISAL_BLOCK_FINISH) {
        // A member ended: either the stream ends too, or another member follows.
        if (st_->avail_in == 0) {
          STRATA_ASSIGN_OR_RETURN(size_t got, Fill());
          if (got == 0) {
            done_ = true;
            return size_t{0};
          }
        }
        uint8_t* next_in = st_->next_in;
        uint32_t avail_in = st_->avail_in;
        isal_inflate_reset(st_.get());
        st_->crc_flag = ISAL_GZIP;
        st_->next_in = next_in;
        st_->avail_in = avail_in;
      }
      if (st_->avail_in == 0) {
        STRATA_ASSIGN_OR_RETURN(size_t got, Fill());
        if (got == 0) return DataLoss("gzip: unexpected EOF");
      }
      st_->next_out = static_cast<uint8_t*>(buf);
      st_->avail_out = static_cast<uint32_t>(n);
      uint32_t avail_in_before = st_->avail_in;
      int ret = isal_inflate(st_.get());
      if (ret < 0 || ret == ISAL_NEED_DICT) return DataLoss("gzip: " + IsalError(ret));
      size_t produced = n - st_->avail_out;
      if (produced > 0) return produced;
      if (st_->avail_in == avail_in_before && st_->avail_in > 0 &&
          st_->block_state != ISAL_BLOCK_FINISH) {
        return DataLoss("gzip: decoder made no progress");
      }
    }
  }

 private:
  Result<size_t> Fill() {
    STRATA_ASSIGN_OR_RETURN(size_t got, r_.Read(in_.data(), in_.size()));
    st_->next_in = in_.data();
    st_->avail_in = static_cast<uint32_t>(got);
    return got;
  }

  Reader& r_;
  std::vector<uint8_t> in_;
  std::unique_ptr<inflate_state> st_;
  bool done_ = false;
};

class ZstdReader : public Reader {
 public:
  explicit ZstdReader(Reader& r) : r_(r), in_buf_(ZSTD_DStreamInSize()), ctx_(ZSTD_createDCtx()) {}
  ~ZstdReader() override { ZSTD_freeDCtx(ctx_); }

  Result<size_t> Read(void* buf, size_t n) override {
    if (ctx_ == nullptr) return Internal("zstd: cannot allocate decoder");
    if (n == 0) return size_t{0};
    ZSTD_outBuffer out{buf, n, 0};
    for (;;) {
      if (in_.pos == in_.size && !eof_) {
        STRATA_ASSIGN_OR_RETURN(size_t got, r_.Read(in_buf_.data(), in_buf_.size()));
        in_ = ZSTD_inBuffer{in_buf_.data(), got, 0};
        if (got == 0) eof_ = true;
      }
      size_t in_pos_before = in_.pos;
      size_t ret = ZSTD_decompressStream(ctx_, &out, &in_);
      if (ZSTD_isError(ret)) return DataLoss(std::string("zstd: ") + ZSTD_getErrorName(ret));
      // A call with no input and no output says nothing about frame state.
      if (in_.pos != in_pos_before || out.pos > 0) last_ret_ = ret;
      if (out.pos > 0) return out.pos;
      if (eof_ && in_.pos == in_.size) {
        if (last_ret_ != 0) return DataLoss("zstd: unexpected EOF");
        return size_t{0};
      }
      if (in_.pos == in_pos_before && in_.pos < in_.size) {
        return DataLoss("zstd: decoder made no progress");
      }
    }
  }

 private:
  Reader& r_;
  std::vector<char> in_buf_;
  ZSTD_inBuffer in_{nullptr, 0, 0};
  ZSTD_DCtx* ctx_;
  size_t last_ret_ = 0;
  bool eof_ = false;
};

// bzip2 and xz through libarchive's raw format (one data stream, filters on).
class LibarchiveRawReader : public Reader {
 public:
  LibarchiveRawReader(Reader& r, Compression c) : r_(r), c_(c), buf_(kInBufSize) {}
  ~LibarchiveRawReader() override {
    if (a_ != nullptr) archive_read_free(a_);
  }

  Status Open() {
    a_ = archive_read_new();
    if (a_ == nullptr) return Internal("libarchive: cannot allocate reader");
    if (c_ == Compression::kBzip2) {
      archive_read_support_filter_bzip2(a_);
    } else {
      archive_read_support_filter_xz(a_);
    }
    archive_read_support_format_raw(a_);
    if (archive_read_open(a_, this, nullptr, &LibarchiveRawReader::ReadCb, nullptr) != ARCHIVE_OK) {
      return Fail();
    }
    archive_entry* e = nullptr;
    int ret = archive_read_next_header(a_, &e);
    if (ret == ARCHIVE_EOF) {
      eof_ = true;
      return Ok();
    }
    if (ret < ARCHIVE_WARN) return Fail();
    return Ok();
  }

  Result<size_t> Read(void* buf, size_t n) override {
    if (eof_ || n == 0) return size_t{0};
    la_ssize_t got = archive_read_data(a_, buf, n);
    if (got < 0) return Fail();
    if (got == 0) eof_ = true;
    return static_cast<size_t>(got);
  }

 private:
  static la_ssize_t ReadCb(struct archive* a, void* self_v, const void** out) {
    auto* self = static_cast<LibarchiveRawReader*>(self_v);
    auto got = self->r_.Read(self->buf_.data(), self->buf_.size());
    if (!got) {
      self->err_ = got.error();
      archive_set_error(a, EIO, "%s", got.error().message.c_str());
      return -1;
    }
    *out = self->buf_.data();
    return static_cast<la_ssize_t>(*got);
  }

  Error Fail() {
    if (!err_.message.empty()) return err_;
    const char* msg = archive_error_string(a_);
    std::string m = msg ? msg : "unknown error";
    if (m.find("runcated") != std::string::npos || m.find("premature") != std::string::npos) {
      m = "unexpected EOF (" + m + ")";
    }
    return DataLoss(std::string(CompressionName(c_)) + ": " + m);
  }

  Reader& r_;
  Compression c_;
  std::vector<char> buf_;
  struct archive* a_ = nullptr;
  Error err_{ErrorCode::kInternal, ""};
  bool eof_ = false;
};

class PassWriter : public ClosingWriter {
 public:
  explicit PassWriter(Writer& w) : w_(w) {}
  using Writer::Write;
  Status Write(const void* buf, size_t n) override { return w_.Write(buf, n); }
  Status Close() override { return Ok(); }

 private:
  Writer& w_;
};

class GzipWriter : public ClosingWriter {
 public:
  GzipWriter(Writer& w, int level) : w_(w), out_(kInBufSize) {
    isal_deflate_init(&zs_);
    zs_.gzip_flag = IGZIP_GZIP;
    zs_.level = static_cast<uint32_t>(level);
    static constexpr uint32_t kLevelBuf[] = {ISAL_DEF_LVL0_DEFAULT, ISAL_DEF_LVL1_DEFAULT,
                                             ISAL_DEF_LVL2_DEFAULT, ISAL_DEF_LVL3_DEFAULT};
    level_buf_.resize(kLevelBuf[level]);
    zs_.level_buf = level_buf_.data();
    zs_.level_buf_size = static_cast<uint32_t>(level_buf_.size());
  }
  using Writer::Write;

  Status Write(const void* buf, size_t n) override {
    if (closed_) return FailedPrecondition("gzip: write after close");
    const uint8_t* p = static_cast<const uint8_t*>(buf);
    while (n > 0) {
      uint32_t chunk = static_cast<uint32_t>(std::min<size_t>(n, 1u << 30));
      zs_.next_in = const_cast<uint8_t*>(p);
      zs_.avail_in = chunk;
      zs_.end_of_stream = 0;
      while (zs_.avail_in > 0) STRATA_TRY(Step());
      p += chunk;
      n -= chunk;
    }
    return Ok();
  }

  Status Close() override {
    if (closed_) return Ok();
    closed_ = true;
    zs_.next_in = nullptr;
    zs_.avail_in = 0;
    zs_.end_of_stream = 1;
    while (zs_.internal_state.state != ZSTATE_END) STRATA_TRY(Step());
    return Ok();
  }

 private:
  Status Step() {
    zs_.next_out = out_.data();
    zs_.avail_out = static_cast<uint32_t>(out_.size());
    int ret = isal_deflate(&zs_);
    if (ret != COMP_OK) return Internal("gzip: deflate error " + std::to_string(ret));
    size_t produced = out_.size() - zs_.avail_out;
    if (produced > 0) STRATA_TRY(w_.Write(out_.data(), produced));
    return Ok();
  }

  Writer& w_;
  isal_zstream zs_{};
  std::vector<uint8_t> level_buf_;
  std::vector<uint8_t> out_;
  bool closed_ = false;
};

class ZstdWriter : public ClosingWriter {
 public:
  ZstdWriter(Writer& w, int level) : w_(w), out_(ZSTD_CStreamOutSize()), ctx_(ZSTD_createCCtx()) {
    if (ctx_ != nullptr) {
      ZSTD_CCtx_setParameter(ctx_, ZSTD_c_compressionLevel, level);
      // As the zstd tool does: lets readers detect corruption in stored blocks.
      ZSTD_CCtx_setParameter(ctx_, ZSTD_c_checksumFlag, 1);
    }
  }
  ~ZstdWriter() override { ZSTD_freeCCtx(ctx_); }
  using Writer::Write;

  Status Write(const void* buf, size_t n) override {
    if (ctx_ == nullptr) return Internal("zstd: cannot allocate encoder");
    if (closed_) return FailedPrecondition("zstd: write after close");
    ZSTD_inBuffer in{buf, n, 0};
    while (in.pos < in.size) {
      STRATA_ASSIGN_OR_RETURN(size_t left, Step(in, ZSTD_e_continue));
      (void)left;
    }
    return Ok();
  }

  Status Close() override {
    if (ctx_ == nullptr) return Internal("zstd: cannot allocate encoder");
    if (closed_) return Ok();
    closed_ = true;
    ZSTD_inBuffer in{nullptr, 0, 0};
    for (;;) {
      STRATA_ASSIGN_OR_RETURN(size_t left, Step(in, ZSTD_e_end));
      if (left == 0) return Ok();
    }
  }

 private:
  Result<size_t> Step(ZSTD_inBuffer& in, ZSTD_EndDirective mode) {
    ZSTD_outBuffer out{out_.data(), out_.size(), 0};
    size_t ret = ZSTD_compressStream2(ctx_, &out, &in, mode);
    if (ZSTD_isError(ret)) return Internal(std::string("zstd: ") + ZSTD_getErrorName(ret));
    if (out.pos > 0) STRATA_TRY(w_.Write(out_.data(), out.pos));
    return ret;
  }

  Writer& w_;
  std::vector<char> out_;
  ZSTD_CCtx* ctx_;
  bool closed_ = false;
};

}  // namespace

std::string_view CompressionName(Compression c) {
  switch (c) {
    case Compression::kNone:
      return "none";
    case Compression::kGzip:
      return "gzip";
    case Compression::kZstd:
      return "zstd";
    case Compression::kBzip2:
      return "bzip2";
    case Compression::kXz:
      return "xz";
  }
  return "unknown";
}

Compression DetectCompression(std::string_view h) {
  auto starts = [&](std::string_view magic) { return h.substr(0, magic.size()) == magic; };
  if (starts("\x1f\x8b")) return Compression::kGzip;
  if (starts("\x28\xb5\x2f\xfd")) return Compression::kZstd;
  if (starts("BZh")) return Compression::kBzip2;
  if (starts(std::string_view("\xfd"
                              "7zXZ\x00",
                              6)))
    return Compression::kXz;
  return Compression::kNone;
}

Result<std::unique_ptr<Reader>> NewDecompressor(Reader& r, Compression c) {
  switch (c) {
    case Compression::kNone:
      return std::unique_ptr<Reader>(new PrefixReader("", r));
    case Compression::kGzip:
      return std::unique_ptr<Reader>(new GzipReader(r));
    case Compression::kZstd:
      return std::unique_ptr<Reader>(new ZstdReader(r));
    case Compression::kBzip2:
    case Compression::kXz: {
      auto lr = std::make_unique<LibarchiveRawReader>(r, c);
      STRATA_TRY(lr->Open());
      return std::unique_ptr<Reader>(std::move(lr));
    }
  }
  return InvalidArgument("unknown compression");
}

Result<std::unique_ptr<Reader>> PeekCompression(Reader& r, Compression* detected) {
  // Short reads are allowed by Reader, so keep reading until the magic fits.
  std::string head(6, '\0');
  size_t have = 0;
  while (have < head.size()) {
    STRATA_ASSIGN_OR_RETURN(size_t got, r.Read(head.data() + have, head.size() - have));
    if (got == 0) break;
    have += got;
  }
  head.resize(have);
  *detected = DetectCompression(head);
  return std::unique_ptr<Reader>(std::make_unique<PrefixReader>(std::move(head), r));
}

Result<std::unique_ptr<Reader>> NewDecompressingReader(Reader& r, Compression* detected) {
  Compression c = Compression::kNone;
  STRATA_ASSIGN_OR_RETURN(std::unique_ptr<Reader> prefix, PeekCompression(r, &c));
  if (detected != nullptr) *detected = c;
  if (c == Compression::kNone) return prefix;
  STRATA_ASSIGN_OR_RETURN(std::unique_ptr<Reader> top, NewDecompressor(*prefix, c));
  return std::unique_ptr<Reader>(new OwningReader(std::move(prefix), std::move(top)));
}

Result<std::unique_ptr<ClosingWriter>> NewCompressingWriter(Writer& out, Compression c, int level) {
  switch (c) {
    case Compression::kNone:
      return std::unique_ptr<ClosingWriter>(new PassWriter(out));
    case Compression::kGzip:
      if (level < 0) level = 1;
      if (level > ISAL_DEF_MAX_LEVEL) {
        return InvalidArgument("gzip level " + std::to_string(level) + " out of range 0..3");
      }
      return std::unique_ptr<ClosingWriter>(new GzipWriter(out, level));
    case Compression::kZstd:
      if (level < 0) level = 3;
      if (level > ZSTD_maxCLevel()) {
        return InvalidArgument("zstd level " + std::to_string(level) + " out of range");
      }
      return std::unique_ptr<ClosingWriter>(new ZstdWriter(out, level));
    default:
      return Unimplemented(std::string(CompressionName(c)) + " compression is not supported");
  }
}

}  // namespace strata::archive
