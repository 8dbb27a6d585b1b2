#include "exec/child.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

// Nothing here may allocate or lock: the parent may have had other threads
// holding malloc's or stdio's locks when it called clone().
namespace strata::exec::internal {
namespace {

size_t Len(const char* s) {
  size_t n = 0;
  while (s[n] != '\0') ++n;
  return n;
}

// Appends src to dst (capacity cap, NUL-terminated); truncates.
void Append(char* dst, size_t cap, const char* src) {
  size_t n = Len(dst);
  while (*src != '\0' && n + 1 < cap) dst[n++] = *src++;
  dst[n] = '\0';
}

void AppendInt(char* dst, size_t cap, long v) {
  char tmp[24];
  int i = 0;
  bool neg = v < 0;
  unsigned long u = neg ? static_cast<unsigned long>(-v) : static_cast<unsigned long>(v);
  do {
    tmp[i++] = static_cast<char>('0' + u % 10);
    u /= 10;
  } while (u != 0);
  if (neg) tmp[i++] = '-';
  char out[24];
  int j = 0;
  while (i > 0) out[j++] = tmp[--i];
  out[j] = '\0';
  Append(dst, cap, out);
}

[[noreturn]] void Fail(const ChildArgs& a, int32_t stage, int err, int step, const char* what) {
  ChildError e;
  e.stage = stage;
  e.err = err;
  e.step = step;
  e.what[0] = '\0';
  if (what != nullptr) Append(e.what, sizeof(e.what), what);
  ssize_t unused = ::write(a.error_fd, &e, sizeof(e));
  (void)unused;
  ::_exit(127);
}

// openat2 with RESOLVE_IN_ROOT: the image's symlinks resolve inside the root.
int OpenRel(int rootfd, const char* rel, int flags) {
  while (*rel == '/') ++rel;
  if (*rel == '\0') rel = ".";
  open_how how{};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  for (int i = 0; i < 16; ++i) {
    long fd = ::syscall(SYS_openat2, rootfd, rel, &how, sizeof(how));
    if (fd >= 0 || errno != EAGAIN) return static_cast<int>(fd);
  }
  return -1;
}

// Splits rel into parent (in buf) and leaf (returned, points into buf).
const char* SplitParent(const char* rel, char* buf, size_t cap) {
  buf[0] = '\0';
  Append(buf, cap, rel);
  size_t n = Len(buf);
  while (n > 1 && buf[n - 1] == '/') buf[--n] = '\0';
  size_t slash = n;
  while (slash > 0 && buf[slash - 1] != '/') --slash;
  if (slash == 0) {
    // "name": the parent is the root itself. Shift the leaf right by one.
    for (size_t i = n + 1; i > 0; --i) buf[i] = buf[i - 1];
    buf[0] = '\0';
    return buf + 1;
  }
  buf[slash - 1] = '\0';
  return buf + slash;
}

// mkdir -p inside the root; returns 0 or -1 with errno.
int MkdirAllRel(int rootfd, const char* rel) {
  char path[4096];
  path[0] = '\0';
  Append(path, sizeof(path), rel);
  size_t n = Len(path);
  for (size_t i = 1; i <= n; ++i) {
    if (path[i] != '/' && path[i] != '\0') continue;
    char saved = path[i];
    path[i] = '\0';
    int fd = OpenRel(rootfd, path, O_PATH | O_DIRECTORY);
    if (fd >= 0) {
      ::close(fd);
    } else if (errno == ENOENT) {
      char buf[4096];
      const char* leaf = SplitParent(path, buf, sizeof(buf));
      int pfd = OpenRel(rootfd, buf, O_PATH | O_DIRECTORY);
      if (pfd < 0) return -1;
      int rc = ::mkdirat(pfd, leaf, 0755);
      int err = errno;
      ::close(pfd);
      if (rc != 0 && err != EEXIST) {
        errno = err;
        return -1;
      }
    } else {
      return -1;
    }
    path[i] = saved;
  }
  return 0;
}

// Opens (O_PATH) the mount target, creating it when asked.
int OpenTarget(int rootfd, const Step& s) {
  int fd = OpenRel(rootfd, s.target_rel, O_PATH);
  if (fd >= 0 || errno != ENOENT || !(s.create_dir || s.create_file)) return fd;
  char buf[4096];
  const char* leaf = SplitParent(s.target_rel, buf, sizeof(buf));
  if (MkdirAllRel(rootfd, buf) != 0) return -1;
  int pfd = OpenRel(rootfd, buf, O_PATH | O_DIRECTORY);
  if (pfd < 0) return -1;
  int rc;
  if (s.create_dir) {
    rc = ::mkdirat(pfd, leaf, 0755);
  } else {
    rc = ::openat(pfd, leaf, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0755);
    if (rc >= 0) rc = ::close(rc);
  }
  int err = errno;
  ::close(pfd);
  if (rc != 0 && err != EEXIST) {
    errno = err;
    return -1;
  }
  return OpenRel(rootfd, s.target_rel, O_PATH);
}

void FdPath(char* buf, size_t cap, int fd) {
  buf[0] = '\0';
  Append(buf, cap, "/proc/self/fd/");
  AppendInt(buf, cap, fd);
}

// The flags a remount must keep: the kernel refuses to clear nosuid/nodev/
// noexec/ro-ish "locked" flags inherited from the source mount.
unsigned long LockedFlags(const char* path) {
  struct statfs st;
  if (::statfs(path, &st) != 0) return 0;
  unsigned long f = 0;
  if (st.f_flags & ST_NOSUID) f |= MS_NOSUID;
  if (st.f_flags & ST_NODEV) f |= MS_NODEV;
  if (st.f_flags & ST_NOEXEC) f |= MS_NOEXEC;
  if (st.f_flags & ST_NOATIME) f |= MS_NOATIME;
  if (st.f_flags & ST_NODIRATIME) f |= MS_NODIRATIME;
  if (st.f_flags & ST_RELATIME) f |= MS_RELATIME;
  return f;
}

// Returns 0, or -1 with errno; *what names the failing call.
int DoStep(int rootfd, const Step& s, const char** what) {
  char fdpath[64];
  switch (s.kind) {
    case Step::kMount: {
      *what = "open mount target";
      int fd = OpenTarget(rootfd, s);
      if (fd < 0) return (s.ignore_missing && errno == ENOENT) ? 0 : -1;
      FdPath(fdpath, sizeof(fdpath), fd);
      int rc;
      *what = "mount";
      if (s.flags & MS_BIND) {
        rc = ::mount(s.source, fdpath, nullptr, MS_BIND | (s.flags & MS_REC), nullptr);
        ::close(fd);
        if (rc != 0) return -1;
        unsigned long extra = s.flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC);
        if (extra != 0) {
          // The new mount hides what fd points at: reopen to reach it.
          *what = "reopen mount target";
          fd = OpenRel(rootfd, s.target_rel, O_PATH);
          if (fd < 0) return -1;
          FdPath(fdpath, sizeof(fdpath), fd);
          *what = "remount";
          rc = ::mount(nullptr, fdpath, nullptr, MS_REMOUNT | MS_BIND | extra | LockedFlags(fdpath),
                       nullptr);
          ::close(fd);
        }
        return rc;
      }
      rc = ::mount(s.source, fdpath, s.fstype, s.flags, s.data);
      ::close(fd);
      return rc;
    }
    case Step::kMknod:
    case Step::kSymlink:
    case Step::kMkdir: {
      char buf[4096];
      const char* leaf = SplitParent(s.target_rel, buf, sizeof(buf));
      *what = "open parent";
      int pfd = OpenRel(rootfd, buf, O_PATH | O_DIRECTORY);
      if (pfd < 0) return -1;
      int rc;
      if (s.kind == Step::kMknod) {
        *what = "mknod";
        rc = ::mknodat(pfd, leaf, s.mode, s.dev);
      } else if (s.kind == Step::kSymlink) {
        *what = "symlink";
        rc = ::symlinkat(s.source, pfd, leaf);
      } else {
        *what = "mkdir";
        rc = ::mkdirat(pfd, leaf, s.mode);
        if (rc != 0 && errno == EEXIST) rc = 0;
      }
      int err = errno;
      ::close(pfd);
      errno = err;
      return rc;
    }
  }
  return 0;
}

int BringLoopbackUp() {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  struct ifreq ifr {};
  ifr.ifr_name[0] = 'l';
  ifr.ifr_name[1] = 'o';
  int rc = ::ioctl(fd, SIOCGIFFLAGS, &ifr);
  if (rc == 0) {
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP | IFF_RUNNING);
    rc = ::ioctl(fd, SIOCSIFFLAGS, &ifr);
  }
  int err = errno;
  ::close(fd);
  errno = err;
  return rc;
}

