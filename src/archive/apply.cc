#include "archive/apply.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <string>
#include <unordered_set>
#include <vector>

#include "archive/tar_reader.h"
#include "archive/tar_split.h"
#include "archive/whiteout.h"
#include "util/fs.h"
#include "util/writeback.h"

namespace strata::archive {

Result<std::string> CleanLayerPath(std::string_view name) {
  std::vector<std::string_view> parts;
  size_t i = 0;
  while (i <= name.size()) {
    size_t j = name.find('/', i);
    if (j == std::string_view::npos) j = name.size();
    std::string_view comp = name.substr(i, j - i);
    if (comp.empty() || comp == ".") {
      // skip
    } else if (comp == "..") {
      if (parts.empty()) return InvalidArgument("path escapes the root");
      parts.pop_back();
    } else {
      parts.push_back(comp);
    }
    i = j + 1;
  }
  std::string out;
  for (auto p : parts) {
    if (!out.empty()) out += '/';
    out += p;
  }
  return out;
}

namespace {

void SplitPath(const std::string& path, std::string* parent, std::string* base) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) {
    parent->clear();
    *base = path;
  } else {
    *parent = path.substr(0, slash);
    *base = path.substr(slash + 1);
  }
}

std::string FdPath(int dirfd, const std::string& base) {
  return "/proc/self/fd/" + std::to_string(dirfd) + "/" + base;
}

