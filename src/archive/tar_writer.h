// TarWriter: writes tar entries byte-deterministically in the form Go's
// archive/tar writes them for docker (tar.FormatPAX: plain USTAR headers when
// the entry fits, a PAX extended header only when it must).
#pragma once

#include <cstddef>

#include "archive/tar_reader.h"
#include "util/io.h"
#include "util/result.h"

namespace strata::archive {

// Usage: WriteHeader(e), then for files exactly e.size bytes via WriteData,
// repeat; Close() writes the end-of-archive marker (two zero blocks, no record
// padding, as Go's tar.Writer does). uname/gname are left empty.
class TarWriter {
 public:
  explicit TarWriter(Writer& w) : w_(w) {}

  // Directories get a trailing '/' on their name. PAX records (sorted by key)
  // carry what USTAR cannot: long or non-ASCII paths and link targets, large
  // ids/sizes/times, and xattrs as SCHILY.xattr.<name>.
  Status WriteHeader(const TarEntry& e);
  Status WriteData(const void* buf, size_t n);
  Status Close();

 private:
  Status FinishEntry();
  Status WriteBlock(const char* block);

  Writer& w_;
  int64_t remaining_ = 0;
  int64_t written_in_entry_ = 0;
  bool closed_ = false;
};

}  // namespace strata::archive
