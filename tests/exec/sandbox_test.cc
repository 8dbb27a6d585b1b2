// Tests of the RUN sandbox against a busybox root filesystem. Expected values
// marked "docker 20.10" were recorded from `DOCKER_BUILDKIT=1 docker build
// --network=none` RUN steps on a busybox-static base (see the module report).
#include "exec/sandbox.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "exec/network.h"
#include "util/fs.h"

namespace strata::exec {
namespace {

namespace fs = std::filesystem;

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Mount lines that mention `needle` (other engineers' daemons mount and
// unmount concurrently, so the whole table cannot be compared).
std::string MountsMentioning(const std::string& needle) {
  std::istringstream in(Slurp("/proc/self/mountinfo"));
  std::string line, out;
  while (std::getline(in, line)) {
    if (line.find(needle) != std::string::npos) out += line + "\n";
  }
  return out;
}

// Processes whose command line contains `needle`.
std::vector<pid_t> FindProcesses(const std::string& needle) {
  std::vector<pid_t> out;
  for (const auto& e : fs::directory_iterator("/proc")) {
    std::string name = e.path().filename();
    if (name.empty() || !std::isdigit(static_cast<unsigned char>(name[0]))) continue;
    std::string cmd = Slurp(e.path().string() + "/cmdline");
    for (char& c : cmd) {
      if (c == '\0') c = ' ';
    }
    if (cmd.find(needle) != std::string::npos) out.push_back(std::stoi(name));
  }
  return out;
}

// A busybox root filesystem as /work/shared/conformance/make-busybox-base.sh
// builds it (bin/ with applet symlinks, etc/passwd, etc/group, tmp, root), or
// only bin/ for with_etc = false.
void MakeRootfs(const std::string& dir, bool with_etc) {
  fs::create_directories(dir + "/bin");
  fs::copy_file("/bin/busybox", dir + "/bin/busybox");
  fs::permissions(dir + "/bin/busybox", fs::perms(0755));
  FILE* p = popen("/bin/busybox --list", "r");
  ASSERT_NE(p, nullptr);
  char line[256];
  while (fgets(line, sizeof(line), p) != nullptr) {
    std::string a(line);
    while (!a.empty() && a.back() == '\n') a.pop_back();
    if (a.empty() || a == "busybox") continue;
    fs::create_symlink("busybox", dir + "/bin/" + a);
  }
  pclose(p);
  if (with_etc) {
    fs::create_directories(dir + "/etc");
    std::ofstream(dir + "/etc/passwd") << "root:x:0:0:root:/root:/bin/sh\n";
    std::ofstream(dir + "/etc/group") << "root:x:0:\n";
    fs::create_directories(dir + "/tmp");
    fs::create_directories(dir + "/root");
  }
}

class SandboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root";
    if (access("/bin/busybox", X_OK) != 0) GTEST_SKIP() << "needs /bin/busybox (busybox-static)";
    // Namespaces must be available (not the case in some CI containers).
    pid_t pid = fork();
    if (pid == 0) _exit(unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET) == 0 ? 0 : 1);
    int status = 0;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) GTEST_SKIP() << "namespaces unavailable";
    auto tmp = TempDir::Create(fs::temp_directory_path().string(), "exec-test-");
    ASSERT_TRUE(tmp) << tmp.error().message;
    tmp_ = std::move(*tmp);
    rootfs_ = tmp_.path() + "/rootfs";
    state_ = tmp_.path() + "/state";
    fs::create_directories(state_);
    MakeRootfs(rootfs_, true);
  }

  void TearDown() override {
    if (IsSkipped()) return;
    // Nothing left behind: no mounts, no state dirs, no helper processes.
    EXPECT_EQ(MountsMentioning(tmp_.path()), "");
    EXPECT_TRUE(fs::is_empty(state_)) << "state dir left behind";
    EXPECT_EQ(FindProcesses(state_), std::vector<pid_t>{}) << "network helper left running";
  }

  Spec BaseSpec(std::vector<std::string> argv) {
    Spec s;
    s.rootfs = rootfs_;
    s.argv = std::move(argv);
    s.network = Network::kNone;
    s.state_parent = state_;
    return s;
  }

  // Runs `script` with /bin/sh -c, stdout and stderr captured together.
  Result<Exit> Sh(Spec spec, std::string* out) {
    int fd = memfd_create("out", MFD_CLOEXEC);
    spec.stdout_fd = fd;
    spec.stderr_fd = fd;
    auto r = exec::Run(spec);
    out->clear();
    lseek(fd, 0, SEEK_SET);
    char buf[4096];
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf))) > 0) out->append(buf, static_cast<size_t>(n));
    close(fd);
    return r;
  }
  Result<Exit> Sh(const std::string& script, std::string* out) {
    return Sh(BaseSpec({"/bin/sh", "-c", script}), out);
  }

  TempDir tmp_;
  std::string rootfs_, state_;
};