// Removes name under dirfd, recursively for directories, never following symlinks.
Status RemoveAt(int parent_fd, const std::string& name) {
  struct stat st;
  if (fstatat(parent_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return Ok();
    return ErrnoError("stat " + name);
  }
  if (S_ISDIR(st.st_mode)) {
    int fd = openat(parent_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return ErrnoError("open " + name);
    UniqueFd dir(fd);
    auto children = ListDir(dir.get());
    if (!children) return std::move(children).error().Wrap(name);
    for (const auto& c : *children) STRATA_TRY(RemoveAt(dir.get(), c));
    if (unlinkat(parent_fd, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT) {
      return ErrnoError("remove " + name);
    }
    return Ok();
  }
  if (unlinkat(parent_fd, name.c_str(), 0) != 0 && errno != ENOENT) {
    return ErrnoError("remove " + name);
  }
  return Ok();
}

// The process umask, read once from /proc (setting it to read it would race with other
// threads creating files).
mode_t ProcessUmask() {
  static const mode_t mask = [] {
    std::string status = ReadFile("/proc/self/status", 1 << 16).value_or("");
    size_t at = status.find("\nUmask:");
    if (at == std::string::npos) return mode_t{0777};  // unknown: always chmod
    return static_cast<mode_t>(std::strtoul(status.c_str() + at + 7, nullptr, 8));
  }();
  return mask;
}

class Applier {
 public:
  Applier(UniqueFd root, const ApplyOptions& o)
      : root_(std::move(root)), opts_(o), privileged_(geteuid() == 0) {
    umask_ = ProcessUmask();
    euid_ = ::geteuid();
    egid_ = ::getegid();
  }

  Result<ApplyStats> Run(Reader& stream) {
    TarReader tr(stream);
    ApplyStats stats;
    for (;;) {
      auto next = tr.Next();
      if (!next) return next.error();
      if (!next->has_value()) break;
      TarEntry& e = **next;
      stats.entries++;
      // docker counts a layer as the st_size of what it leaves on disk:
      // file data plus symlink target lengths (hardlinks carry no data).
      stats.size +=
          e.type == EntryType::kSymlink ? static_cast<int64_t>(e.linkname.size()) : e.size;
      Status st = Entry(e, tr);
      if (!st) return Error(st.error()).Wrap("entry \"" + e.path + "\"");
    }
    STRATA_TRY(FixDirs());
    STRATA_TRY(tr.Finish());
    stats.file_list = files_.Sum();
    stats.replaced = replaced_;
    return stats;
  }

 private:
  struct DirMeta {
    std::string path;
    uint32_t mode;
    timespec mtime;
  };

  bool do_chown() const { return privileged_ || opts_.chown_unprivileged; }

  // openat2 relative to the root with RESOLVE_IN_ROOT; "" opens the root.
  Result<UniqueFd> OpenInRoot(const std::string& path, uint64_t flags, int* err_out = nullptr) {
    return strata::OpenInRoot(root_.get(), path, flags, err_out);
  }

  // Opens (creating as needed, mode 0755 like docker) the directory `path`.
  Result<UniqueFd> EnsureDir(const std::string& path) {
    int err = 0;
    auto fd = OpenInRoot(path, O_PATH | O_DIRECTORY, &err);
    if (fd || err != ENOENT) return fd;
    UniqueFd cur;
    STRATA_ASSIGN_OR_RETURN(cur, OpenInRoot("", O_PATH | O_DIRECTORY));
    std::string prefix;
    size_t i = 0;
    while (i < path.size()) {
      size_t j = path.find('/', i);
      if (j == std::string::npos) j = path.size();
      std::string comp = path.substr(i, j - i);
      prefix = prefix.empty() ? comp : prefix + "/" + comp;
      auto next = OpenInRoot(prefix, O_PATH | O_DIRECTORY, &err);
      if (!next && err == ENOENT) {
        if (mkdirat(cur.get(), comp.c_str(), 0755) != 0 && errno != EEXIST) {
          return ErrnoError("mkdir \"" + prefix + "\"");
        }
        next = OpenInRoot(prefix, O_PATH | O_DIRECTORY);
      }
      if (!next) return next.error();
      cur = std::move(next).value();
      i = j + 1;
    }
    return cur;
  }

  // The parent directory of the entry, kept open across entries: a tar lists a directory's
  // files together, so most entries need no path resolution at all. Dropped whenever the tree
  // changes other than by adding entries (a replace, a whiteout, an opaque marker), so a
  // cached fd never names a directory that has been swapped for something else.
  Result<int> ParentDir(const std::string& parent) {
    if (!parent_fd_ || parent != parent_path_) {
      parent_fd_.reset();
      STRATA_ASSIGN_OR_RETURN(parent_fd_, EnsureDir(parent));
      struct stat st;
      if (fstat(parent_fd_.get(), &st) != 0) return ErrnoError("stat \"" + parent + "\"");
      // New entries take a setgid directory's group; only then must an entry's owner be set
      // even when it is ours.
      parent_setgid_ = (st.st_mode & S_ISGID) != 0;
      parent_path_ = parent;
    }
    return parent_fd_.get();
  }
  void ForgetParent() { parent_fd_.reset(); }

  // Whether an entry created by this process already has the entry's owner.
  bool OwnedAsCreated(const TarEntry& e) const {
    return !parent_setgid_ && static_cast<uid_t>(e.uid) == euid_ &&
           static_cast<gid_t>(e.gid) == egid_;
  }

  void MarkUnpacked(const std::string& path) {
    // Only a merged opaque directory asks what this layer unpacked (ClearLower).
    if (opts_.mode != ApplyMode::kMerged) return;
    std::string p = path;
    while (unpacked_.insert(p).second) {
      size_t slash = p.rfind('/');
      if (slash == std::string::npos) break;
      p.resize(slash);
    }
  }

  Status Entry(const TarEntry& e, TarReader& tr) {
    STRATA_ASSIGN_OR_RETURN(std::string path, CleanLayerPath(e.path));
    if (path.empty()) return Ok();  // the root itself: keep root_dir's own metadata
    std::string parent, base;
    SplitPath(path, &parent, &base);
    std::string_view first(path);
    first = first.substr(0, first.find('/'));
    if (first.starts_with(kWhiteoutMetaPrefix) && path != kWhiteoutOpaqueDir) return Ok();
    if (base == kWhiteoutOpaqueDir) return Opaque(parent);
    if (std::string_view(base).starts_with(kWhiteoutPrefix)) {
      std::string target = base.substr(kWhiteoutPrefix.size());
      if (target.empty() || target == "." || target == ".." ||
          std::string_view(target).starts_with(kWhiteoutPrefix)) {
        return InvalidArgument("invalid whiteout name");
      }
      return Whiteout(e, parent, target);
    }

    STRATA_ASSIGN_OR_RETURN(int dirfd, ParentDir(parent));
    const char* b = base.c_str();
    MarkUnpacked(path);

    // The common case is a name that does not exist yet: create it straight away and only
    // look at what is there when the kernel says something is (EEXIST).
    if (e.type == EntryType::kFile) {
      // The final mode at creation spares a chmod when the umask leaves it intact and no
      // setuid/setgid bit needs to survive a later chown.
      mode_t mode = e.mode & 07777;
      bool needs_chown = do_chown() && !OwnedAsCreated(e);
      bool mode_at_create = (mode & umask_) == 0 && (mode & 06000) == 0 && (mode & 0200);
      int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
      UniqueFd f(openat(dirfd, b, flags, mode_at_create ? mode : 0600));
      if (!f && errno == EEXIST) {
        STRATA_TRY(Replace(dirfd, base));
        f.reset(openat(dirfd, b, flags, mode_at_create ? mode : 0600));
      }
      if (!f) return ErrnoError("create");
      STRATA_TRY(CopyContent(tr, f.get(), e.size));
      files_.Add(path, e.size);
      if (needs_chown &&
          fchown(f.get(), static_cast<uid_t>(e.uid), static_cast<gid_t>(e.gid)) != 0) {
        return ErrnoError("chown");
      }
      if (!mode_at_create && fchmod(f.get(), mode) != 0) return ErrnoError("chmod");
      STRATA_TRY(Xattrs(dirfd, base, e));
      timespec ts[2] = {{e.mtime_sec, e.mtime_nsec}, {e.mtime_sec, e.mtime_nsec}};
      if (futimens(f.get(), ts) != 0) return ErrnoError("set times");
      return Ok();
    }
    if (e.type == EntryType::kDir) {
      if (mkdirat(dirfd, b, 0700) != 0) {
        if (errno != EEXIST) return ErrnoError("mkdir");
        struct stat st;
        if (fstatat(dirfd, b, &st, AT_SYMLINK_NOFOLLOW) != 0) return ErrnoError("stat");
        if (!S_ISDIR(st.st_mode)) {
          STRATA_TRY(Replace(dirfd, base));
          if (mkdirat(dirfd, b, 0700) != 0) return ErrnoError("mkdir");
        }
      }
      // Mode and times are set after the contents: a read-only dir must stay
      // writable meanwhile, and writing children would move its mtime.
      dirs_.push_back({path, e.mode, {e.mtime_sec, e.mtime_nsec}});
      STRATA_TRY(Chown(dirfd, base, e));
      return Xattrs(dirfd, base, e);
    }
    if (e.type == EntryType::kSymlink) {
      // Stored verbatim; resolution happens later, in root, never here.
      if (symlinkat(e.linkname.c_str(), dirfd, b) != 0) {
        if (errno != EEXIST) return ErrnoError("symlink");
        STRATA_TRY(Replace(dirfd, base));
        if (symlinkat(e.linkname.c_str(), dirfd, b) != 0) return ErrnoError("symlink");
      }
      STRATA_TRY(Chown(dirfd, base, e));
      STRATA_TRY(Xattrs(dirfd, base, e));
      return Times(dirfd, base, e);
    }
    // Hardlinks and devices are rare: look first.
    struct stat st;
    if (fstatat(dirfd, b, &st, AT_SYMLINK_NOFOLLOW) == 0) {
      STRATA_TRY(Replace(dirfd, base));
    } else if (errno != ENOENT) {
      return ErrnoError("stat");
    }
    switch (e.type) {
      case EntryType::kFile:
      case EntryType::kDir:
      case EntryType::kSymlink:
        break;  // handled above
      case EntryType::kHardlink:
        return Hardlink(dirfd, base, e);
      case EntryType::kCharDevice:
      case EntryType::kBlockDevice:
      case EntryType::kFifo: {
        mode_t kind = e.type == EntryType::kFifo         ? S_IFIFO
                      : e.type == EntryType::kCharDevice ? S_IFCHR
                                                         : S_IFBLK;
        if (kind != S_IFIFO && !privileged_) return Ok();  // as rootless docker: skip devices
        if (mknodat(dirfd, b, kind | 0600, makedev(e.devmajor, e.devminor)) != 0) {
          return ErrnoError("mknod");
        }
        STRATA_TRY(Chown(dirfd, base, e));
        if (fchmodat(dirfd, b, e.mode, 0) != 0) return ErrnoError("chmod");
        STRATA_TRY(Xattrs(dirfd, base, e));
        return Times(dirfd, base, e);
      }
    }
    return Ok();
  }

  // Writes the entry's data runs at their offsets, so sparse holes stay holes
  // (a tiny sparse entry cannot turn into gigabytes of written zeros).
  Status CopyContent(TarReader& tr, int fd, int64_t size) {
    int64_t end = 0;
    for (;;) {
      const void* data;
      size_t len;
      int64_t off;
      STRATA_ASSIGN_OR_RETURN(bool more, tr.ReadBlock(&data, &len, &off));
      if (!more) break;
      if (off < 0 || len > static_cast<size_t>(size) || off > size - static_cast<int64_t>(len)) {
        return DataLoss("file data lies outside its declared size");
      }
      const char* p = static_cast<const char*>(data);
      while (len > 0) {
        ssize_t w = pwrite(fd, p, len, off);
        if (w < 0) {
          if (errno == EINTR) continue;
          return ErrnoError("write");
        }
        p += w;
        off += w;
        len -= static_cast<size_t>(w);
      }
      end = std::max(end, off);
    }
    if (end < size && ftruncate(fd, size) != 0) return ErrnoError("extend sparse file");
    // The snapshot's commit syncs; let the disk start on big files now (small ones are not
    // worth a system call each).
    if (end >= kWritebackMin) {
      StartWriteback(fd, 0, end);
    } else if (opts_.flusher) {
      opts_.flusher->Wrote(static_cast<uint64_t>(end));
    }
    return Ok();
  }

  // Something exists where the entry goes and the entry does not simply merge into it (a
  // directory over a directory): remove it. The cached parent stays valid: what goes is one
  // of its children, never the parent itself.
  Status Replace(int dirfd, const std::string& base) {
    replaced_ = true;
    return RemoveAt(dirfd, base);
  }

  Status Chown(int dirfd, const std::string& base, const TarEntry& e) {
    if (!do_chown() || OwnedAsCreated(e)) return Ok();
    if (fchownat(dirfd, base.c_str(), static_cast<uid_t>(e.uid), static_cast<gid_t>(e.gid),
                 AT_SYMLINK_NOFOLLOW) != 0) {
      return ErrnoError("chown");
    }
    return Ok();
  }

  Status Times(int dirfd, const std::string& base, const TarEntry& e) {
    timespec ts[2] = {{e.mtime_sec, e.mtime_nsec}, {e.mtime_sec, e.mtime_nsec}};
    if (utimensat(dirfd, base.c_str(), ts, AT_SYMLINK_NOFOLLOW) != 0)
      return ErrnoError("set times");
    return Ok();
  }

  Status Xattrs(int dirfd, const std::string& base, const TarEntry& e) {
    if (e.xattrs.empty()) return Ok();
    // The fd names exactly the directory we resolved; the last component is
    // not followed by lsetxattr, so this reaches the entry itself.
    std::string p = FdPath(dirfd, base);
    for (const auto& [k, v] : e.xattrs) {
      if (IsOverlayInternalXattr(k)) continue;
      if (lsetxattr(p.c_str(), k.c_str(), v.data(), v.size(), 0) != 0) {
        int err = errno;
        bool user = std::string_view(k).starts_with("user.");
        if (user && (err == ENOTSUP || err == EPERM)) continue;
        return ErrnoError("set xattr " + k, err);
      }
    }
    return Ok();
  }

  Status Hardlink(int dirfd, const std::string& base, const TarEntry& e) {
    auto target = CleanLayerPath(e.linkname);
    if (!target) return InvalidArgument("hardlink target \"" + e.linkname + "\" escapes the root");
    if (target->empty()) return InvalidArgument("hardlink to the root directory");
    std::string tparent, tbase;
    SplitPath(*target, &tparent, &tbase);
    auto tdir = OpenInRoot(tparent, O_PATH | O_DIRECTORY);
    if (!tdir) return tdir.error().Wrap("hardlink target \"" + e.linkname + "\"");
    if (linkat(tdir->get(), tbase.c_str(), dirfd, base.c_str(), 0) != 0) {
      return ErrnoError("hardlink to \"" + e.linkname + "\"");
    }
    return Ok();
  }

  Status Whiteout(const TarEntry& e, const std::string& parent, const std::string& target) {
    ForgetParent();
    if (opts_.mode == ApplyMode::kMerged) {
      int err = 0;
      auto dir = OpenInRoot(parent, O_PATH | O_DIRECTORY, &err);
      if (!dir) {
        if (err == ENOENT || err == ENOTDIR) return Ok();  // nothing below to hide
        return dir.error();
      }
      return RemoveAt(dir->get(), target);
    }
    UniqueFd dir;
    STRATA_ASSIGN_OR_RETURN(dir, EnsureDir(parent));
    struct stat st;
    if (fstatat(dir.get(), target.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) replaced_ = true;
    STRATA_TRY(RemoveAt(dir.get(), target));
    if (mknodat(dir.get(), target.c_str(), S_IFCHR | 0, makedev(0, 0)) != 0) {
      return ErrnoError("mknod whiteout");
    }
    STRATA_TRY(Chown(dir.get(), target, e));
    return Ok();
  }

  Status Opaque(const std::string& parent) {
    ForgetParent();
    if (opts_.mode == ApplyMode::kOverlayDiff) {
      UniqueFd path_fd;
      STRATA_ASSIGN_OR_RETURN(path_fd, EnsureDir(parent));
      UniqueFd dir;
      STRATA_ASSIGN_OR_RETURN(dir, OpenInRoot(parent, O_RDONLY | O_DIRECTORY));
      const char* name = opts_.overlay_userxattr ? kOverlayUserOpaqueXattr : kOverlayOpaqueXattr;
      if (fsetxattr(dir.get(), name, "y", 1, 0) != 0) return ErrnoError("set opaque xattr");
      if (!parent.empty()) MarkUnpacked(parent);
      return Ok();
    }
    int err = 0;
    auto dir = OpenInRoot(parent, O_RDONLY | O_DIRECTORY, &err);
    if (!dir) {
      if (err == ENOENT || err == ENOTDIR) return Ok();
      return dir.error();
    }
    return ClearLower(dir->get(), parent);
  }

  // Removes what this layer did not itself unpack under the directory `path`.
  Status ClearLower(int dirfd, const std::string& path) {
    STRATA_ASSIGN_OR_RETURN(std::vector<std::string> children, ListDir(dirfd));
    for (const auto& c : children) {
      std::string child = path.empty() ? c : path + "/" + c;
      if (!unpacked_.contains(child)) {
        STRATA_TRY(RemoveAt(dirfd, c));
        continue;
      }
      int cfd = openat(dirfd, c.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (cfd < 0) continue;  // not a directory: kept as is
      UniqueFd owned(cfd);
      STRATA_TRY(ClearLower(cfd, child));
    }
    return Ok();
  }

  Status FixDirs() {
    for (const DirMeta& d : dirs_) {
      auto fd = OpenInRoot(d.path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
      if (!fd) continue;  // replaced or removed by a later entry
      if (fchmod(fd->get(), d.mode) != 0) return ErrnoError("chmod \"" + d.path + "\"");
      timespec ts[2] = {d.mtime, d.mtime};
      if (futimens(fd->get(), ts) != 0) return ErrnoError("set times \"" + d.path + "\"");
    }
    return Ok();
  }

  static constexpr int64_t kWritebackMin = 1 << 20;

  UniqueFd root_;
  UniqueFd parent_fd_;  // ParentDir's cache
  std::string parent_path_;
  bool parent_setgid_ = false;
  mode_t umask_ = 022;
  uid_t euid_ = 0;
  gid_t egid_ = 0;
  ApplyOptions opts_;
  bool privileged_;
  std::unordered_set<std::string> unpacked_;
  std::vector<DirMeta> dirs_;
  FileListHasher files_;
  bool replaced_ = false;
};

}  // namespace

Result<ApplyStats> ApplyLayer(Reader& tar_stream, const std::string& root_dir,
                              const ApplyOptions& options) {
  std::string ctx = options.label.empty() ? "apply layer" : "apply layer " + options.label;
  UniqueFd root(open(root_dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) return ErrnoError("open root " + root_dir).Wrap(ctx);
  Applier a(std::move(root), options);
  auto r = a.Run(tar_stream);
  if (!r) return std::move(r).error().Wrap(ctx);
  return r;
}

}  // namespace strata::archive
