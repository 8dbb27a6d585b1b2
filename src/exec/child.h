// The sandbox's child side: everything runs between clone() and execve() in a
// copy of a possibly multi-threaded process, so it only uses raw syscalls and
// data the parent prepared (no malloc, no locks, no stdio).
#pragma once

#include <linux/filter.h>
#include <sys/types.h>

#include <cstdint>

namespace strata::exec::internal {

// One step of the container's mount setup, performed before pivot_root.
// Paths named *_rel are relative to the rootfs and are resolved with
// openat2(RESOLVE_IN_ROOT) at the moment they are used, so a symlink in the
// image (or in a bind-mounted source) never leads a mount out of the root.
struct Step {
  enum Kind { kMount, kMknod, kSymlink, kMkdir };
  Kind kind = kMount;
  const char* source = nullptr;  // kMount: host path or fs source name; kSymlink: link text
  const char* target_rel = nullptr;
  const char* fstype = nullptr;
  unsigned long flags = 0;  // mount flags (MS_RDONLY on a bind means a read-only remount)
  const char* data = nullptr;
  bool create_dir = false;      // create target as a directory when missing
  bool create_file = false;     // create target as a file when missing
  bool ignore_missing = false;  // skip silently when the target does not exist
  mode_t mode = 0;              // kMknod / kMkdir
  dev_t dev = 0;                // kMknod
};

// What went wrong in the child, sent to the parent through a CLOEXEC pipe.
struct ChildError {
  enum Stage : int32_t {
    kSetup = 1,    // a step of the namespace setup; step/what say which
    kLookup = 2,   // argv[0] not found / not executable (runc's LookPath)
    kExec = 3,     // execve failed
    kNetWait = 4,  // the parent went away before the network was ready
  };
  int32_t stage = 0;
  int32_t err = 0;  // errno
  int32_t step = -1;
  char what[480] = {};  // a path or the failing call's name
};

struct ChildArgs {
  const char* rootfs = nullptr;  // host path, already resolved
  const Step* steps = nullptr;
  int num_steps = 0;
  const char* hostname = nullptr;
  bool own_netns = false;
  int netns_fd = -1;             // >= 0: setns into it (a prepared network) first
  int sync_fd = -1;              // read end: one byte when the network is ready
  int error_fd = -1;             // write end, CLOEXEC: a ChildError on failure
  int parent_fds[2] = {-1, -1};  // the parent's pipe ends, closed first
  int stdout_fd = 1, stderr_fd = 2;
  const char* cwd = nullptr;
  char* const* argv = nullptr;
  char* const* envp = nullptr;
  const char* path_env = nullptr;  // value of PATH for the lookup
  uint32_t uid = 0, gid = 0;
  const gid_t* groups = nullptr;
  int num_groups = 0;
  uint64_t caps = 0;
  int last_cap = 40;
  bool no_new_privs = false;
  const sock_fprog* seccomp = nullptr;
};

// The clone() entry point; never returns on success (execve).
int ChildMain(void* args);

}  // namespace strata::exec::internal