TEST_F(SandboxTest, ExitCode) {
  std::string out;
  auto r = Sh("echo hello; exit 3", &out);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, (Exit{3, 0}));
  EXPECT_EQ(out, "hello\n");
  r = Sh("true", &out);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, (Exit{0, 0}));
}

TEST_F(SandboxTest, ProcessIsPid1AndIgnoresUnhandledSignals) {
  // docker 20.10: `echo pid $$` prints "pid 1"; `kill -9 $$` from inside
  // does nothing to the namespace's init and the step succeeds.
  std::string out;
  auto r = Sh("echo pid $$; kill -9 $$; kill -TERM $$; echo alive", &out);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, (Exit{0, 0}));
  EXPECT_EQ(out, "pid 1\nalive\n");
}

TEST_F(SandboxTest, KilledBySignalFromOutside) {
  std::string out;
  Result<Exit> r = Internal("not run");
  std::atomic<bool> cancel{false};
  Spec s = BaseSpec({"/bin/sh", "-c", "sleep 1000; : strata-exec-signal-marker"});
  s.cancel = &cancel;  // only a fallback, so that a failure does not hang
  std::thread t([&] { r = Sh(s, &out); });
  std::vector<pid_t> pids;
  for (int i = 0; i < 200 && pids.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    // Only the namespace's init: a forked child of the shell briefly carries
    // the same command line.
    pids.clear();
    for (pid_t p : FindProcesses("strata-exec-signal-marker")) {
      std::string status = Slurp("/proc/" + std::to_string(p) + "/status");
      size_t at = status.find("NSpid:");
      if (at == std::string::npos) continue;
      std::string line = status.substr(at, status.find('\n', at) - at);
      if (line.size() > 2 && line.compare(line.size() - 2, 2, "\t1") == 0) pids.push_back(p);
    }
  }
  EXPECT_EQ(pids.size(), 1u);
  // SIGKILL from an ancestor namespace reaches the namespace's init.
  if (!pids.empty()) kill(pids[0], SIGKILL);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  cancel = true;
  t.join();
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, (Exit{0, SIGKILL}));
}

TEST_F(SandboxTest, EnvCwdAndUser) {
  Spec s = BaseSpec({"/bin/sh", "-c", "id; pwd; echo FOO=$FOO; echo HOME=$HOME; echo $PATH"});
  s.env = {"FOO=bar"};
  s.cwd = "/work/dir";
  std::string out;
  auto r = Sh(s, &out);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, (Exit{0, 0}));
  // docker 20.10: root in the busybox base prints "uid=0(root) gid=0(root)",
  // HOME=/root, and docker's default PATH.
  EXPECT_EQ(out,
            "uid=0(root) gid=0(root)\n/work/dir\nFOO=bar\nHOME=/root\n"
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n");
  // The working directory stays, root-owned 0755, like BuildKit's.
  struct stat st {};
  ASSERT_EQ(stat((rootfs_ + "/work/dir").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u);
  EXPECT_EQ(st.st_uid, 0u);

  // docker 20.10 with USER 1000 / USER 1000:0: "uid=1000 gid=1000", HOME=/.
  s.uid = 1000;
  s.gid = 1000;
  s.env = {"PATH=/bin"};
  r = Sh(s, &out);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(out, "uid=1000 gid=1000\n/work/dir\nFOO=\nHOME=/\n/bin\n");
  s.additional_gids = {10, 20};
  r = Sh(s, &out);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(out.substr(0, out.find('\n')), "uid=1000 gid=1000 groups=10,20");
}

TEST_F(SandboxTest, StdinIsDevNull) {
  std::string out;
  auto r = Sh("cat; echo end; readlink /proc/self/fd/0", &out);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(out, "end\n/dev/null\n");
}

TEST_F(SandboxTest, SignalsResetToDefaults) {
  // The builder may ignore SIGPIPE or block signals in its threads; the
  // container starts clean all the same (docker 20.10: both masks zero).
  struct sigaction ign {
  }, old_pipe{};
  ign.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &ign, &old_pipe);
  sigset_t usr1, old_mask;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &usr1, &old_mask);
  std::string out;
  auto r = Sh("grep -E 'Sig(Blk|Ign)' /proc/self/status; umask", &out);
  pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  sigaction(SIGPIPE, &old_pipe, nullptr);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(out, "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n0022\n");
}

