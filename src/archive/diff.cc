#include "archive/diff.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "archive/tar_writer.h"
#include "archive/whiteout.h"
#include "digest/hasher.h"
#include "util/fs.h"

namespace strata::archive {
namespace {

std::string FdPath(int dirfd, const std::string& name) {
  return "/proc/self/fd/" + std::to_string(dirfd) + "/" + name;
}

using Xattrs = std::vector<std::pair<std::string, std::string>>;

// A file's xattrs (sorted; overlayfs' own and SELinux labels left out), read through `list`
// and `get`: llistxattr/lgetxattr on a path, or flistxattr/fgetxattr on an open file (no
// path walk, which matters for a layer of 10,000 files).
template <typename List, typename Get>
Result<Xattrs> ReadXattrsWith(List list, Get get) {
  Xattrs out;
  // One call for the common case (no or few xattrs).
  char buf[1024];
  ssize_t n = list(buf, sizeof buf);
  std::string names;
  if (n >= 0) {
    if (n == 0) return out;
    names.assign(buf, static_cast<size_t>(n));
  } else if (errno == ENOTSUP) {
    return out;
  } else if (errno == ERANGE) {
    n = list(nullptr, 0);
    if (n < 0) return ErrnoError("list xattrs");
    names.assign(static_cast<size_t>(n), '\0');
    n = list(names.data(), names.size());
    if (n < 0) return ErrnoError("list xattrs");
    names.resize(static_cast<size_t>(n));
  } else {
    return ErrnoError("list xattrs");
  }
  for (size_t i = 0; i < names.size();) {
    std::string name(names.c_str() + i);
    i += name.size() + 1;
    if (name.empty() || IsOverlayInternalXattr(name) || name == "security.selinux") continue;
    ssize_t vn = get(name.c_str(), nullptr, 0);
    if (vn < 0) {
      if (errno == ENODATA) continue;
      return ErrnoError("get xattr " + name);
    }
    std::string value(static_cast<size_t>(vn), '\0');
    vn = get(name.c_str(), value.data(), value.size());
    if (vn < 0) return ErrnoError("get xattr " + name);
    value.resize(static_cast<size_t>(vn));
    out.emplace_back(std::move(name), std::move(value));
  }
  std::sort(out.begin(), out.end());
  return out;
}

Result<Xattrs> ReadXattrs(const std::string& p) {
  return ReadXattrsWith(
      [&](char* b, size_t n) { return llistxattr(p.c_str(), b, n); },
      [&](const char* k, void* b, size_t n) { return lgetxattr(p.c_str(), k, b, n); });
}

Result<Xattrs> ReadXattrs(int fd) {
  return ReadXattrsWith([&](char* b, size_t n) { return flistxattr(fd, b, n); },
                        [&](const char* k, void* b, size_t n) { return fgetxattr(fd, k, b, n); });
}

bool HasXattr(int fd, const char* name, std::string_view want) {
  char buf[8];
  ssize_t n = fgetxattr(fd, name, buf, sizeof(buf));
  return n >= 0 && std::string_view(buf, static_cast<size_t>(n)) == want;
}

class TreeWriter {
 public:
  TreeWriter(Writer& out, const TarTreeOptions& o) : tw_(out), opts_(o) {}

  Status Walk(int dirfd, const std::string& prefix) {
    auto listed = ListDir(dirfd);
    if (!listed) return std::move(listed).error().Wrap("\"" + prefix + "\"");
    std::vector<std::string> names = std::move(*listed);
    std::sort(names.begin(), names.end());
    for (const auto& name : names) {
      std::string rel = prefix.empty() ? name : prefix + "/" + name;
      Status st = One(dirfd, name, rel);
      if (!st) return std::move(st).error().Wrap("\"" + rel + "\"");
    }
    return Ok();
  }

  Status Close() { return tw_.Close(); }
  int64_t content_size() const { return content_size_; }

 private:
  int64_t Mtime(const struct stat& st) const {
    int64_t t = st.st_mtim.tv_sec;
    if (opts_.clamp_mtime && t > *opts_.clamp_mtime) t = *opts_.clamp_mtime;
    return t;
  }

