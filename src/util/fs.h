// File-system helpers that keep the store crash-safe: atomic replace
// (temp + fsync + rename + fsync dir), and small whole-file reads.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "util/io.h"
#include "util/result.h"
#include "util/unique_fd.h"

namespace strata {

Result<UniqueFd> OpenFile(const std::string& path, int flags, int mode = 0644);
// Opens path relative to root_fd with openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS):
// absolute symlinks and `..` resolve as if root_fd were `/`, so nothing
// outside the tree is reachable. "" opens the root itself. *err_out gets errno.
Result<UniqueFd> OpenInRoot(int root_fd, const std::string& path, uint64_t flags,
                            int* err_out = nullptr);
// mkdir -p of path inside root_fd's tree (resolved as OpenInRoot does): each
// directory it creates gets mode (umask aside) and uid/gid. Returns the last
// directory, opened O_RDONLY. A component that exists as a non-directory is
// ENOTDIR.
Result<UniqueFd> MakeDirsInRoot(int root_fd, const std::string& path, int mode, uint32_t uid,
                                uint32_t gid);
Result<std::string> ReadFile(const std::string& path, size_t max_bytes = 64 << 20);
// Writes data to path atomically: a reader sees the old or the new file. durable: fsync the
// file and its directory (state that must survive a crash; not scratch files).
Status WriteFileAtomic(const std::string& path, std::string_view data, int mode = 0644,
                       bool durable = true);
// Streams what fill writes into a temporary file next to path and renames it over path once
// fill succeeds, so a failure leaves no half file under the name. durable: fsync the file and
// its directory (small state files); archives a user asked for skip it, as docker does.
Status WriteFileAtomicStream(const std::string& path, int mode, bool durable,
                             const std::function<Status(Writer&)>& fill);
Status FsyncDir(const std::string& dir);

// What CopyFileData found a destination able to do; it stops trying what failed (e.g.
// overlayfs over the source's file system: no reflink, copy_file_range fails with EXDEV).
struct FileCopyMethods {
  bool reflink = true;
  bool copy_range = true;
};
// Copies `size` bytes from in to out, both at their file offsets: a reflink, else
// copy_file_range, else read and write. A source that shrank meanwhile gives what there was;
// one that grew is copied as big as `size` (no read to find the end). `what` names the file in
// errors ("copy /big: write: No space left on device").
Status CopyFileData(int in, int out, off_t size, FileCopyMethods& can, const std::string& what);
// The names in directory `dirfd` (an O_RDONLY or O_PATH directory fd, not
// consumed), without "." and "..", in readdir order.
Result<std::vector<std::string>> ListDir(int dirfd);
Status MakeDirs(const std::string& path, int mode = 0755);
// Removes a tree; missing is fine.
Status RemoveAll(const std::string& path);
// Bytes used on disk (st_blocks * 512) by a tree, hardlinks counted once.
uint64_t DiskUsage(const std::string& path);

// A directory removed (recursively) on destruction unless released.
class TempDir {
 public:
  static Result<TempDir> Create(const std::string& parent, std::string_view prefix = "tmp-");
  TempDir() = default;
  TempDir(TempDir&& o) noexcept : path_(std::exchange(o.path_, {})) {}
  TempDir& operator=(TempDir&& o) noexcept;
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string release() { return std::exchange(path_, {}); }

 private:
  explicit TempDir(std::string p) : path_(std::move(p)) {}
  std::string path_;
};

}  // namespace strata
