#include "snapshot/copy.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <vector>

#include "util/fs.h"
#include "util/unique_fd.h"

namespace strata::snapshot {
namespace {

struct CopyState {
  int dst_root = -1;
  // First copy of each multiply-linked inode, relative to dst_root.
  std::map<std::pair<dev_t, ino_t>, std::string> links;
  FileCopyMethods can;
};

std::string ProcPath(int dirfd, const char* name) {
  return "/proc/self/fd/" + std::to_string(dirfd) + "/" + name;
}

// Copies xattrs; fd >= 0 uses the f* calls, else the l* calls on path (for
// symlinks and devices, which cannot be opened).
Status CopyXattrs(int src_fd, int dst_fd, const std::string& src_path, const std::string& dst_path,
                  const std::string& what) {
  auto list = [&](char* buf, size_t n) {
    return src_fd >= 0 ? ::flistxattr(src_fd, buf, n) : ::llistxattr(src_path.c_str(), buf, n);
  };
  ssize_t n = list(nullptr, 0);
  if (n < 0) {
    if (errno == ENOTSUP) return Ok();
    return ErrnoError("listxattr " + what);
  }
  if (n == 0) return Ok();
  std::string names(static_cast<size_t>(n), '\0');
  n = list(names.data(), names.size());
  if (n < 0) return ErrnoError("listxattr " + what);
  names.resize(static_cast<size_t>(n));
  for (size_t pos = 0; pos < names.size();) {
    std::string key = names.c_str() + pos;
    pos += key.size() + 1;
    if (key.empty()) continue;
    auto get = [&](void* buf, size_t sz) {
      return src_fd >= 0 ? ::fgetxattr(src_fd, key.c_str(), buf, sz)
                         : ::lgetxattr(src_path.c_str(), key.c_str(), buf, sz);
    };
    ssize_t vn = get(nullptr, 0);
    if (vn < 0) return ErrnoError("getxattr " + key + " " + what);
    std::string value(static_cast<size_t>(vn), '\0');
    vn = get(value.data(), value.size());
    if (vn < 0) return ErrnoError("getxattr " + key + " " + what);
    value.resize(static_cast<size_t>(vn));
    int rc = dst_fd >= 0
                 ? ::fsetxattr(dst_fd, key.c_str(), value.data(), value.size(), 0)
                 : ::lsetxattr(dst_path.c_str(), key.c_str(), value.data(), value.size(), 0);
    if (rc != 0) return ErrnoError("setxattr " + key + " " + what);
  }
  return Ok();
}

// Owner, then mode (chown clears set-id bits), then xattrs; times last, by
// the caller, after a directory's contents are in place.
Status CopyMetaFd(int src, int dst, const struct stat& st, const std::string& what) {
  if (::fchown(dst, st.st_uid, st.st_gid) != 0) return ErrnoError("chown " + what);
  if (::fchmod(dst, st.st_mode & 07777) != 0) return ErrnoError("chmod " + what);
  STRATA_TRY(CopyXattrs(src, dst, "", "", what));
  return Ok();
}

Status SetTimesFd(int dst, const struct stat& st, const std::string& what) {
  struct timespec ts[2] = {st.st_atim, st.st_mtim};
  if (::futimens(dst, ts) != 0) return ErrnoError("utimes " + what);
  return Ok();
}

Status CopyDirContents(int src_dir, int dst_dir, const std::string& rel, CopyState& state);

Status CopyEntry(int src_dir, int dst_dir, const char* name, const std::string& rel,
                 CopyState& state) {
  struct stat st;
  if (::fstatat(src_dir, name, &st, AT_SYMLINK_NOFOLLOW) != 0) return ErrnoError("stat " + rel);
  if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
    auto [it, fresh] = state.links.try_emplace({st.st_dev, st.st_ino}, rel);
    if (!fresh) {
      if (::linkat(state.dst_root, it->second.c_str(), dst_dir, name, 0) != 0) {
        return ErrnoError("link " + rel);
      }
      return Ok();
    }
  }
  if (S_ISDIR(st.st_mode)) {
    if (::mkdirat(dst_dir, name, 0700) != 0) return ErrnoError("mkdir " + rel);
    UniqueFd s(::openat(src_dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!s) return ErrnoError("open " + rel);
    UniqueFd d(::openat(dst_dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!d) return ErrnoError("open " + rel);
    STRATA_TRY(CopyDirContents(s.get(), d.get(), rel, state));
    STRATA_TRY(CopyMetaFd(s.get(), d.get(), st, rel));
    return SetTimesFd(d.get(), st, rel);
  }
  if (S_ISREG(st.st_mode)) {
    UniqueFd s(::openat(src_dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!s) return ErrnoError("open " + rel);
    UniqueFd d(::openat(dst_dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!d) return ErrnoError("create " + rel);
    STRATA_TRY(CopyFileData(s.get(), d.get(), st.st_size, state.can, rel));
    STRATA_TRY(CopyMetaFd(s.get(), d.get(), st, rel));
    return SetTimesFd(d.get(), st, rel);
  }
  // Symlinks, devices, fifos and sockets cannot be opened for metadata calls.
  if (S_ISLNK(st.st_mode)) {
    std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
    ssize_t n = ::readlinkat(src_dir, name, target.data(), target.size());
    if (n < 0) return ErrnoError("readlink " + rel);
    target.resize(static_cast<size_t>(n));
    if (::symlinkat(target.c_str(), dst_dir, name) != 0) return ErrnoError("symlink " + rel);
  } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) || S_ISFIFO(st.st_mode) ||
             S_ISSOCK(st.st_mode)) {
    if (::mknodat(dst_dir, name, st.st_mode & (S_IFMT | 0777), st.st_rdev) != 0) {
      return ErrnoError("mknod " + rel);
    }
  } else {
    return InvalidArgument("copy " + rel + ": unsupported file type");
  }
  if (::fchownat(dst_dir, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) != 0) {
    return ErrnoError("chown " + rel);
  }
  if (!S_ISLNK(st.st_mode) && ::fchmodat(dst_dir, name, st.st_mode & 07777, 0) != 0) {
    return ErrnoError("chmod " + rel);
  }
  STRATA_TRY(CopyXattrs(-1, -1, ProcPath(src_dir, name), ProcPath(dst_dir, name), rel));
  struct timespec ts[2] = {st.st_atim, st.st_mtim};
  if (::utimensat(dst_dir, name, ts, AT_SYMLINK_NOFOLLOW) != 0) return ErrnoError("utimes " + rel);
  return Ok();
}

Status CopyDirContents(int src_dir, int dst_dir, const std::string& rel, CopyState& state) {
  auto listed = ListDir(src_dir);
  if (!listed) return std::move(listed).error().Wrap(rel);
  std::vector<std::string> names = std::move(*listed);
  for (const auto& n : names) {
    STRATA_TRY(CopyEntry(src_dir, dst_dir, n.c_str(), rel.empty() ? n : rel + "/" + n, state));
  }
  return Ok();
}

}  // namespace

Status CopyTree(const std::string& src, const std::string& dst) {
  UniqueFd s(::open(src.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!s) return ErrnoError("open " + src);
  if (::mkdir(dst.c_str(), 0700) != 0 && errno != EEXIST) return ErrnoError("mkdir " + dst);
  UniqueFd d(::open(dst.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!d) return ErrnoError("open " + dst);
  struct stat st;
  if (::fstat(s.get(), &st) != 0) return ErrnoError("stat " + src);
  CopyState state;
  state.dst_root = d.get();
  STRATA_TRY_CTX(CopyDirContents(s.get(), d.get(), "", state), "copy " + src + " to " + dst);
  STRATA_TRY_CTX(CopyMetaFd(s.get(), d.get(), st, "/"), "copy " + src + " to " + dst);
  return SetTimesFd(d.get(), st, dst);
}

Result<std::unique_ptr<CopySnapshotter>> CopySnapshotter::Open(const std::string& root) {
  STRATA_ASSIGN_OR_RETURN(Storage storage, Storage::Open(root, "copy"));
  std::unique_ptr<CopySnapshotter> s(new CopySnapshotter(std::move(storage)));
  STRATA_TRY_CTX(s->Recover(), "recover snapshots in " + root);
  return s;
}

Status CopySnapshotter::Populate(const Chain& chain) {
  std::string fs = storage_.FsDir(chain.self.id);
  if (chain.parents.empty()) {
    if (::mkdir(fs.c_str(), 0755) != 0) return ErrnoError("mkdir " + fs);
    if (::chmod(fs.c_str(), 0755) != 0) return ErrnoError("chmod " + fs);
    return Ok();
  }
  return CopyTree(storage_.FsDir(chain.parents[0].id), fs);
}

std::vector<Mount> CopySnapshotter::MountsFor(const Chain& chain) const {
  bool ro = chain.self.info.kind == Kind::kView;
  return {{"bind", storage_.FsDir(chain.self.id), {"rbind", ro ? "ro" : "rw"}}};
}

}  // namespace strata::snapshot