  Status One(int dirfd, const std::string& name, const std::string& rel) {
    struct stat st;
    if (fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return ErrnoError("stat");
    if (S_ISSOCK(st.st_mode)) return Ok();

    TarEntry e;
    e.path = rel;
    e.mode = st.st_mode & 07777;
    e.uid = st.st_uid;
    e.gid = st.st_gid;
    e.mtime_sec = Mtime(st);

    if (opts_.overlay_whiteouts && IsOverlayWhiteout(st)) {
      // Not hardlink-tracked: overlayfs may link all whiteouts to one inode.
      size_t slash = rel.rfind('/');
      std::string dir = slash == std::string::npos ? "" : rel.substr(0, slash + 1);
      e.path = dir + std::string(kWhiteoutPrefix) + name;
      e.type = EntryType::kFile;
      e.mode = 0600;
      return tw_.WriteHeader(e);
    }

    if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
      auto key = std::make_pair(st.st_dev, st.st_ino);
      auto it = links_.find(key);
      if (it != links_.end()) {
        e.type = EntryType::kHardlink;
        e.linkname = it->second;
        return tw_.WriteHeader(e);
      }
      links_.emplace(key, rel);
    }

    if (S_ISDIR(st.st_mode)) {
      UniqueFd sub(openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!sub) return ErrnoError("open directory");
      STRATA_ASSIGN_OR_RETURN(e.xattrs, ReadXattrs(sub.get()));
      e.type = EntryType::kDir;
      STRATA_TRY(tw_.WriteHeader(e));
      if (opts_.overlay_whiteouts && (HasXattr(sub.get(), kOverlayOpaqueXattr, "y") ||
                                      HasXattr(sub.get(), kOverlayUserOpaqueXattr, "y"))) {
        // As docker: a regular file right after its directory, perms of the
        // directory, same owner, zero mtime.
        TarEntry wo;
        wo.path = rel + "/" + std::string(kWhiteoutOpaqueDir);
        wo.type = EntryType::kFile;
        wo.mode = e.mode & 0777;
        wo.uid = e.uid;
        wo.gid = e.gid;
        STRATA_TRY(tw_.WriteHeader(wo));
      }
      return Walk(sub.get(), rel);
    }
    if (!S_ISREG(st.st_mode)) {
      STRATA_ASSIGN_OR_RETURN(e.xattrs, ReadXattrs(FdPath(dirfd, name)));
    }
    if (S_ISLNK(st.st_mode)) {
      e.type = EntryType::kSymlink;
      std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
      for (;;) {
        ssize_t n = readlinkat(dirfd, name.c_str(), target.data(), target.size());
        if (n < 0) return ErrnoError("readlink");
        if (static_cast<size_t>(n) < target.size()) {
          target.resize(static_cast<size_t>(n));
          break;
        }
        target.resize(target.size() * 2);
      }
      content_size_ += static_cast<int64_t>(target.size());
      e.linkname = std::move(target);
      return tw_.WriteHeader(e);
    }
    if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) || S_ISFIFO(st.st_mode)) {
      e.type = S_ISCHR(st.st_mode)   ? EntryType::kCharDevice
               : S_ISBLK(st.st_mode) ? EntryType::kBlockDevice
                                     : EntryType::kFifo;
      if (!S_ISFIFO(st.st_mode)) {
        e.devmajor = major(st.st_rdev);
        e.devminor = minor(st.st_rdev);
      }
      return tw_.WriteHeader(e);
    }
    if (!S_ISREG(st.st_mode)) return Ok();

    UniqueFd f(openat(dirfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!f) return ErrnoError("open");
    STRATA_ASSIGN_OR_RETURN(e.xattrs, ReadXattrs(f.get()));
    e.type = EntryType::kFile;
    // The size seen by the stat above: a file that shrinks meanwhile is an error below, one
    // that grows is archived as it was.
    e.size = st.st_size;
    content_size_ += e.size;
    STRATA_TRY(tw_.WriteHeader(e));
    buf_.resize(kCopyBufferSize);
    int64_t left = e.size;
    while (left > 0) {
      ssize_t n = read(f.get(), buf_.data(), std::min<int64_t>(left, buf_.size()));
      if (n < 0) {
        if (errno == EINTR) continue;
        return ErrnoError("read");
      }
      if (n == 0) return Conflict("file shrank while being archived");
      STRATA_TRY(tw_.WriteData(buf_.data(), static_cast<size_t>(n)));
      left -= n;
    }
    return Ok();
  }

  TarWriter tw_;
  TarTreeOptions opts_;
  int64_t content_size_ = 0;
  std::map<std::pair<dev_t, ino_t>, std::string> links_;
  std::vector<char> buf_;
};

}  // namespace

Result<LayerTar> WriteLayerTar(const std::string& dir, Writer& out, const TarTreeOptions& options) {
  UniqueFd root(open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root) return ErrnoError("tar " + dir);
  digest::HashingWriter hw(out);
  TreeWriter tw(hw, options);
  Status st = tw.Walk(root.get(), "");
  if (!st) return std::move(st).error().Wrap("tar " + dir);
  STRATA_TRY_CTX(tw.Close(), "tar " + dir);
  return LayerTar{hw.Sum(), hw.size(), tw.content_size()};
}

}  // namespace strata::archive