TEST_F(SandboxTest, HostnameHostsAndResolvConf) {
  Spec s = BaseSpec({"/bin/sh", "-c",
                     "hostname; cat /etc/hosts; echo ---; cat /etc/resolv.conf; echo ---; "
                     "test -e /etc/hostname || echo no-etc-hostname"});
  s.extra_hosts = {"foo:1.2.3.4", "bar:::1"};
  std::string out;
  auto r = Sh(s, &out);
  ASSERT_TRUE(r) << r.error().message;
  // docker 20.10, `--add-host foo:1.2.3.4 --add-host bar:::1` (od -c of the
  // file). BuildKit 0.8 mounts no /etc/hostname.
  std::string resolv = ResolvConfContent(Slurp("/etc/resolv.conf"));
  EXPECT_EQ(out,
            "buildkitsandbox\n"
            "127.0.0.1\tlocalhost buildkitsandbox\n"
            "::1\tlocalhost ip6-localhost ip6-loopback\n"
            "1.2.3.4\tfoo\n::1\tbar\n---\n" +
                resolv + "---\nno-etc-hostname\n");
  // Neither generated file may land in the layer.
  EXPECT_FALSE(fs::exists(rootfs_ + "/etc/hosts"));
  EXPECT_FALSE(fs::exists(rootfs_ + "/etc/resolv.conf"));
}

TEST(ResolvConf, FiltersLoopbackNameservers) {
  // docker 20.10 on this host: "nameserver 10.255.255.53\n" passes unchanged.
  EXPECT_EQ(ResolvConfContent("nameserver 10.255.255.53\n"), "nameserver 10.255.255.53\n");
  EXPECT_EQ(ResolvConfContent("search example.com\nnameserver 127.0.0.53\nnameserver 1.1.1.1\n"),
            "search example.com\nnameserver 1.1.1.1\n");
  EXPECT_EQ(ResolvConfContent("nameserver 127.0.0.53\noptions edns0\n"),
            "options edns0\n\nnameserver 8.8.8.8\nnameserver 8.8.4.4\n"
            "nameserver 2001:4860:4860::8888\nnameserver 2001:4860:4860::8844");
}

TEST(HostsFile, RejectsMalformedExtraHost) {
  EXPECT_FALSE(HostsFileContent("h", {"nocolon"}));
  EXPECT_FALSE(HostsFileContent("h", {":1.2.3.4"}));
  auto h = HostsFileContent("box", {});
  ASSERT_TRUE(h);
  EXPECT_EQ(*h, "127.0.0.1\tlocalhost box\n::1\tlocalhost ip6-localhost ip6-loopback\n");
}

TEST_F(SandboxTest, DevProcSysAsDocker) {
  std::string out;
  auto r =
      Sh("ls /dev | tr '\\n' ' '; echo; ls /dev/pts; for l in ptmx fd stdin; do readlink /dev/$l; "
         "done; awk '$5 ~ /^\\/(proc|dev|dev\\/pts|dev\\/shm|dev\\/mqueue|sys)$/ "
         "{for(i=7;$i!=\"-\";i++);print $5,$6,$(i+1),$(i+3)}' /proc/self/mountinfo; "
         "touch /sys/x 2>&1 | sed 's/.*: //'; "
         "(echo x > /proc/sys/kernel/domainname) 2>&1 | sed 's/.*: //'; cat /proc/keys | wc -c",
         &out);
  ASSERT_TRUE(r) << r.error().message;
  // docker 20.10: the same /dev entries (plus nothing else), the same mounts.
  EXPECT_EQ(out,
            "fd full mqueue null ptmx pts random shm stderr stdin stdout tty urandom zero \n"
            "ptmx\n"
            "pts/ptmx\n/proc/self/fd\n/proc/self/fd/0\n"
            "/proc rw,nosuid,nodev,noexec,relatime proc rw\n"
            "/dev rw,nosuid tmpfs rw,size=65536k,mode=755\n"
            "/dev/pts rw,nosuid,noexec,relatime devpts rw,gid=5,mode=620,ptmxmode=666\n"
            "/dev/shm rw,nosuid,nodev,noexec,relatime tmpfs rw,size=65536k\n"
            "/dev/mqueue rw,nosuid,nodev,noexec,relatime mqueue rw\n"
            "/sys ro,nosuid,nodev,noexec,relatime sysfs ro\n"
            "Read-only file system\nRead-only file system\n0\n");
}

TEST_F(SandboxTest, CapabilitiesSeccompNoNewPrivs) {
  std::string out;
  auto r = Sh("grep -E '^(Cap|NoNewPrivs|Seccomp:)' /proc/self/status", &out);
  ASSERT_TRUE(r) << r.error().message;
  // docker 20.10, root.
  EXPECT_EQ(out,
            "CapInh:\t0000000000000000\nCapPrm:\t00000000a80425fb\nCapEff:\t00000000a80425fb\n"
            "CapBnd:\t00000000a80425fb\nCapAmb:\t0000000000000000\nNoNewPrivs:\t0\n"
            "Seccomp:\t2\n");
  Spec s = BaseSpec({"/bin/sh", "-c", "grep -E '^(Cap|NoNewPrivs)' /proc/self/status"});
  s.uid = 1000;
  s.gid = 1000;
  r = Sh(s, &out);
  ASSERT_TRUE(r) << r.error().message;
  // docker 20.10, USER 1000:1000.
  EXPECT_EQ(out,
            "CapInh:\t0000000000000000\nCapPrm:\t0000000000000000\nCapEff:\t0000000000000000\n"
            "CapBnd:\t00000000a80425fb\nCapAmb:\t0000000000000000\nNoNewPrivs:\t0\n");
  s.no_new_privileges = true;
  r = Sh(s, &out);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_NE(out.find("NoNewPrivs:\t1\n"), std::string::npos) << out;
}

