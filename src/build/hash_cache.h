// HashCache: a persistent map from a file's identity (path, size, mtime, ctime, inode, mode) to
// the sha256 of its content, so that checksumming an unchanged build context reads no file data.
#pragma once

#include <sys/stat.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "digest/digest.h"
#include "util/result.h"

namespace strata::build {

// Usage: Open(<store>/build) once per build, FileDigest() for every context file the build
// looks at (from any thread), Save() at the end. A file whose key changed since it was hashed
// is read again; a key that matches is trusted (the same trade as git's index and BuildKit's
// contenthash: a rewrite that keeps size, mtime, ctime and inode is not noticed).
class HashCache {
 public:
  // Loads <dir>/hashcache (missing or corrupt: starts empty). dir is created by Save().
  static Result<std::unique_ptr<HashCache>> Open(std::string dir);
  // An in-memory cache that Save() does not persist.
  HashCache() = default;

  // The digest of the regular file `name` in directory `dirfd`, whose lstat is `st` and whose
  // full path (the key) is `path`. Reads the file only on a miss.
  Result<digest::Digest> FileDigest(int dirfd, const char* name, const std::string& path,
                                    const struct stat& st);

  // Whether FileDigest would answer without reading the file.
  bool Has(const std::string& path, const struct stat& st) const;

  // Writes the entries atomically when anything changed. Entries not used since Open are kept
  // unless the file grows past max_entries.
  Status Save();

  // How many files were read (cache misses), for tests and statistics.
  uint64_t files_read() const { return files_read_.load(); }
  size_t size() const;

  static constexpr size_t kMaxEntries = 500000;

 private:
  struct Entry {
    uint64_t size = 0;
    int64_t mtime_ns = 0;
    int64_t ctime_ns = 0;
    uint64_t ino = 0;
    uint32_t mode = 0;
    bool used = false;
    unsigned char sha256[32];
  };
  static Entry KeyOf(const struct stat& st);
  static bool SameFile(const Entry& a, const Entry& b);

  std::string dir_;
  // Lookups (the no-op rebuild's whole work, from two walking threads) share the lock; only
  // a miss takes it alone.
  mutable std::shared_mutex mu_;
  // Keys are views into the loaded file (data_) or into added_keys_ for paths hashed since:
  // loading 10,000 entries then costs no allocation per key.
  std::string data_;
  std::deque<std::string> added_keys_;
  std::unordered_map<std::string_view, Entry> entries_;
  bool dirty_ = false;
  std::atomic<uint64_t> files_read_{0};
};

// sha256 of a regular file's content, read from an open fd.
Result<digest::Digest> DigestFd(int fd);

}  // namespace strata::build
