#include "util/fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/openat2.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <set>
#include <utility>

#include "util/io.h"

namespace strata {

Result<UniqueFd> OpenFile(const std::string& path, int flags, int mode) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  if (fd < 0) return ErrnoError("open " + path);
  return UniqueFd(fd);
}

Result<std::string> ReadFile(const std::string& path, size_t max_bytes) {
  STRATA_ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(path, O_RDONLY));
  FdReader r(fd.get());
  auto data = ReadAll(r, max_bytes);
  if (!data) return std::move(data).error().Wrap("read " + path);
  return data;
}

Result<UniqueFd> OpenInRoot(int root_fd, const std::string& path, uint64_t flags, int* err_out) {
  open_how how{};
  how.flags = flags | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  const char* p = path.empty() ? "." : path.c_str();
  for (int attempt = 0;; ++attempt) {
    long fd = ::syscall(SYS_openat2, root_fd, p, &how, sizeof(how));
    if (fd >= 0) return UniqueFd(static_cast<int>(fd));
    int err = errno;
    // openat2 fails with EAGAIN when a rename raced the resolution: retry.
    if (err == EAGAIN && attempt < 16) continue;
    if (err_out != nullptr) *err_out = err;
    return ErrnoError("open \"" + path + "\" in root", err);
  }
}

Result<UniqueFd> MakeDirsInRoot(int root_fd, const std::string& path, int mode, uint32_t uid,
                                uint32_t gid) {
  STRATA_ASSIGN_OR_RETURN(UniqueFd dir, OpenInRoot(root_fd, "", O_RDONLY | O_DIRECTORY));
  std::string done;
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    std::string name = path.substr(i, j - i);
    i = j + 1;
    if (name.empty() || name == ".") continue;
    std::string next = done.empty() ? name : done + "/" + name;
    int err = 0;
    auto child = OpenInRoot(root_fd, next, O_RDONLY | O_DIRECTORY, &err);
    if (!child && err == ENOENT && name != "..") {
      if (::mkdirat(dir.get(), name.c_str(), static_cast<mode_t>(mode)) != 0 && errno != EEXIST) {
        return ErrnoError("mkdir " + next);
      }
      if (::fchmodat(dir.get(), name.c_str(), static_cast<mode_t>(mode), 0) != 0 ||
          ::fchownat(dir.get(), name.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW) != 0) {
        return ErrnoError("chown " + next);
      }
      child = OpenInRoot(root_fd, next, O_RDONLY | O_DIRECTORY, &err);
    }
    if (!child) return ErrnoError("mkdir " + next, err);
    dir = std::move(*child);
    done = next;
  }
  return dir;
}

Result<std::vector<std::string>> ListDir(int dirfd) {
  // fdopendir takes over the fd it is given: hand it a fresh one.
  int fd = ::openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("open directory");
  DIR* d = ::fdopendir(fd);
  if (d == nullptr) {
    int err = errno;
    ::close(fd);
    return ErrnoError("opendir", err);
  }
  std::vector<std::string> names;
  errno = 0;
  while (dirent* de = ::readdir(d)) {
    std::string_view n = de->d_name;
    if (n != "." && n != "..") names.emplace_back(n);
  }
  int err = errno;
  ::closedir(d);
  if (err != 0) return ErrnoError("readdir", err);
  return names;
}

Status FsyncDir(const std::string& dir) {
  STRATA_ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(dir, O_RDONLY | O_DIRECTORY));
  if (::fsync(fd.get()) != 0) return ErrnoError("fsync " + dir);
  return Ok();
}

Status CopyFileData(int in, int out, off_t size, FileCopyMethods& can, const std::string& what) {
  if (can.reflink && size > 0) {
    if (::ioctl(out, FICLONE, in) == 0) return Ok();
    can.reflink = false;
  }
  off_t left = size;
  // With null offsets copy_file_range moves both files' offsets: read/write goes on from there.
  while (can.copy_range && left > 0) {
    ssize_t n = ::copy_file_range(in, nullptr, out, nullptr, static_cast<size_t>(left), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EOPNOTSUPP || errno == EINVAL)) {
      can.copy_range = false;
      break;
    }
    if (n < 0) return ErrnoError("copy " + what);
    if (n == 0) return Ok();  // shrank meanwhile
    left -= n;
  }
  if (left == 0) return Ok();
  std::vector<char> buf(static_cast<size_t>(std::min<off_t>(left, 1 << 17)));
  FdWriter w(out);
  while (left > 0) {
    ssize_t n = ::read(in, buf.data(), static_cast<size_t>(std::min<off_t>(left, buf.size())));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError("read " + what);
    if (n == 0) return Ok();  // shrank meanwhile
    if (Status st = w.Write(buf.data(), static_cast<size_t>(n)); !st) {
      return std::move(st).error().Wrap("copy " + what);
    }
    left -= n;
  }
  return Ok();
}

Status WriteFileAtomic(const std::string& path, std::string_view data, int mode, bool durable) {
  return WriteFileAtomicStream(path, mode, durable,
                               [&](Writer& w) { return w.Write(data.data(), data.size()); });
}

Status WriteFileAtomicStream(const std::string& path, int mode, bool durable,
                             const std::function<Status(Writer&)>& fill) {
  std::filesystem::path p(path);
  std::string tmp = p.parent_path().string() + (p.has_parent_path() ? "/." : ".") +
                    p.filename().string() + ".tmp" + std::to_string(::getpid());
  {
    STRATA_ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(tmp, O_WRONLY | O_CREAT | O_TRUNC, mode));
    FdWriter w(fd.get());
    if (auto st = fill(w); !st) {
      ::unlink(tmp.c_str());
      return st;
    }
    if (durable && ::fsync(fd.get()) != 0) {
      ::unlink(tmp.c_str());
      return ErrnoError("fsync " + tmp);
    }
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    return ErrnoError("rename " + path, e);
  }
  if (!durable) return Ok();
  return FsyncDir(p.parent_path().empty() ? "." : p.parent_path().string());
}

Status MakeDirs(const std::string& path, int mode) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) return ErrnoError("mkdir " + path, ec.value());
  (void)mode;
  return Ok();
}

Status RemoveAll(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
  if (ec && ec != std::errc::no_such_file_or_directory) {
    return ErrnoError("remove " + path, ec.value());
  }
  return Ok();
}

uint64_t DiskUsage(const std::string& path) {
  std::error_code ec;
  uint64_t total = 0;
  std::set<std::pair<dev_t, ino_t>> seen;
  auto add = [&](const std::string& p) {
    struct stat st;
    if (::lstat(p.c_str(), &st) != 0) return;
    if (st.st_nlink > 1 && !seen.insert({st.st_dev, st.st_ino}).second) return;
    total += static_cast<uint64_t>(st.st_blocks) * 512;
  };
  add(path);
  std::filesystem::recursive_directory_iterator it(
      path, std::filesystem::directory_options::skip_permission_denied, ec);
  for (; !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    add(it->path().string());
  }
  return total;
}

Result<TempDir> TempDir::Create(const std::string& parent, std::string_view prefix) {
  STRATA_TRY(MakeDirs(parent));
  std::string tmpl = parent + "/" + std::string(prefix) + "XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) return ErrnoError("mkdtemp " + parent);
  return TempDir(tmpl);
}

TempDir& TempDir::operator=(TempDir&& o) noexcept {
  if (this != &o) {
    if (!path_.empty()) (void)RemoveAll(path_);
    path_ = std::exchange(o.path_, {});
  }
  return *this;
}

TempDir::~TempDir() {
  if (!path_.empty()) (void)RemoveAll(path_);
}

}  // namespace strata
