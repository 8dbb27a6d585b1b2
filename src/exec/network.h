// User-mode networking for a sandbox's own network namespace: pasta (from
// passt), or slirp4netns when pasta is not installed.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include "util/fs.h"
#include "util/result.h"
#include "util/unique_fd.h"

namespace strata::exec {

// A running helper that connects one network namespace to the host's
// network. Outbound connections are NATed through the host; the host's
// loopback is not reachable (pasta --no-map-gw and no port forwarding,
// slirp4netns --disable-host-loopback). Stopping kills and waits for it.
class NetworkHelper {
 public:
  // Attaches a helper to the namespace of `netns_fd` (an open
  // /proc/<pid>/ns/net of process `pid`) and returns once the interface is
  // configured. Logs go to state_dir. kUnavailable when neither tool exists.
  // `only`: "" for the first tool installed, or "pasta" / "slirp4netns".
  static Result<NetworkHelper> Start(pid_t pid, int netns_fd, const std::string& state_dir,
                                     const std::string& only = "");

  NetworkHelper() = default;
  NetworkHelper(NetworkHelper&& o) noexcept;
  NetworkHelper& operator=(NetworkHelper&& o) noexcept;
  NetworkHelper(const NetworkHelper&) = delete;
  NetworkHelper& operator=(const NetworkHelper&) = delete;
  ~NetworkHelper() { Stop(); }

  void Stop();
  // pid of the helper process (0 when none), for tests.
  pid_t pid() const { return pid_; }
  const std::string& tool() const { return tool_; }

 private:
  std::string tool_;
  pid_t pid_ = 0;
  bool own_child_ = false;  // slirp4netns is our child; pasta daemonizes
  UniqueFd pidfd_;
  UniqueFd exit_fd_;  // slirp4netns exits when this closes
};

// A fresh network namespace with pasta already attached, made before the RUN
// that will use it: pasta needs about a second to configure a namespace, so a
// builder prepares the next one while the current step runs (Spec::prepared
// _network). Each is used by one process; destroying it stops pasta.
class PreparedNetwork {
 public:
  // Unavailable when pasta is not installed (slirp4netns needs the process
  // first; Run then attaches it the ordinary way). state_parent as Spec's.
  static Result<std::unique_ptr<PreparedNetwork>> Create(const std::string& state_parent);
  int netns_fd() const { return ns_.get(); }
  const NetworkHelper& helper() const { return helper_; }

 private:
  PreparedNetwork() = default;
  UniqueFd ns_;
  TempDir state_;
  NetworkHelper helper_;  // stopped before state_ goes
};

// Full path of an executable found in $PATH (or /usr/bin, /usr/sbin), "" if none.
std::string FindTool(const std::string& name);

}  // namespace strata::exec