TEST_F(SandboxTest, DeniedSyscalls) {
  std::string out;
  // docker 20.10: "unshare: unshare(0x20000): Operation not permitted", rc=1.
  auto r = Sh("unshare -m true; echo rc=$?", &out);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(out, "unshare: unshare(0x20000): Operation not permitted\nrc=1\n");
  // mount fails (no CAP_SYS_ADMIN, and seccomp); chroot works (CAP_SYS_CHROOT).
  r = Sh("mount -t tmpfs none /tmp 2>&1; echo rc=$?; chroot / true; echo chroot=$?", &out);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(out, "mount: permission denied (are you root?)\nrc=1\nchroot=0\n");
  // Ordinary work keeps working: fork, pipes, files, chown, mknod of a fifo.
  r =
      Sh("mkdir -p /tmp/a && cd /tmp/a && echo x > f && chown 1:1 f && mkfifo p && "
         "ls | sort | tr '\\n' ' ' && (sleep 0; echo sub) | cat",
         &out);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, (Exit{0, 0}));
  EXPECT_EQ(out, "f p sub\n");
}

TEST_F(SandboxTest, SeccompDeniesWhatCapabilitiesAllow) {
  // Syscalls that need no capability, so only the seccomp profile can make
  // them fail with EPERM (keyctl, add_key, userfaultfd, socket(AF_VSOCK)),
  // clone3 answered with ENOSYS so that libc falls back to clone, and
  // getpid allowed. Runs the host's python3 from a read-only bind of /usr.
  if (access("/usr/bin/python3", X_OK) != 0) GTEST_SKIP() << "needs /usr/bin/python3";
  fs::create_symlink("usr/lib", rootfs_ + "/lib");
  if (fs::exists("/usr/lib64")) fs::create_symlink("usr/lib64", rootfs_ + "/lib64");
  Spec s = BaseSpec({"/usr/bin/python3", "-S", "-c",
                     "import ctypes, socket\n"
                     "libc = ctypes.CDLL(None, use_errno=True)\n"
                     "def sc(nr, *a):\n"
                     "  r = libc.syscall(nr, *[ctypes.c_long(x) for x in a])\n"
                     "  return 'ok' if r >= 0 else ctypes.get_errno()\n"
                     "try:\n"
                     "  socket.socket(40, socket.SOCK_STREAM); vs = 'ok'\n"
                     "except OSError as e:\n"
                     "  vs = e.errno\n"
                     "print(sc(250, 0, 0, 0, 0, 0), sc(248, 0, 0, 0, 0, 0), sc(323, 0), vs,"
                     " sc(435, 0, 0), sc(39))\n"});
  s.mounts.push_back(Mount{"bind", "/usr", "/usr", true, {}});
  std::string out;
  auto r = Sh(s, &out);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(out, "1 1 1 1 38 ok\n");
}

TEST_F(SandboxTest, ExecFailures) {
  // docker 20.10: `runc run failed: unable to start container process: exec:
  // "nosuch": executable file not found in $PATH`, and likewise below.
  auto r = exec::Run(BaseSpec({"nosuch"}));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(r.error().message,
            "unable to start container process: exec: \"nosuch\": executable file not found in "
            "$PATH");
  r = exec::Run(BaseSpec({"/nosuch"}));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(r.error().message,
            "unable to start container process: exec: \"/nosuch\": stat /nosuch: no such file or "
            "directory");
  r = exec::Run(BaseSpec({"/etc"}));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kDenied);
  EXPECT_EQ(r.error().message,
            "unable to start container process: exec: \"/etc\": permission denied");
  // docker 20.10: "exec /x: exec format error".
  std::ofstream(rootfs_ + "/x") << "garbage";
  fs::permissions(rootfs_ + "/x", fs::perms(0755));
  r = exec::Run(BaseSpec({"/x"}));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "exec /x: exec format error");
  // Found in PATH from env.
  Spec s = BaseSpec({"echo", "found"});
  s.env = {"PATH=/nope:/bin"};
  std::string out;
  auto ok = Sh(s, &out);
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(out, "found\n");
}