bool IsExecutable(const char* path, int* err) {
  struct stat st;
  if (::stat(path, &st) != 0) {
    *err = errno;
    return false;
  }
  if (S_ISDIR(st.st_mode) || (st.st_mode & 0111) == 0) {
    *err = EACCES;
    return false;
  }
  return true;
}

// Go's exec.LookPath, as runc uses it: with a '/', the name itself; otherwise
// the first executable regular file along PATH (an empty entry means ".").
// Lookup failures use ChildError::step: 1 not in PATH, 2 stat failed, 3 not
// executable.
void LookPath(const ChildArgs& a, char* out, size_t cap) {
  const char* name = a.argv[0];
  bool has_slash = false;
  for (const char* p = name; *p != '\0'; ++p) has_slash |= (*p == '/');
  out[0] = '\0';
  if (has_slash) {
    int err = 0;
    if (!IsExecutable(name, &err)) Fail(a, ChildError::kLookup, err, err == EACCES ? 3 : 2, name);
    Append(out, cap, name);
    return;
  }
  if (name[0] != '\0') {
    const char* p = a.path_env != nullptr ? a.path_env : "";
    while (true) {
      const char* end = p;
      while (*end != '\0' && *end != ':') ++end;
      char cand[4096];
      cand[0] = '\0';
      if (end == p) {
        Append(cand, sizeof(cand), ".");
      } else {
        size_t n = static_cast<size_t>(end - p);
        if (n >= sizeof(cand) - 2) n = sizeof(cand) - 2;
        for (size_t i = 0; i < n; ++i) cand[i] = p[i];
        cand[n] = '\0';
      }
      Append(cand, sizeof(cand), "/");
      Append(cand, sizeof(cand), name);
      int err = 0;
      if (IsExecutable(cand, &err)) {
        Append(out, cap, cand);
        return;
      }
      if (*end == '\0') break;
      p = end + 1;
    }
  }
  Fail(a, ChildError::kLookup, ENOENT, 1, name);
}

