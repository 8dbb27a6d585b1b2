// TarReader: streams the entries of an uncompressed tar (ustar, pax, GNU) from
// a strata::Reader, one header at a time, with a Reader over each entry's data.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "util/io.h"
#include "util/result.h"

namespace strata::archive {

enum class EntryType { kFile, kDir, kSymlink, kHardlink, kCharDevice, kBlockDevice, kFifo };

std::string_view EntryTypeName(EntryType t);

// One tar header, as the archive states it (path not yet cleaned).
struct TarEntry {
  std::string path;
  EntryType type = EntryType::kFile;
  uint32_t mode = 0;  // permission and suid/sgid/sticky bits only (07777)
  int64_t uid = 0;
  int64_t gid = 0;
  int64_t size = 0;  // data bytes; 0 for everything but files
  int64_t mtime_sec = 0;
  int64_t mtime_nsec = 0;
  std::string linkname;  // symlink target or hardlink target path
  uint32_t devmajor = 0;
  uint32_t devminor = 0;
  // Extended attributes (pax SCHILY.xattr.*), sorted by name.
  std::vector<std::pair<std::string, std::string>> xattrs;
};

// Usage: while ((e = Next()) && *e) { read content() ... }; then Finish().
// The reader pulls from `r` only as needed; everything the tar library skips
// still passes through `r`, so a HashingReader under it sees every byte.
class TarReader {
 public:
  explicit TarReader(Reader& r);
  ~TarReader();
  TarReader(const TarReader&) = delete;
  TarReader& operator=(const TarReader&) = delete;

  // The next entry, or nullopt at the end of the archive. Unread data of the
  // previous entry is skipped. Malformed headers are DataLoss errors.
  Result<std::optional<TarEntry>> Next();
  // Data of the entry last returned by Next(); valid until the next call.
  // Holes of sparse files read as zeros.
  Reader& content();
  // The same data as (offset, bytes) runs, holes skipped, so a sparse file can
  // be recreated sparse instead of writing its zeros. Returns false at the end
  // of the entry; the block stays valid until the next call.
  Result<bool> ReadBlock(const void** buf, size_t* len, int64_t* offset);
  // Reads the underlying stream to its end (the zero blocks and record padding
  // after the end-of-archive marker), so a digest over it is complete.
  Status Finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace strata::archive