TEST_F(SandboxTest, StubsRemovedLikeDocker2010) {
  // A base with only /bin, as `FROM noetc` in docker 20.10: after
  // RUN --mount=type=tmpfs,target=/mnt/tmpfsx --mount=type=bind,target=/y/f.txt
  // (a file) the layer holds etc/, dev/, proc/, sys/, mnt/, mnt/tmpfsx/, y/
  // but neither etc/hosts, etc/resolv.conf nor y/f.txt.
  fs::remove_all(rootfs_);
  MakeRootfs(rootfs_, false);
  std::string file = tmp_.path() + "/f.txt";
  std::ofstream(file) << "filecontent\n";
  Spec s = BaseSpec({"/bin/sh", "-c", "cat /y/f.txt; ls -d /mnt/tmpfsx; echo hi > /tmp1"});
  s.mounts.push_back(Mount{"tmpfs", "", "/mnt/tmpfsx", false, {}});
  s.mounts.push_back(Mount{"bind", file, "/y/f.txt", true, {}});
  std::string out;
  auto r = Sh(s, &out);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(out, "filecontent\n/mnt/tmpfsx\n");
  std::vector<std::string> names;
  for (const auto& e : fs::recursive_directory_iterator(rootfs_)) {
    std::string rel = e.path().string().substr(rootfs_.size() + 1);
    if (rel.rfind("bin/", 0) == 0) continue;
    names.push_back(rel + (e.is_directory() && !e.is_symlink() ? "/" : ""));
  }
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"bin/", "dev/", "etc/", "mnt/", "mnt/tmpfsx/", "proc/",
                                             "sys/", "tmp1", "y/"}));

  // kAll also removes the directories it created.
  fs::remove_all(rootfs_);
  MakeRootfs(rootfs_, false);
  s.stub_cleanup = StubCleanup::kAll;
  s.argv = {"/bin/true"};
  r = Sh(s, &out);
  ASSERT_TRUE(r) << r.error().message;
  names.clear();
  for (const auto& e : fs::directory_iterator(rootfs_)) names.push_back(e.path().filename());
  EXPECT_EQ(names, std::vector<std::string>{"bin"});
}

TEST_F(SandboxTest, OverlayUpperHoldsWhatDockerCommits) {
  // The builder's case: an overlay snapshot mounted on a host dir. docker
  // 20.10's layer for `FROM busybox-base` + `RUN true` is exactly dev/, etc/,
  // proc/, sys/ (directories only); the upper dir must hold the same.
  std::string lower = rootfs_, upper = tmp_.path() + "/upper", work = tmp_.path() + "/work",
              merged = tmp_.path() + "/merged";
  for (const auto& d : {upper, work, merged}) fs::create_directories(d);
  std::string opts = "lowerdir=" + lower + ",upperdir=" + upper + ",workdir=" + work;
  if (mount("overlay", merged.c_str(), "overlay", 0, opts.c_str()) != 0) {
    GTEST_SKIP() << "overlayfs unavailable: " << strerror(errno);
  }
  Spec s = BaseSpec({"/bin/true"});
  s.rootfs = merged;
  std::string out;
  auto r = Sh(s, &out);
  ASSERT_EQ(umount2(merged.c_str(), 0), 0) << strerror(errno);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, (Exit{0, 0}));
  std::vector<std::string> names;
  for (const auto& e : fs::recursive_directory_iterator(upper)) {
    names.push_back(e.path().string().substr(upper.size() + 1) + (e.is_directory() ? "/" : ""));
  }
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"dev/", "etc/", "proc/", "sys/"}));
}

TEST_F(SandboxTest, StubsFollowSymlinksInsideRoot) {
  // /etc/resolv.conf -> ../run/resolv.conf (as in systemd images): the stub is
  // made at the link's target inside the root, never outside it.
  fs::create_symlink("../run/resolve/resolv.conf", rootfs_ + "/etc/resolv.conf");
  fs::create_symlink("/../../../../../../tmp", rootfs_ + "/escape");
  Spec s = BaseSpec({"/bin/sh", "-c", "cat /etc/resolv.conf > /dev/null && echo ok"});
  s.mounts.push_back(Mount{"tmpfs", "", "/escape/strata-exec-stub-test", false, {}});
  std::string out;
  auto r = Sh(s, &out);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(out, "ok\n");
  EXPECT_FALSE(fs::exists("/tmp/strata-exec-stub-test"));
  EXPECT_TRUE(fs::is_directory(rootfs_ + "/tmp/strata-exec-stub-test"));
  EXPECT_TRUE(fs::is_directory(rootfs_ + "/run/resolve"));
  EXPECT_FALSE(fs::exists(rootfs_ + "/run/resolve/resolv.conf"));
}