int Capset(uint64_t caps) {
  __user_cap_header_struct hdr{};
  hdr.version = _LINUX_CAPABILITY_VERSION_3;
  hdr.pid = 0;
  __user_cap_data_struct data[2]{};
  data[0].effective = data[0].permitted = static_cast<uint32_t>(caps);
  data[1].effective = data[1].permitted = static_cast<uint32_t>(caps >> 32);
  return static_cast<int>(::syscall(SYS_capset, &hdr, data));
}

int LoadSeccomp(const sock_fprog* prog) {
  return static_cast<int>(::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, prog));
}

}  // namespace

int ChildMain(void* arg) {
  const ChildArgs& a = *static_cast<const ChildArgs*>(arg);
  // The parent blocked every signal around clone(): put back the defaults
  // (its handlers and SIG_IGN, e.g. for SIGPIPE, would survive execve) while
  // nothing can be delivered yet; the mask is cleared just before execve.
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) ::sigaction(sig, &dfl, nullptr);
  }
  ::umask(0);
  for (int fd : a.parent_fds) {
    if (fd >= 0) ::close(fd);
  }

  // The caller's stdout/stderr may sit on any number; keep private copies
  // until the final dup2 so none is clobbered by another.
  int out = ::fcntl(a.stdout_fd, F_DUPFD_CLOEXEC, 3);
  if (out < 0) Fail(a, ChildError::kSetup, errno, -1, "dup stdout");
  int err_fd = ::fcntl(a.stderr_fd, F_DUPFD_CLOEXEC, 3);
  if (err_fd < 0) Fail(a, ChildError::kSetup, errno, -1, "dup stderr");

  if (a.netns_fd >= 0 && ::setns(a.netns_fd, CLONE_NEWNET) != 0) {
    Fail(a, ChildError::kSetup, errno, -1, "join network namespace");
  }
  // Nothing mounted from here on may propagate back to the host.
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) != 0) {
    Fail(a, ChildError::kSetup, errno, -1, "make / rslave");
  }
  // pivot_root needs the new root to be a mount point.
  if (::mount(a.rootfs, a.rootfs, nullptr, MS_BIND | MS_REC, nullptr) != 0) {
    Fail(a, ChildError::kSetup, errno, -1, "bind rootfs");
  }
  int rootfd = ::open(a.rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0) Fail(a, ChildError::kSetup, errno, -1, "open rootfs");

  for (int i = 0; i < a.num_steps; ++i) {
    const char* what = "";
    if (DoStep(rootfd, a.steps[i], &what) != 0) Fail(a, ChildError::kSetup, errno, i, what);
  }

  if (::sethostname(a.hostname, Len(a.hostname)) != 0) {
    Fail(a, ChildError::kSetup, errno, -1, "sethostname");
  }
  if (a.own_netns && BringLoopbackUp() != 0) {
    Fail(a, ChildError::kSetup, errno, -1, "bring up lo");
  }

  // Wait for the parent: the network helper must be attached before the
  // process runs. EOF means the parent gave up.
  char go = 0;
  ssize_t n;
  do {
    n = ::read(a.sync_fd, &go, 1);
  } while (n < 0 && errno == EINTR);
  if (n != 1) Fail(a, ChildError::kNetWait, n < 0 ? errno : EPIPE, -1, "wait for network");

  if (::fchdir(rootfd) != 0) Fail(a, ChildError::kSetup, errno, -1, "chdir rootfs");
  // pivot_root(".", ".") stacks the old root under the new one; detaching
  // it leaves the host's tree unreachable.
  if (::syscall(SYS_pivot_root, ".", ".") != 0) {
    Fail(a, ChildError::kSetup, errno, -1, "pivot_root");
  }
  if (::umount2(".", MNT_DETACH) != 0) Fail(a, ChildError::kSetup, errno, -1, "detach old root");
  if (::chdir("/") != 0) Fail(a, ChildError::kSetup, errno, -1, "chdir /");
  ::close(rootfd);
  // The container's own /dev/null, so that /proc/self/fd/0 reads "/dev/null".
  int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (devnull < 0) Fail(a, ChildError::kSetup, errno, -1, "open /dev/null");
  // As root, before the user switch: a cwd the user cannot search still works
  // as the starting directory, as with runc.
  if (::chdir(a.cwd) != 0) Fail(a, ChildError::kSetup, errno, -1, a.cwd);

  // Without no_new_privs, installing a filter needs CAP_SYS_ADMIN, so it goes
  // on before the capabilities are dropped (as runc does). Every call below
  // is allowed by the profile.
  if (!a.no_new_privs && a.seccomp != nullptr && LoadSeccomp(a.seccomp) != 0) {
    Fail(a, ChildError::kSetup, errno, -1, "seccomp");
  }
  for (int c = 0; c <= a.last_cap; ++c) {
    if ((a.caps >> c) & 1) continue;
    if (::prctl(PR_CAPBSET_DROP, c, 0, 0, 0) != 0 && errno != EINVAL) {
      Fail(a, ChildError::kSetup, errno, c, "drop bounding capability");
    }
  }
  if (::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) Fail(a, ChildError::kSetup, errno, -1, "keepcaps");
  // Raw syscalls: glibc's set*id wrappers would try to signal the parent's
  // other threads, which do not exist in this copy.
  if (::syscall(SYS_setgroups, a.num_groups, a.groups) != 0) {
    Fail(a, ChildError::kSetup, errno, -1, "setgroups");
  }
  if (::syscall(SYS_setresgid, a.gid, a.gid, a.gid) != 0) {
    Fail(a, ChildError::kSetup, errno, -1, "setresgid");
  }
  if (::syscall(SYS_setresuid, a.uid, a.uid, a.uid) != 0) {
    Fail(a, ChildError::kSetup, errno, -1, "setresuid");
  }
  if (::prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0) Fail(a, ChildError::kSetup, errno, -1, "keepcaps");
  if (Capset(a.caps) != 0) Fail(a, ChildError::kSetup, errno, -1, "capset");
  if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) {
    Fail(a, ChildError::kSetup, errno, -1, "clear ambient capabilities");
  }
  // Changing credentials cleared any parent-death signal: set it now, so the
  // tree dies with the thread that runs it.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);

  char path[4096];
  LookPath(a, path, sizeof(path));

  if (a.no_new_privs) {
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
      Fail(a, ChildError::kSetup, errno, -1, "no_new_privs");
    }
    if (a.seccomp != nullptr && LoadSeccomp(a.seccomp) != 0) {
      Fail(a, ChildError::kSetup, errno, -1, "seccomp");
    }
  }

  if (::dup2(devnull, 0) < 0 || ::dup2(out, 1) < 0 || ::dup2(err_fd, 2) < 0) {
    Fail(a, ChildError::kSetup, errno, -1, "dup2 stdio");
  }
  // Descriptors another thread of the parent opened without O_CLOEXEC must
  // not leak into the container.
  ::syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);
  ::umask(022);
  uint64_t no_signals = 0;
  ::syscall(SYS_rt_sigprocmask, SIG_SETMASK, &no_signals, nullptr, sizeof(no_signals));
  ::execve(path, a.argv, a.envp);
  Fail(a, ChildError::kExec, errno, -1, path);
}

}  // namespace strata::exec::internal
