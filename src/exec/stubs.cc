#include "exec/stubs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace strata::exec {
namespace {

std::vector<std::string> SplitPath(const std::string& p) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i <= p.size()) {
    size_t j = p.find('/', i);
    if (j == std::string::npos) j = p.size();
    if (j > i) out.push_back(p.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

}  // namespace

Result<std::string> ResolveInRoot(const std::string& rootfs, const std::string& path) {
  std::vector<std::string> resolved;                   // components without symlinks
  std::vector<std::string> pending = SplitPath(path);  // still to walk, front first
  std::reverse(pending.begin(), pending.end());
  int links = 0;
  while (!pending.empty()) {
    std::string c = std::move(pending.back());
    pending.pop_back();
    if (c == ".") continue;
    if (c == "..") {
      if (!resolved.empty()) resolved.pop_back();
      continue;
    }
    std::string rel;
    for (const auto& r : resolved) rel += "/" + r;
    rel += "/" + c;
    struct stat st {};
    if (::lstat((rootfs + rel).c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) {
      resolved.push_back(std::move(c));
      continue;
    }
    if (++links > 255) return ErrnoError("resolve " + path, ELOOP);
    char buf[4096];
    ssize_t n = ::readlink((rootfs + rel).c_str(), buf, sizeof(buf));
    if (n < 0) return ErrnoError("readlink " + rel);
    std::string target(buf, static_cast<size_t>(n));
    if (!target.empty() && target[0] == '/') resolved.clear();
    std::vector<std::string> parts = SplitPath(target);
    for (auto it = parts.rbegin(); it != parts.rend(); ++it) pending.push_back(*it);
  }
  std::string out;
  for (const auto& r : resolved) out += (out.empty() ? "" : "/") + r;
  return out;
}

Result<std::string> MountStubs::Ensure(const std::string& path, bool as_dir) {
  STRATA_ASSIGN_OR_RETURN(std::string rel, ResolveInRoot(rootfs_, path));
  std::vector<std::string> parts = SplitPath(rel);
  std::string cur;
  for (size_t i = 0; i < parts.size(); ++i) {
    cur += (cur.empty() ? "" : "/") + parts[i];
    std::string host = rootfs_ + "/" + cur;
    bool leaf = i + 1 == parts.size();
    struct stat st {};
    if (::lstat(host.c_str(), &st) == 0) {
      if (!leaf && !S_ISDIR(st.st_mode)) return ErrnoError("mount point " + path, ENOTDIR);
      continue;
    }
    if (errno != ENOENT) return ErrnoError("stat " + cur);
    if (!leaf || as_dir) {
      if (::mkdir(host.c_str(), 0755) != 0) return ErrnoError("mkdir " + cur);
      ::chmod(host.c_str(), 0755);  // whatever the umask
      dirs_.push_back(host);
    } else {
      int fd = ::open(host.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0755);
      if (fd < 0) return ErrnoError("create " + cur);
      ::close(fd);
      files_.push_back(host);
    }
  }
  return rel;
}

void MountStubs::Remove() {
  // BuildKit removes a stub only while it is still empty: something the
  // process wrote there (impossible through a mount, but possible after an
  // unmount inside) is kept.
  for (const auto& f : files_) {
    struct stat st {};
    if (::lstat(f.c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0) {
      ::unlink(f.c_str());
    }
  }
  if (policy_ == StubCleanup::kAll) {
    for (auto it = dirs_.rbegin(); it != dirs_.rend(); ++it) ::rmdir(it->c_str());
  }
  files_.clear();
  dirs_.clear();
}

}  // namespace strata::exec