TEST_F(SandboxTest, BindAndTmpfsMounts) {
  std::string rw = tmp_.path() + "/rw", ro = tmp_.path() + "/ro";
  fs::create_directories(rw);
  fs::create_directories(ro);
  std::ofstream(ro + "/in") << "from-host\n";
  Spec s = BaseSpec({"/bin/sh", "-c",
                     "echo written > /data/rw/out; cat /data/ro/in; "
                     "touch /data/ro/x 2>&1 | sed 's/.*: //'; "
                     "grep ' /scratch ' /proc/self/mountinfo | "
                     "awk '{for(i=7;$i!=\"-\";i++);print $6,$(i+1),$(i+3)}'; "
                     "ls -ld /scratch | cut -c1-10; echo t > /scratch/t && cat /scratch/t"});
  s.mounts.push_back(Mount{"bind", rw, "/data/rw", false, {}});
  s.mounts.push_back(Mount{"bind", ro, "/data/ro", true, {}});
  s.mounts.push_back(Mount{"tmpfs", "", "/scratch", false, {"size=1m"}});
  std::string out;
  auto r = Sh(s, &out);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(out,
            "from-host\nRead-only file system\n"
            "rw,nosuid,relatime tmpfs rw,size=1024k\ndrwxrwxrwt\nt\n");
  EXPECT_EQ(Slurp(rw + "/out"), "written\n");
  EXPECT_FALSE(fs::exists(ro + "/x"));
  // The tmpfs content is gone with the mount.
  EXPECT_TRUE(fs::is_empty(rootfs_ + "/scratch"));
}

TEST_F(SandboxTest, CancelKillsWholeTree) {
  std::atomic<bool> cancel{false};
  // A backgrounded grandchild (its own sh) besides the foreground child.
  Spec s = BaseSpec({"/bin/sh", "-c",
                     "sh -c 'sleep 1000; : strata-exec-cancel-grandchild' & "
                     "sleep 1000; : strata-exec-cancel-child"});
  s.cancel = &cancel;
  Result<Exit> r = Internal("not run");
  std::string out;
  std::thread t([&] { r = Sh(s, &out); });
  for (int i = 0; i < 250 && FindProcesses("strata-exec-cancel-grandchild").empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_FALSE(FindProcesses("strata-exec-cancel-grandchild").empty());
  auto start = std::chrono::steady_clock::now();
  cancel = true;
  t.join();
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kCancelled);
  EXPECT_LT(took, std::chrono::seconds(2));
  EXPECT_TRUE(FindProcesses("strata-exec-cancel-").empty());
  EXPECT_TRUE(FindProcesses("sleep 1000").empty());
}

TEST_F(SandboxTest, SetupErrorCleansUp) {
  // A bind source that vanished: setup fails, everything is torn down.
  Spec s = BaseSpec({"/bin/true"});
  s.mounts.push_back(Mount{"bind", tmp_.path() + "/missing", "/m", false, {}});
  auto r = exec::Run(s);
  ASSERT_FALSE(r);
  EXPECT_FALSE(fs::exists(rootfs_ + "/etc/hosts"));
  // A failure inside the child (a directory mounted over a file), while the
  // network helper is being attached: reported, and the helper is gone too.
  s = BaseSpec({"/bin/true"});
  s.network = Network::kSandbox;
  s.mounts.push_back(Mount{"bind", tmp_.path(), "/etc/passwd", false, {}});
  r = exec::Run(s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInternal);
  EXPECT_EQ(r.error().message, "sandbox setup: mount /etc/passwd: Not a directory");
  // Bad arguments.
  s = BaseSpec({"/bin/true"});
  s.cwd = "relative";
  EXPECT_EQ(exec::Run(s).error().code, ErrorCode::kInvalidArgument);
  s = BaseSpec({});
  EXPECT_EQ(exec::Run(s).error().code, ErrorCode::kInvalidArgument);
}

TEST_F(SandboxTest, ParallelRunsFromThreads) {
  std::vector<std::thread> threads;
  std::vector<Result<Exit>> results(4, Internal("not run"));
  std::vector<std::string> outs(4);
  std::vector<std::string> roots;
  for (int i = 0; i < 4; ++i) {
    roots.push_back(tmp_.path() + "/root" + std::to_string(i));
    MakeRootfs(roots.back(), true);
  }
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      // Each run has a root of its own, as each RUN gets its own snapshot.
      Spec s = BaseSpec(
          {"/bin/sh", "-c", "echo run" + std::to_string(i) + "; exit " + std::to_string(i)});
      s.rootfs = roots[i];
      results[i] = Sh(s, &outs[i]);
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(results[i]) << results[i].error().message;
    EXPECT_EQ(results[i]->code, i);
    EXPECT_EQ(outs[i], "run" + std::to_string(i) + "\n");
  }
}

TEST_F(SandboxTest, NetworkNoneHasOnlyLoopback) {
  std::string out;
  auto r = Sh("ip -o link | cut -d: -f2 | tr -d ' '; ip -o -4 addr | cut -d' ' -f2,7", &out);
  ASSERT_TRUE(r) << r.error().message;
  // docker 20.10 --network=none: only lo, up, 127.0.0.1/8.
  EXPECT_EQ(out, "lo\nlo 127.0.0.1/8\n");
}

