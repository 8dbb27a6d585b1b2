#include "exec/network.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "util/fs.h"

extern char** environ;

namespace strata::exec {
namespace {

constexpr int kReadyTimeoutMs = 10000;

UniqueFd PidfdOpen(pid_t pid) {
  return UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
}

// Waits until the process behind pidfd exits; false on timeout.
bool WaitPidfd(int pidfd, int timeout_ms) {
  pollfd p{pidfd, POLLIN, 0};
  while (true) {
    int rc = ::poll(&p, 1, timeout_ms);
    if (rc > 0) return true;
    if (rc == 0) return false;
    if (errno != EINTR) return true;
  }
}

std::string LogTail(const std::string& path) {
  auto data = ReadFile(path, 1 << 20);
  if (!data) return "";
  std::string out;
  size_t start = 0;
  // pasta complains on stderr that it has no syslog; that is noise.
  while (start < data->size()) {
    size_t end = data->find('\n', start);
    if (end == std::string::npos) end = data->size();
    std::string line = data->substr(start, end - start);
    if (!line.empty() && line.find("to syslog") == std::string::npos) {
      out += (out.empty() ? "" : "; ") + line;
    }
    start = end + 1;
  }
  return out;
}

// Spawns argv with stdin /dev/null, stdout+stderr to log, and `keep` fds
// placed at 3, 4, ... ; every other descriptor is closed.
Result<pid_t> Spawn(const std::vector<std::string>& argv, const std::string& log,
                    const std::vector<int>& keep) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  struct Cleanup {
    posix_spawn_file_actions_t* fa;
    ~Cleanup() { posix_spawn_file_actions_destroy(fa); }
  } cleanup{&fa};
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  for (size_t i = 0; i < keep.size(); ++i) {
    posix_spawn_file_actions_adddup2(&fa, keep[i], static_cast<int>(3 + i));
  }
  posix_spawn_file_actions_addclosefrom_np(&fa, static_cast<int>(3 + keep.size()));
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  sigset_t all;
  sigfillset(&all);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  std::vector<char*> cargv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  pid_t pid = 0;
  int rc = posix_spawn(&pid, argv[0].c_str(), &fa, &attr, cargv.data(), environ);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return ErrnoError("spawn " + argv[0], rc);
  return pid;
}

// Reaps a child, killing it after timeout_ms. Returns its wait status.
int ReapChild(pid_t pid, int timeout_ms) {
  UniqueFd pidfd = PidfdOpen(pid);
  if (pidfd && !WaitPidfd(pidfd.get(), timeout_ms)) ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

// A descriptor at 10 or above, so that placing helpers' fds at 3.. never
// overwrites one still to be placed.
Result<UniqueFd> HighDup(int fd) {
  int d = ::fcntl(fd, F_DUPFD_CLOEXEC, 10);
  if (d < 0) return ErrnoError("dup");
  return UniqueFd(d);
}

}  // namespace

std::string FindTool(const std::string& name) {
  std::string path = ::getenv("PATH") != nullptr ? ::getenv("PATH") : "";
  path += ":/usr/bin:/usr/sbin:/bin:/sbin";
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find(':', i);
    if (j == std::string::npos) j = path.size();
    std::string dir = path.substr(i, j - i);
    i = j + 1;
    if (dir.empty() || dir[0] != '/') continue;
    std::string cand = dir + "/" + name;
    if (::access(cand.c_str(), X_OK) == 0) return cand;
  }
  return "";
}

NetworkHelper::NetworkHelper(NetworkHelper&& o) noexcept
    : tool_(std::move(o.tool_)),
      pid_(std::exchange(o.pid_, 0)),
      own_child_(o.own_child_),
      pidfd_(std::move(o.pidfd_)),
      exit_fd_(std::move(o.exit_fd_)) {}

NetworkHelper& NetworkHelper::operator=(NetworkHelper&& o) noexcept {
  if (this != &o) {
    Stop();
    tool_ = std::move(o.tool_);
    pid_ = std::exchange(o.pid_, 0);
    own_child_ = o.own_child_;
    pidfd_ = std::move(o.pidfd_);
    exit_fd_ = std::move(o.exit_fd_);
  }
  return *this;
}

void NetworkHelper::Stop() {
  if (pid_ == 0) return;
  if (own_child_) {
    exit_fd_.reset();  // slirp4netns's --exit-fd: it quits on EOF
    ReapChild(pid_, 2000);
  } else if (pidfd_) {
    // pasta daemonized, so it is not our child: signal and watch it through
    // the pidfd (immune to pid reuse) until it is gone.
    ::syscall(SYS_pidfd_send_signal, pidfd_.get(), SIGTERM, nullptr, 0);
    if (!WaitPidfd(pidfd_.get(), 2000)) {
      ::syscall(SYS_pidfd_send_signal, pidfd_.get(), SIGKILL, nullptr, 0);
      WaitPidfd(pidfd_.get(), 5000);
    }
  }
  pidfd_.reset();
  pid_ = 0;
}

