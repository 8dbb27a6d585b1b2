#include "exec/sandbox.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "exec/child.h"
#include "exec/network.h"
#include "exec/seccomp.h"
#include "exec/stubs.h"
#include "util/fs.h"

namespace strata::exec {
namespace {

using internal::ChildArgs;
using internal::ChildError;
using internal::Step;

constexpr int kPollMs = 50;
constexpr size_t kChildStack = 512 * 1024;

// CAP_CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP
// NET_BIND_SERVICE NET_RAW SYS_CHROOT MKNOD AUDIT_WRITE SETFCAP.
constexpr int kDefaultCaps[] = {0, 1, 3, 4, 5, 6, 7, 8, 10, 13, 18, 27, 29, 31};

// runc's masked and read-only paths (what docker applies to every container).
constexpr const char* kMaskedDirs[] = {"proc/acpi", "proc/scsi", "sys/firmware"};
constexpr const char* kMaskedFiles[] = {"proc/kcore",      "proc/keys",        "proc/latency_stats",
                                        "proc/timer_list", "proc/timer_stats", "proc/sched_debug"};
constexpr const char* kReadonlyPaths[] = {"proc/bus", "proc/fs", "proc/irq", "proc/sys",
                                          "proc/sysrq-trigger"};

int LastCap() {
  auto text = ReadFile("/proc/sys/kernel/cap_last_cap", 64);
  if (!text) return 40;
  int v = std::atoi(text->c_str());
  return v > 0 ? v : 40;
}

// The env value of `key` (last assignment wins, as with os.Setenv in runc).
const std::string* EnvValue(const std::vector<std::string>& env, const std::string& key) {
  const std::string* found = nullptr;
  for (const auto& e : env) {
    if (e.size() > key.size() && e.compare(0, key.size(), key) == 0 && e[key.size()] == '=') {
      found = &e;
    }
  }
  return found;
}

// runc sets HOME from the container's /etc/passwd entry of the uid, "/"
// when there is none.
std::string HomeFor(const std::string& rootfs, uint32_t uid) {
  auto rel = ResolveInRoot(rootfs, "/etc/passwd");
  if (!rel) return "/";
  auto data = ReadFile(rootfs + "/" + *rel, 16 << 20);
  if (!data) return "/";
  size_t start = 0;
  while (start < data->size()) {
    size_t end = data->find('\n', start);
    if (end == std::string::npos) end = data->size();
    std::string line = data->substr(start, end - start);
    start = end + 1;
    std::vector<std::string> f;
    size_t i = 0;
    while (true) {
      size_t j = line.find(':', i);
      f.push_back(line.substr(i, j == std::string::npos ? std::string::npos : j - i));
      if (j == std::string::npos) break;
      i = j + 1;
    }
    if (f.size() >= 6 && f[2] == std::to_string(uid)) return f[5].empty() ? "/" : f[5];
  }
  return "/";
}

// What the parent keeps for the child's whole life: strings the steps point
// into must stay put, hence a deque.
struct Plan {
  std::deque<std::string> strings;
  std::vector<Step> steps;
  const char* Keep(std::string s) { return strings.emplace_back(std::move(s)).c_str(); }
};

void AddMount(Plan& p, const std::string& source, const std::string& target_rel, const char* fstype,
              unsigned long flags, const std::string& data) {
  Step s;
  s.kind = Step::kMount;
  s.source = p.Keep(source);
  s.target_rel = p.Keep(target_rel);
  s.fstype = fstype;
  s.flags = flags;
  s.data = data.empty() ? nullptr : p.Keep(data);
  p.steps.push_back(s);
}

void AddNode(Plan& p, Step::Kind kind, const std::string& rel, mode_t mode, dev_t dev,
             const std::string& link = "") {
  Step s;
  s.kind = kind;
  s.target_rel = p.Keep(rel);
  s.mode = mode;
  s.dev = dev;
  if (!link.empty()) s.source = p.Keep(link);
  p.steps.push_back(s);
}

// Docker's /proc, /dev and /sys (flags and options as seen in
// /proc/self/mountinfo of a docker 20.10 RUN step).
void AddSystemMounts(Plan& p, const std::string& rootfs, const std::string& proc_rel,
                     const std::string& dev_rel, const std::string& sys_rel) {
  AddMount(p, "proc", proc_rel, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "");
  AddMount(p, "tmpfs", dev_rel, "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k");
  for (const char* d : {"pts", "shm", "mqueue"}) {
    AddNode(p, Step::kMkdir, dev_rel + "/" + d, 0755, 0);
  }
  AddMount(p, "devpts", dev_rel + "/pts", "devpts", MS_NOSUID | MS_NOEXEC,
           "newinstance,ptmxmode=0666,mode=0620,gid=5");
  AddMount(p, "shm", dev_rel + "/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
           "mode=1777,size=65536k");
  AddMount(p, "mqueue", dev_rel + "/mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, "");
  struct Dev {
    const char* name;
    unsigned major, minor;
  };
  for (Dev d : {Dev{"null", 1, 3}, Dev{"zero", 1, 5}, Dev{"full", 1, 7}, Dev{"random", 1, 8},
                Dev{"urandom", 1, 9}, Dev{"tty", 5, 0}}) {
    AddNode(p, Step::kMknod, dev_rel + "/" + d.name, S_IFCHR | 0666, makedev(d.major, d.minor));
  }
  AddNode(p, Step::kSymlink, dev_rel + "/ptmx", 0, 0, "pts/ptmx");
  AddNode(p, Step::kSymlink, dev_rel + "/fd", 0, 0, "/proc/self/fd");
  AddNode(p, Step::kSymlink, dev_rel + "/stdin", 0, 0, "/proc/self/fd/0");
  AddNode(p, Step::kSymlink, dev_rel + "/stdout", 0, 0, "/proc/self/fd/1");
  AddNode(p, Step::kSymlink, dev_rel + "/stderr", 0, 0, "/proc/self/fd/2");
  AddMount(p, "sysfs", sys_rel, "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "");
  (void)rootfs;
}

void AddMasks(Plan& p, const std::string& rootfs, const std::string& proc_rel,
              const std::string& dev_rel, const std::string& sys_rel) {
  auto under = [&](const std::string& path) {
    // The table names paths under /proc and /sys; use where they really are.
    if (path.rfind("proc/", 0) == 0) return proc_rel + path.substr(4);
    return sys_rel + path.substr(3);
  };
  for (const char* d : kMaskedDirs) {
    AddMount(p, "tmpfs", under(d), "tmpfs", MS_RDONLY, "");
    p.steps.back().ignore_missing = true;
  }
  for (const char* f : kMaskedFiles) {
    AddMount(p, rootfs + "/" + dev_rel + "/null", under(f), nullptr, MS_BIND, "");
    p.steps.back().ignore_missing = true;
  }
  for (const char* r : kReadonlyPaths) {
    AddMount(p, rootfs + "/" + under(r), under(r), nullptr,
             MS_BIND | MS_REC | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "");
    p.steps.back().ignore_missing = true;
  }
}

// Owns the cloned child until it has been reaped; kills it if still running.
class ChildGuard {
 public:
  explicit ChildGuard(pid_t pid) : pid_(pid) {
    pidfd_.reset(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  }
  ChildGuard(const ChildGuard&) = delete;
  ChildGuard& operator=(const ChildGuard&) = delete;
  ~ChildGuard() {
    if (pid_ > 0) {
      Kill();
      Reap();
    }
  }
  int pidfd() const { return pidfd_.get(); }
  pid_t pid() const { return pid_; }
  // SIGKILL to the namespace's init takes every process of the PID namespace with it.
  void Kill() {
    if (pid_ > 0) ::kill(pid_, SIGKILL);
  }
  int Reap() {
    int status = 0;
    while (::waitpid(pid_, &status, __WALL) < 0 && errno == EINTR) {
    }
    pid_ = 0;
    return status;
  }

 private:
  pid_t pid_;
  UniqueFd pidfd_;
};

// Polls fd for readability while watching the cancel flag.
// Returns 1 readable, 0 cancelled.
int PollCancellable(int fd, const std::atomic<bool>* cancel) {
  pollfd p{fd, POLLIN, 0};
  while (true) {
    if (cancel != nullptr && cancel->load()) return 0;
    int rc = ::poll(&p, 1, kPollMs);
    if (rc > 0) return 1;
    if (rc < 0 && errno != EINTR) return 1;
  }
}

// Go spells errno texts in lower case ("no such file or directory"); runc's
// messages, and so docker's, carry them that way.
std::string GoErrnoText(int err) {
  std::string t = std::strerror(err);
  if (!t.empty() && t[0] >= 'A' && t[0] <= 'Z') t[0] = static_cast<char>(t[0] - 'A' + 'a');
  return t;
}

Error WithErrnoCode(int err, std::string message) {
  Error e = ErrnoError("", err);
  e.message = std::move(message);
  return e;
}

Error ChildFailure(const ChildError& e, const std::vector<Step>& steps, const Spec& spec) {
  std::string what(e.what, strnlen(e.what, sizeof(e.what)));
  switch (e.stage) {
    case ChildError::kLookup:
      // Go's exec.LookPath errors, as runc reports them.
      if (e.step == 1) {
        return NotFound("unable to start container process: exec: \"" + what +
                        "\": executable file not found in $PATH");
      }
      if (e.step == 3) {
        return Error{ErrorCode::kDenied, "unable to start container process: exec: \"" + what +
                                             "\": permission denied"};
      }
      return WithErrnoCode(e.err, "unable to start container process: exec: \"" + what +
                                      "\": stat " + what + ": " + GoErrnoText(e.err));
    case ChildError::kExec:
      // docker 20.10 prints this one without runc's prefix.
      return WithErrnoCode(e.err, "exec " + what + ": " + GoErrnoText(e.err));
    case ChildError::kNetWait:
      return Internal("sandbox setup: parent gave up before the network was ready");
    default:
      break;
  }
  std::string ctx = "sandbox setup: " + what;
  if (e.step >= 0 && static_cast<size_t>(e.step) < steps.size() &&
      steps[static_cast<size_t>(e.step)].target_rel != nullptr) {
    ctx += " /" + std::string(steps[static_cast<size_t>(e.step)].target_rel);
  }
  (void)spec;
  Error err = ErrnoError(ctx, e.err);
  if (err.code != ErrorCode::kNotFound) err.code = ErrorCode::kInternal;
  return err;
}

Status Validate(const Spec& spec) {
  if (spec.rootfs.empty()) return InvalidArgument("exec: rootfs is empty");
  if (spec.argv.empty()) return InvalidArgument("exec: argv is empty");
  if (spec.cwd.empty() || spec.cwd[0] != '/') {
    return InvalidArgument("exec: cwd must be absolute: \"" + spec.cwd + "\"");
  }
  for (const auto& m : spec.mounts) {
    if (m.target.empty() || m.target[0] != '/') {
      return InvalidArgument("exec: mount target must be absolute: \"" + m.target + "\"");
    }
    if (m.type != "bind" && m.type != "tmpfs") {
      return InvalidArgument("exec: unsupported mount type \"" + m.type + "\"");
    }
    if (m.type == "bind" && (m.source.empty() || m.source[0] != '/')) {
      return InvalidArgument("exec: bind source must be an absolute host path: \"" + m.source +
                             "\"");
    }
  }
  for (const auto& s : spec.argv) {
    if (s.find('\0') != std::string::npos) return InvalidArgument("exec: NUL in argv");
  }
  return Ok();
}

}  // namespace

uint64_t DefaultCapabilities() {
  uint64_t caps = 0;
  for (int c : kDefaultCaps) caps |= uint64_t{1} << c;
  return caps;
}

Result<std::string> HostsFileContent(const std::string& hostname,
                                     const std::vector<std::string>& extra_hosts) {
  std::string out =
      "127.0.0.1\tlocalhost " + hostname + "\n::1\tlocalhost ip6-localhost ip6-loopback\n";
  for (const auto& h : extra_hosts) {
    size_t colon = h.find(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == h.size()) {
      return InvalidArgument("exec: extra host \"" + h + "\": want name:ip");
    }
    out += h.substr(colon + 1) + "\t" + h.substr(0, colon) + "\n";
  }
  return out;
}

std::string ResolvConfContent(const std::string& host) {
  // libnetwork's FilterResolvDNS as BuildKit calls it (IPv6 kept): drop
  // nameserver lines naming a loopback address, then fall back to Google's
  // servers when no nameserver is left.
  std::string out;
  bool any_ns = false;
  size_t start = 0;
  while (start < host.size()) {
    size_t end = host.find('\n', start);
    std::string line =
        host.substr(start, end == std::string::npos ? std::string::npos : end - start);
    bool has_nl = end != std::string::npos;
    start = has_nl ? end + 1 : host.size();
    std::string t = line;
    size_t i = 0;
    while (i < t.size() && (t[i] == ' ' || t[i] == '\t')) ++i;
    if (t.compare(i, 10, "nameserver") == 0 && t.size() > i + 10 &&
        (t[i + 10] == ' ' || t[i + 10] == '\t')) {
      size_t a = i + 10;
      while (a < t.size() && (t[a] == ' ' || t[a] == '\t')) ++a;
      size_t b = a;
      while (b < t.size() && t[b] != ' ' && t[b] != '\t' && t[b] != '#' && t[b] != ';') ++b;
      std::string addr = t.substr(a, b - a);
      if (addr.rfind("127.", 0) == 0 || addr == "::1") continue;
      if (!addr.empty()) any_ns = true;
    }
    out += line;
    if (has_nl) out += "\n";
  }
  if (!any_ns) {
    out +=
        "\nnameserver 8.8.8.8\nnameserver 8.8.4.4\nnameserver 2001:4860:4860::8888\nnameserver "
        "2001:4860:4860::8844";
  }
  return out;
}

Result<Exit> Run(const Spec& spec) {
  STRATA_TRY(Validate(spec));
  std::error_code ec;
  std::string rootfs = std::filesystem::canonical(spec.rootfs, ec).string();
  if (ec) return NotFound("exec: rootfs " + spec.rootfs + ": " + ec.message());
  if (!std::filesystem::is_directory(rootfs, ec)) {
    return InvalidArgument("exec: rootfs " + spec.rootfs + " is not a directory");
  }

  STRATA_ASSIGN_OR_RETURN(const sock_fprog* seccomp, DefaultSeccompProgram());

  std::string state_parent = spec.state_parent;
  if (state_parent.empty()) {
    const char* t = ::getenv("TMPDIR");
    state_parent = (t != nullptr && *t != '\0') ? t : "/tmp";
  }
  STRATA_ASSIGN_OR_RETURN(TempDir state, TempDir::Create(state_parent, "strata-exec-"));
  STRATA_ASSIGN_OR_RETURN(std::string hosts, HostsFileContent(spec.hostname, spec.extra_hosts));
  // Scratch files of this run: nothing to make durable (4 fsyncs per RUN saved).
  STRATA_TRY(WriteFileAtomic(state.path() + "/hosts", hosts, 0644, false));
  std::string host_resolv = ReadFile("/etc/resolv.conf", 1 << 20).value_or("");
  // Behind systemd-resolved's stub (127.0.0.53) the real servers are listed
  // in its own file, which libnetwork reads instead.
  if (host_resolv.find("nameserver 127.0.0.53") != std::string::npos) {
    if (auto real = ReadFile("/run/systemd/resolve/resolv.conf", 1 << 20)) host_resolv = *real;
  }
  STRATA_TRY(
      WriteFileAtomic(state.path() + "/resolv.conf", ResolvConfContent(host_resolv), 0644, false));

  // The working directory is not a stub: BuildKit creates it and it stays.
  {
    STRATA_ASSIGN_OR_RETURN(UniqueFd root_fd, OpenFile(rootfs, O_RDONLY | O_DIRECTORY));
    auto cwd = MakeDirsInRoot(root_fd.get(), spec.cwd, 0755, 0, 0);
    if (!cwd) return std::move(cwd).error().Wrap("exec: create working directory " + spec.cwd);
  }

  MountStubs stubs(rootfs, spec.stub_cleanup);
  STRATA_ASSIGN_OR_RETURN(std::string proc_rel, stubs.Ensure("/proc", true));
  STRATA_ASSIGN_OR_RETURN(std::string dev_rel, stubs.Ensure("/dev", true));
  STRATA_ASSIGN_OR_RETURN(std::string sys_rel, stubs.Ensure("/sys", true));
  STRATA_ASSIGN_OR_RETURN(std::string hosts_rel, stubs.Ensure("/etc/hosts", false));
  STRATA_ASSIGN_OR_RETURN(std::string resolv_rel, stubs.Ensure("/etc/resolv.conf", false));
  for (const std::string* rel : {&proc_rel, &dev_rel, &sys_rel}) {
    if (rel->empty()) return InvalidArgument("exec: /proc, /dev or /sys resolves to the root");
  }

  Plan plan;
  AddSystemMounts(plan, rootfs, proc_rel, dev_rel, sys_rel);
  constexpr unsigned long kRoFile = MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
  AddMount(plan, state.path() + "/hosts", hosts_rel, nullptr, kRoFile, "");
  AddMount(plan, state.path() + "/resolv.conf", resolv_rel, nullptr, kRoFile, "");
  for (const auto& m : spec.mounts) {
    bool dir = true;
    if (m.type == "bind") {
      struct stat st {};
      if (::stat(m.source.c_str(), &st) != 0) return ErrnoError("exec: bind source " + m.source);
      dir = S_ISDIR(st.st_mode);
    }
    STRATA_ASSIGN_OR_RETURN(std::string rel, stubs.Ensure(m.target, dir));
    if (rel.empty() && m.type == "bind") {
      return InvalidArgument("exec: cannot mount over the root: " + m.target);
    }
    unsigned long ro = m.readonly ? MS_RDONLY : 0;
    if (m.type == "bind") {
      AddMount(plan, m.source, rel, nullptr, MS_BIND | MS_REC | ro, "");
    } else {
      std::string data;
      for (const auto& o : m.options) data += (data.empty() ? "" : ",") + o;
      // nosuid only: "rw,nosuid,relatime" under docker 20.10 for RUN --mount=type=tmpfs.
      AddMount(plan, "tmpfs", rel, "tmpfs", MS_NOSUID | ro, data);
    }
    // Nested mount targets may only appear once the outer mount is there.
    plan.steps.back().create_dir = dir;
    plan.steps.back().create_file = !dir;
  }
  AddMasks(plan, rootfs, proc_rel, dev_rel, sys_rel);

  // argv, envp: with PATH and HOME defaulted as BuildKit/runc do.
  std::vector<std::string> env = spec.env;
  if (EnvValue(env, "PATH") == nullptr) env.emplace_back(kDefaultPath);
  if (EnvValue(env, "HOME") == nullptr) env.push_back("HOME=" + HomeFor(rootfs, spec.uid));
  std::string path_value = EnvValue(env, "PATH")->substr(5);
  std::vector<char*> argv, envp;
  for (const auto& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  std::vector<gid_t> groups(spec.additional_gids.begin(), spec.additional_gids.end());

  // A socket pair, not a pipe, so that telling a child that already died
  // gives EPIPE (MSG_NOSIGNAL) instead of a SIGPIPE to the whole process.
  int sync[2], errp[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sync) != 0) {
    return ErrnoError("exec: socketpair");
  }
  UniqueFd sync_r(sync[0]), sync_w(sync[1]);
  if (::pipe2(errp, O_CLOEXEC) != 0) return ErrnoError("exec: pipe");
  UniqueFd err_r(errp[0]), err_w(errp[1]);

  ChildArgs args;
  args.rootfs = rootfs.c_str();
  args.steps = plan.steps.data();
  args.num_steps = static_cast<int>(plan.steps.size());
  args.hostname = spec.hostname.c_str();
  args.own_netns = spec.network != Network::kHost;
  bool prepared = spec.network == Network::kSandbox && spec.prepared_network != nullptr;
  if (prepared) args.netns_fd = spec.prepared_network->netns_fd();
  args.sync_fd = sync_r.get();
  args.error_fd = err_w.get();
  args.parent_fds[0] = sync_w.get();
  args.parent_fds[1] = err_r.get();
  args.stdout_fd = spec.stdout_fd;
  args.stderr_fd = spec.stderr_fd;
  args.cwd = spec.cwd.c_str();
  args.argv = argv.data();
  args.envp = envp.data();
  args.path_env = path_value.c_str();
  args.uid = spec.uid;
  args.gid = spec.gid;
  args.groups = groups.data();
  args.num_groups = static_cast<int>(groups.size());
  args.caps = DefaultCapabilities();
  args.last_cap = LastCap();
  args.no_new_privs = spec.no_new_privileges;
  args.seccomp = seccomp;

  int flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | SIGCHLD;
  if (spec.network != Network::kHost && !prepared) flags |= CLONE_NEWNET;
  // The child gets a copy of this memory (no CLONE_VM), stack included, so
  // the mapping can go as soon as clone returns.
  void* stack = ::mmap(nullptr, kChildStack, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) return ErrnoError("exec: mmap child stack");
  // No handler of this process may run in the child before it has reset
  // the dispositions: block everything across clone().
  sigset_t all, old_mask;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old_mask);
  pid_t pid = ::clone(internal::ChildMain, static_cast<char*>(stack) + kChildStack, flags, &args);
  int clone_err = errno;
  pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  ::munmap(stack, kChildStack);
  if (pid < 0) return ErrnoError("exec: clone", clone_err).Wrap("exec: create namespaces");
  sync_r.reset();
  err_w.reset();

  NetworkHelper net;  // destroyed after the child is reaped (declared before it)
  ChildGuard child(pid);

  if (spec.network == Network::kSandbox && !prepared) {
    std::string ns_path = "/proc/" + std::to_string(pid) + "/ns/net";
    auto ns = OpenFile(ns_path, O_RDONLY);
    if (!ns) return std::move(ns).error().Wrap("exec: network namespace");
    auto helper = NetworkHelper::Start(pid, ns->get(), state.path(), spec.network_helper);
    if (!helper) return std::move(helper).error().Wrap("exec: network");
    net = std::move(*helper);
  }
  // If the child already failed, the send fails too; its error is in the pipe.
  char go = 1;
  (void)::send(sync_w.get(), &go, 1, MSG_NOSIGNAL);
  sync_w.reset();

  // The error pipe closes on a successful execve, or carries a ChildError.
  if (PollCancellable(err_r.get(), spec.cancel) == 0) {
    return Cancelled("exec: cancelled");
  }
  ChildError ce;
  ssize_t n;
  do {
    n = ::read(err_r.get(), &ce, sizeof(ce));
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(sizeof(ce))) {
    child.Reap();
    return ChildFailure(ce, plan.steps, spec);
  }
  if (n != 0) return Internal("exec: short read from child error pipe");

  if (PollCancellable(child.pidfd(), spec.cancel) == 0) {
    child.Kill();
    child.Reap();
    return Cancelled("exec: cancelled: " + spec.argv[0]);
  }
  int status = child.Reap();
  Exit exit;
  if (WIFSIGNALED(status)) {
    exit.signal = WTERMSIG(status);
  } else {
    exit.code = WEXITSTATUS(status);
  }
  return exit;
}

}  // namespace strata::exec