TEST_F(SandboxTest, NetworkHostSeesHostInterfaces) {
  std::vector<std::string> host;
  for (const auto& e : fs::directory_iterator("/sys/class/net"))
    host.push_back(e.path().filename());
  std::sort(host.begin(), host.end());
  Spec s = BaseSpec({"/bin/sh", "-c", "ls /sys/class/net"});
  s.network = Network::kHost;
  std::string out;
  auto r = Sh(s, &out);
  ASSERT_TRUE(r) << r.error().message;
  std::string want;
  for (const auto& h : host) want += h + "\n";
  EXPECT_EQ(out, want);
}

// A TCP listener on the host's loopback; accepts in the background.
class LoopbackListener {
 public:
  LoopbackListener() {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    listen(fd_, 8);
    socklen_t len = sizeof(a);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  ~LoopbackListener() { close(fd_); }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

// The helpers installed here, each tested on its own.
std::vector<std::string> NetworkHelpers() {
  std::vector<std::string> out;
  if (access("/usr/bin/pasta", X_OK) == 0) out.push_back("pasta");
  if (access("/usr/bin/slirp4netns", X_OK) == 0) out.push_back("slirp4netns");
  return out;
}

TEST_F(SandboxTest, NetworkSandbox) {
  if (NetworkHelpers().empty()) GTEST_SKIP() << "needs pasta (passt) or slirp4netns";
  LoopbackListener listener;
  std::string port = std::to_string(listener.port());
  Spec s =
      BaseSpec({"/bin/sh", "-c",
                "ip -o link | cut -d: -f2 | tr -d ' ' | grep -v '^lo$' | wc -l; "
                "ip -o -4 addr | grep -v ' lo ' | wc -l; ip route | grep -c '^default'; "
                "gw=$(ip route | sed -n 's/^default via \\([^ ]*\\).*/\\1/p'); "
                "nc -w 2 127.0.0.1 " +
                    port +
                    " </dev/null 2>/dev/null && echo lo-reached || echo lo-unreachable; "
                    "nc -w 2 $gw " +
                    port + " </dev/null 2>/dev/null && echo gw-reached || echo gw-unreachable"});
  s.network = Network::kSandbox;
  for (const auto& helper : NetworkHelpers()) {
    SCOPED_TRACE(helper);
    s.network_helper = helper;
    std::string out;
    auto r = Sh(s, &out);
    ASSERT_TRUE(r) << r.error().message;
    // One configured interface besides lo, with an IPv4 address and a
    // default route; the host's loopback listener is reachable neither as
    // 127.0.0.1 nor through the gateway address.
    EXPECT_EQ(out, "1\n1\n1\nlo-unreachable\ngw-unreachable\n");
  }
}

// A namespace prepared ahead (what the builder does to hide pasta's start-up)
// gives the process the same network, is used by exactly that process, and
// its pasta is gone once it is destroyed.
TEST_F(SandboxTest, PreparedNetworkIsTheSandboxNetwork) {
  if (access("/usr/bin/pasta", X_OK) != 0) GTEST_SKIP() << "needs pasta (passt)";
  LoopbackListener listener;
  Spec s = BaseSpec({"/bin/sh", "-c",
                     "ip -o -4 addr | grep -v ' lo ' | wc -l; ip route | grep -c '^default'; "
                     "nc -w 2 127.0.0.1 " +
                         std::to_string(listener.port()) +
                         " </dev/null 2>/dev/null && echo lo-reached || echo lo-unreachable"});
  s.network = Network::kSandbox;
  auto net = PreparedNetwork::Create("");
  ASSERT_TRUE(net) << net.error().message;
  pid_t pasta = (*net)->helper().pid();
  ASSERT_GT(pasta, 0);
  s.prepared_network = net->get();
  std::string out;
  auto r = Sh(s, &out);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(out, "1\n1\nlo-unreachable\n");
  EXPECT_EQ(::kill(pasta, 0), 0) << "pasta lives as long as the prepared network";
  net->reset();
  // Stopped means exited: gone, or a zombie its new parent has yet to reap.
  auto alive = [pasta] {
    std::ifstream stat("/proc/" + std::to_string(pasta) + "/stat");
    std::string pid, comm, state;
    return static_cast<bool>(stat >> pid >> comm >> state) && state != "Z";
  };
  for (int i = 0; i < 40 && alive(); ++i) usleep(50000);
  EXPECT_FALSE(alive()) << "pasta stopped with the prepared network";
}

}  // namespace
}  // namespace strata::exec

