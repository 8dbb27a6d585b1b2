// The RUN sandbox: runs one process inside a prepared root filesystem with
// fresh namespaces, docker's mounts, capabilities and seccomp, as BuildKit does.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "util/result.h"

namespace strata::exec {

// How the process reaches the network.
//   kSandbox: own network namespace, outbound through user-mode networking
//             (pasta, else slirp4netns); host loopback services stay unreachable.
//   kNone:    own network namespace with only `lo` up.
//   kHost:    the host's network namespace.
enum class Network { kSandbox, kNone, kHost };

// An extra mount inside the container (RUN --mount, later container volumes).
struct Mount {
  std::string type;    // "bind" or "tmpfs"
  std::string source;  // host path for bind; ignored for tmpfs
  std::string target;  // absolute path inside the container (created if missing, as a stub)
  bool readonly = false;
  std::vector<std::string> options;  // tmpfs data such as "size=64m", "mode=1777"
};

// Which mount stubs (mount points that had to be created in rootfs) are
// removed again after the run.
//   kEmptyFiles: docker 20.10's BuildKit: empty file stubs of /etc/hosts,
//                /etc/resolv.conf and of every Mount target go; directories
//                (/proc, /dev, /sys, /etc, mount target dirs and their parents)
//                stay and end up in the layer (checked with `docker save`).
//   kAll:        also every directory created as a stub, deepest first, if
//                still empty (newer BuildKit's behaviour for mount targets).
enum class StubCleanup { kEmptyFiles, kAll };

class PreparedNetwork;  // exec/network.h

struct Spec {
  std::string rootfs;             // host dir that becomes "/" (already mounted by the caller)
  std::vector<std::string> argv;  // argv[0] looked up in PATH from env when it has no '/'
  std::vector<std::string> env;   // "K=V"; PATH defaults to docker's, HOME to the user's
  std::string cwd = "/";          // created (mkdir -p, root-owned 0755) if missing
  uint32_t uid = 0, gid = 0;      // already resolved by the caller
  std::vector<uint32_t> additional_gids;
  std::string hostname = "buildkitsandbox";
  Network network = Network::kSandbox;
  std::vector<Mount> mounts;
  std::vector<std::string> extra_hosts;  // "name:ip" lines added to /etc/hosts
  int stdout_fd = 1, stderr_fd = 2;      // stdin is /dev/null
  // When it becomes true (polled every 50 ms): the whole process tree is
  // killed, everything is torn down, and Run returns a kCancelled error.
  const std::atomic<bool>* cancel = nullptr;
  // docker's RUN does not set no_new_privs (NoNewPrivs: 0 in /proc/self/status
  // under docker 20.10), so setuid binaries such as `su` work; true sets it.
  bool no_new_privileges = false;
  StubCleanup stub_cleanup = StubCleanup::kEmptyFiles;
  // kSandbox's helper: "" tries pasta, then slirp4netns; "pasta" or
  // "slirp4netns" insists on that one.
  std::string network_helper;
  // kSandbox: join this prepared namespace (pasta already attached) instead
  // of making one and waiting for its helper. Not owned; used once.
  const PreparedNetwork* prepared_network = nullptr;
  // Where the per-run state (generated hosts and resolv.conf, helper logs)
  // lives; "" = $TMPDIR or /tmp. Removed before Run returns.
  std::string state_parent;
};

struct Exit {
  int code = 0;    // exit status when the process exited
  int signal = 0;  // != 0 when it was killed by a signal (code is then 0)
  bool operator==(const Exit&) const = default;
};

// Runs spec.argv to completion and returns how it ended. Nothing is left
// behind on any path: no mounts, processes (network helpers included) or
// temporary files; mount stubs are removed as spec.stub_cleanup says.
// Errors: kInvalidArgument (bad spec), kNotFound / kDenied when the
// executable cannot be started (message as runc's: `exec: "x": executable
// file not found in $PATH`), kCancelled, kUnavailable (no network helper for
// kSandbox), kInternal for other setup failures. Safe to call from several
// threads at once, each with its own rootfs (runs sharing one rootfs would
// race on the mount stubs). Needs root (CAP_SYS_ADMIN) in the initial user
// namespace.
Result<Exit> Run(const Spec& spec);

// Docker's default PATH, used when spec.env has none.
inline constexpr const char* kDefaultPath =
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// The capabilities docker grants by default (bounding, permitted and
// effective for root; 0xa80425fb in /proc/self/status).
uint64_t DefaultCapabilities();

// The /etc/hosts BuildKit writes: localhost lines naming `hostname`, then one
// "ip\tname" line per extra host ("name:ip").
Result<std::string> HostsFileContent(const std::string& hostname,
                                     const std::vector<std::string>& extra_hosts);
// The /etc/resolv.conf BuildKit writes from the host's: localhost nameservers
// dropped, Google's public servers when none is left.
std::string ResolvConfContent(const std::string& host_resolv_conf);

}  // namespace strata::exec
