// Layer compression: detect gzip/zstd/bzip2/xz by magic and stream through a
// decompressing Reader; gzip (ISA-L) and zstd compressing Writers for push.
#pragma once

#include <memory>
#include <string_view>

#include "util/io.h"
#include "util/result.h"

namespace strata::archive {

enum class Compression { kNone, kGzip, kZstd, kBzip2, kXz };

std::string_view CompressionName(Compression c);

// Classifies a stream from its first bytes (at least 6 are needed for xz);
// anything unrecognized is kNone.
Compression DetectCompression(std::string_view head);

// Reads ahead into `r` to detect the compression, then returns a Reader that
// yields the decompressed bytes (the input itself when uncompressed). `r` must
// outlive the result. Memory use is bounded by fixed buffers whatever the input.
// Corrupt or truncated input surfaces as a DataLoss error from Read.
Result<std::unique_ptr<Reader>> NewDecompressingReader(Reader& r, Compression* detected = nullptr);

// Reads ahead into `r` to detect the compression and returns a Reader that
// replays those bytes and continues with `r` (nothing is decompressed).
Result<std::unique_ptr<Reader>> PeekCompression(Reader& r, Compression* detected);

// Decompresses `r` as the given compression (no detection).
Result<std::unique_ptr<Reader>> NewDecompressor(Reader& r, Compression c);

// A Writer whose output is complete only after Close(): compressors buffer
// and must write their trailer.
class ClosingWriter : public Writer {
 public:
  using Writer::Write;
  // Flushes everything and writes the trailer; Write after Close is an error.
  virtual Status Close() = 0;
};

// Compresses into `out` (borrowed). gzip levels are ISA-L's 0..3 (1 is the
// default, close to zlib -6 in ratio and much faster); zstd levels are zstd's.
// kNone passes through. bzip2/xz are read-only (Unimplemented).
Result<std::unique_ptr<ClosingWriter>> NewCompressingWriter(Writer& out, Compression c,
                                                            int level = -1);

}  // namespace strata::archive