namespace strata::exec {
namespace {

// A test host in a network namespace of its own, joined to the host by a veth
// pair (198.18.0.1/30 host side, 198.18.0.2/30 peer side), answering one
// request on port 18080 with a line. Everything is removed on destruction.
class PeerHost {
 public:
  PeerHost() {
    RemoveStale();
    std::string id = std::to_string(getpid());
    ns_ = "strata-exec-peer-" + id;
    host_if_ = "sxh" + id;
    std::string peer_if = "sxp" + id;
    ok_ = Sh("ip netns add " + ns_) &&
          Sh("ip link add " + host_if_ + " type veth peer name " + peer_if + " netns " + ns_) &&
          Sh("ip addr add 198.18.0.1/30 dev " + host_if_) &&
          Sh("ip link set " + host_if_ + " up") &&
          Sh("ip -n " + ns_ + " addr add 198.18.0.2/30 dev " + peer_if) &&
          Sh("ip -n " + ns_ + " link set " + peer_if + " up") &&
          Sh("ip -n " + ns_ + " link set lo up");
    if (!ok_ || pipe2(stop_, O_CLOEXEC) != 0) {
      ok_ = false;
      return;
    }
    // The listening socket is created inside the peer namespace by a thread
    // that joined it; the socket stays there.
    int ready_pipe[2];
    if (pipe2(ready_pipe, O_CLOEXEC) != 0) {
      ok_ = false;
      return;
    }
    server_ = std::thread([this, ready_pipe] { Serve(ready_pipe[1]); });
    char ready = 0;
    ok_ = read(ready_pipe[0], &ready, 1) == 1 && ready == 1;
    close(ready_pipe[0]);
  }
  ~PeerHost() {
    if (server_.joinable()) {
      close(stop_[1]);
      server_.join();
      close(stop_[0]);
    }
    Sh("ip netns del " + ns_);  // takes the veth pair with it
    Sh("ip link del " + host_if_);
  }
  bool ok() const { return ok_; }

 private:
  static bool Sh(const std::string& cmd) {
    int rc = std::system((cmd + " >/dev/null 2>&1").c_str());
    return WIFEXITED(rc) && WEXITSTATUS(rc) == 0;
  }
  // Leftovers of a test binary that was killed: their names carry its pid.
  static void RemoveStale() {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator("/run/netns", ec)) {
      std::string name = e.path().filename();
      const std::string prefix = "strata-exec-peer-";
      if (name.rfind(prefix, 0) != 0) continue;
      std::string pid = name.substr(prefix.size());
      if (fs::exists("/proc/" + pid)) continue;
      Sh("ip netns del " + name);
      Sh("ip link del sxh" + pid);
    }
  }
  void Serve(int ready_fd) {
    int ns = open(("/run/netns/" + ns_).c_str(), O_RDONLY | O_CLOEXEC);
    int fd = -1;
    if (ns >= 0 && setns(ns, CLONE_NEWNET) == 0) {
      fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(18080);
      inet_pton(AF_INET, "198.18.0.2", &a.sin_addr);
      if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 || listen(fd, 4) != 0) {
        close(fd);
        fd = -1;
      }
    }
    if (ns >= 0) close(ns);
    char ready = fd >= 0 ? 1 : 0;
    (void)!write(ready_fd, &ready, 1);
    close(ready_fd);
    if (fd < 0) return;
    while (true) {
      pollfd p[2] = {{fd, POLLIN, 0}, {stop_[0], POLLIN, 0}};
      if (poll(p, 2, 30000) <= 0 || p[1].revents != 0) break;
      int c = accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      char req[4096];
      (void)!read(c, req, sizeof(req));
      const char resp[] = "hello-from-peer\n";
      (void)!write(c, resp, sizeof(resp) - 1);
      close(c);
    }
    close(fd);
  }

  std::string ns_, host_if_;
  bool ok_ = false;
  int stop_[2] = {-1, -1};
  std::thread server_;
};

TEST_F(SandboxTest, NetworkSandboxReachesOtherHosts) {
  if (NetworkHelpers().empty()) GTEST_SKIP() << "needs pasta (passt) or slirp4netns";
  if (std::system("ip -V >/dev/null 2>&1") != 0) GTEST_SKIP() << "needs iproute2";
  PeerHost peer;
  ASSERT_TRUE(peer.ok()) << "could not set up the peer namespace";
  // busybox nc gives up early once its stdin ends: keep it open a while.
  Spec s = BaseSpec({"/bin/sh", "-c", "(echo ping; sleep 1) | nc -w 5 198.18.0.2 18080"});
  s.network = Network::kSandbox;
  std::string out;
  Result<Exit> r = Internal("not run");
  for (const auto& helper : NetworkHelpers()) {
    SCOPED_TRACE(helper);
    s.network_helper = helper;
    r = Sh(s, &out);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(out, "hello-from-peer\n");
  }
  // The same address is unreachable without the sandbox network.
  s.network = Network::kNone;
  r = Sh(s, &out);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_NE(r->code, 0);
}

}  // namespace
}  // namespace strata::exec
