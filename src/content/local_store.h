// The local blob store: blobs by digest under content/blobs, written through
// an ingest (temp file, verified size and digest, fsync, rename) so a blob is
// visible only once complete and correct.
//
// Roles (STYLE.md "Small interfaces"): Provider reads, Ingester writes,
// LocalStore is both plus management (info, walk, delete).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "digest/digest.h"
#include "digest/hasher.h"
#include "util/io.h"
#include "util/result.h"
#include "util/unique_fd.h"

namespace strata::content {

struct Info {
  digest::Digest digest;
  uint64_t size = 0;
};

class Provider {
 public:
  virtual ~Provider() = default;
  // Opens a blob for reading. With verify, the reader checks size and digest
  // at EOF and fails with DataLoss on mismatch.
  virtual Result<std::unique_ptr<Reader>> Open(const digest::Digest& d, bool verify) const = 0;
  virtual Result<Info> Stat(const digest::Digest& d) const = 0;
};

struct IngestOptions {
  // Without hashing, Commit trusts the expected digest it is given: for
  // callers that hash the very same bytes elsewhere (a layer's diff ID is
  // computed while it unpacks) and must not pay for SHA-256 twice. Commit
  // without an expected digest then reads the file back to hash it.
  bool hash = true;
  // Start writeback as data arrives (the blob will be kept). Off for a
  // scratch copy that is likely discarded: pages never written back cost no
  // disk I/O when the file is removed.
  bool writeback = true;
};

// An in-progress blob write. Bytes are hashed as they are written; Commit
// checks the expected digest/size, fsyncs and renames into place. Destroying
// an uncommitted writer removes its temp file.
class IngestWriter : public Writer {
 public:
  IngestWriter(IngestWriter&&) noexcept = default;
  ~IngestWriter() override;
  using Writer::Write;
  Status Write(const void* buf, size_t n) override;
  // expected: digest the content must have (empty = accept what was written).
  // expected_size: -1 = unknown. Returns the blob's digest. A blob that
  // already exists is not rewritten.
  Result<digest::Digest> Commit(const digest::Digest& expected = {}, int64_t expected_size = -1);
  uint64_t size() const { return hash_ ? hasher_.size() : size_; }

 private:
  friend class LocalStore;
  IngestWriter(std::string root, std::string tmp_path, UniqueFd fd, IngestOptions o);
  std::string root_;
  std::string tmp_path_;
  UniqueFd fd_;
  digest::HashingWriter hasher_;
  std::unique_ptr<FdWriter> out_;
  bool done_ = false;
  int64_t flushed_ = 0;  // bytes already queued for writeback
  bool hash_ = true;
  bool writeback_ = true;
  uint64_t size_ = 0;  // bytes written when not hashing
};

// A blob download that may outlive its process (an interrupted pull): the bytes go to
// ingest/partial-<algorithm>-<hex>, named by the digest they must end up with, and stay
// there when the writer is destroyed uncommitted, so a later process finds them and asks the
// registry only for the rest (offset()). An exclusive flock marks the file as in use: a
// second process gets Conflict and downloads on its own, and CleanIngest leaves it alone.
// What the file holds is not trusted: Commit checks the whole content against its digest.
class PartialIngest : public Writer {
 public:
  PartialIngest(PartialIngest&&) noexcept = default;
  ~PartialIngest() override = default;
  using Writer::Write;
  // Appends.
  Status Write(const void* buf, size_t n) override;
  // Bytes that were there when it was opened (what a Range request starts from).
  uint64_t offset() const { return offset_; }
  // Bytes in the file now.
  uint64_t size() const { return size_; }
  // Hashes the bytes already there, then everything appended, so Commit can check the digest
  // itself. Without it Commit trusts a caller that hashed the same bytes elsewhere.
  Status HashFromStart();
  // Drops every byte (the registry ignored Range, or the bytes did not match).
  Status Discard();
  // Removes the file: the bytes are known bad.
  void Remove();
  // Checks size (and digest when hashing), fsyncs and renames into the blob store.
  Result<digest::Digest> Commit(int64_t expected_size);
  const std::string& path() const { return path_; }
  const digest::Digest& digest() const { return want_; }

 private:
  friend class LocalStore;
  PartialIngest(std::string root, std::string path, UniqueFd fd, digest::Digest want,
                uint64_t size);
  std::string root_;
  std::string path_;
  UniqueFd fd_;
  digest::Digest want_;
  uint64_t offset_ = 0;
  uint64_t size_ = 0;
  int64_t flushed_ = 0;
  std::optional<digest::Hasher> hasher_;
  bool done_ = false;
};

// Partial downloads untouched for this long are crash leftovers (GC removes them).
inline constexpr int64_t kPartialMaxAgeSeconds = 24 * 3600;

class LocalStore : public Provider {
 public:
  explicit LocalStore(std::string root) : root_(std::move(root)) {}
  // Creates the directories.
  Status Init() const;

  Result<std::unique_ptr<Reader>> Open(const digest::Digest& d, bool verify) const override;
  Result<Info> Stat(const digest::Digest& d) const override;
  bool Exists(const digest::Digest& d) const;
  Result<IngestWriter> Ingest(IngestOptions o = {}) const;
  // Writes a small blob from memory (configs, manifests).
  Result<digest::Digest> Put(std::string_view data) const;
  Result<std::string> ReadBlob(const digest::Digest& d, size_t max_bytes = 64 << 20) const;
  Status Delete(const digest::Digest& d) const;
  // Calls fn for every committed blob.
  Status Walk(const std::function<void(const Info&)>& fn) const;
  // Opens (creating if need be) the resumable download of blob `d`. Conflict when another
  // process is downloading it right now.
  Result<PartialIngest> OpenPartial(const digest::Digest& d) const;
  // Removes stale ingest files older than min_age_seconds (crash leftovers), and partial
  // downloads untouched for partial_min_age_seconds (they are kept longer, for a later pull
  // to resume). Files in use by a running process are never removed.
  Status CleanIngest(int64_t min_age_seconds,
                     int64_t partial_min_age_seconds = kPartialMaxAgeSeconds) const;
  std::string BlobPath(const digest::Digest& d) const;
  const std::string& root() const { return root_; }

 private:
  std::string root_;
};

}  // namespace strata::content