Result<NetworkHelper> NetworkHelper::Start(pid_t pid, int netns_fd, const std::string& state_dir,
                                           const std::string& only) {
  if (!only.empty() && only != "pasta" && only != "slirp4netns") {
    return InvalidArgument("unknown network helper \"" + only + "\"");
  }
  STRATA_ASSIGN_OR_RETURN(UniqueFd ns, HighDup(netns_fd));
  NetworkHelper h;
  std::string pasta = only.empty() || only == "pasta" ? FindTool("pasta") : "";
  if (!pasta.empty()) {
    std::string log = state_dir + "/pasta.log";
    std::string pidfile = state_dir + "/pasta.pid";
    // --runas 0: as "nobody" pasta cannot join a namespace owned by a root
    // process. The namespace is passed as an inherited fd because opening
    // /proc/<pid>/ns/net needs ptrace rights pasta has dropped by then.
    // -t/-u/-T/-U none: no port forwarding either way (the default "auto"
    // would forward the host's loopback listeners into the namespace).
    std::vector<std::string> argv = {
        pasta,  "--runas", "0",     "--config-net", "--no-map-gw", "-t",
        "none", "-u",      "none",  "-T",           "none",        "-U",
        "none", "-q",      "--pid", pidfile,        "--netns",     "/proc/self/fd/3"};
    STRATA_ASSIGN_OR_RETURN(pid_t launcher, Spawn(argv, log, {ns.get()}));
    // pasta forks into the background once the namespace is configured; the
    // launcher's exit is the readiness signal.
    int status = ReapChild(launcher, kReadyTimeoutMs);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      return Unavailable("pasta failed: " + LogTail(log));
    }
    auto pid_text = ReadFile(pidfile, 64);
    if (!pid_text) return Unavailable("pasta wrote no pid file: " + LogTail(log));
    pid_t daemon = static_cast<pid_t>(std::strtol(pid_text->c_str(), nullptr, 10));
    if (daemon <= 0) return Unavailable("pasta pid file: bad content");
    h.tool_ = "pasta";
    h.pid_ = daemon;
    h.pidfd_ = PidfdOpen(daemon);
    if (!h.pidfd_) {
      h.pid_ = 0;
      return Unavailable("pasta exited right after starting: " + LogTail(log));
    }
    return h;
  }
  std::string slirp = only.empty() || only == "slirp4netns" ? FindTool("slirp4netns") : "";
  if (!slirp.empty()) {
    std::string log = state_dir + "/slirp4netns.log";
    int ready[2], exitp[2];
    if (::pipe2(ready, O_CLOEXEC) != 0) return ErrnoError("pipe");
    UniqueFd ready_r(ready[0]), ready_w(ready[1]);
    if (::pipe2(exitp, O_CLOEXEC) != 0) return ErrnoError("pipe");
    UniqueFd exit_r(exitp[0]), exit_w(exitp[1]);
    STRATA_ASSIGN_OR_RETURN(UniqueFd rw, HighDup(ready_w.get()));
    STRATA_ASSIGN_OR_RETURN(UniqueFd er, HighDup(exit_r.get()));
    std::vector<std::string> argv = {
        slirp,          "--configure", "--mtu=65520",       "--disable-host-loopback",
        "--ready-fd=3", "--exit-fd=4", std::to_string(pid), "tap0"};
    STRATA_ASSIGN_OR_RETURN(pid_t child, Spawn(argv, log, {rw.get(), er.get()}));
    h.tool_ = "slirp4netns";
    h.pid_ = child;
    h.own_child_ = true;
    h.exit_fd_ = std::move(exit_w);
    rw.reset();
    ready_w.reset();
    pollfd p{ready_r.get(), POLLIN, 0};
    char c = 0;
    if (::poll(&p, 1, kReadyTimeoutMs) <= 0 || ::read(ready_r.get(), &c, 1) != 1 || c != '1') {
      h.Stop();
      return Unavailable("slirp4netns did not get ready: " + LogTail(log));
    }
    return h;
  }
  if (!only.empty()) return Unavailable("network helper " + only + " is not installed");
  return Unavailable("network sandbox needs pasta (package passt) or slirp4netns");
}

Result<std::unique_ptr<PreparedNetwork>> PreparedNetwork::Create(const std::string& state_parent) {
  if (FindTool("pasta").empty()) return Unavailable("no pasta to prepare a network with");
  std::unique_ptr<PreparedNetwork> n(new PreparedNetwork());
  std::string parent = state_parent;
  if (parent.empty()) {
    const char* t = std::getenv("TMPDIR");
    parent = t && *t ? t : "/tmp";
  }
  STRATA_ASSIGN_OR_RETURN(n->state_, TempDir::Create(parent, "strata-net-"));
  // unshare(CLONE_NEWNET) moves only the calling thread: do it on a thread
  // of its own that keeps the namespace alive through an fd and then ends.
  int fd = -1, err = 0;
  std::thread t([&] {
    if (::unshare(CLONE_NEWNET) != 0) {
      err = errno;
      return;
    }
    fd = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (fd < 0) err = errno;
  });
  t.join();
  if (fd < 0) return ErrnoError("exec: new network namespace", err);
  n->ns_ = UniqueFd(fd);
  STRATA_ASSIGN_OR_RETURN(n->helper_, NetworkHelper::Start(0, fd, n->state_.path(), "pasta"));
  return n;
}

}  // namespace strata::exec
