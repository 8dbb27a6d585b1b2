// Mount specs (what a snapshotter describes) and MountAll (what performs them):
// Prepare/View/Mounts only describe; exec/ and tests call MountAll to act.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "util/result.h"

namespace strata::snapshot {

// One mount(2) in the style of containerd's mount.Mount: a filesystem type
// ("bind" or "overlay"), a source, and fstab-like options. Flag options ("ro",
// "rw", "bind", "rbind") become mount flags; the rest is passed as fs data,
// e.g. overlay's "lowerdir=a:b" (nearest layer first), "upperdir=", "workdir=".
struct Mount {
  std::string type;
  std::string source;
  std::vector<std::string> options;
  bool operator==(const Mount&) const = default;
};

// Mounted targets, unmounted (in reverse order) on destruction unless released.
// A busy target is detached lazily (MNT_DETACH) so the guard never leaks it.
class MountGuard {
 public:
  MountGuard() = default;
  explicit MountGuard(std::vector<std::string> targets) : targets_(std::move(targets)) {}
  MountGuard(MountGuard&& o) noexcept : targets_(std::exchange(o.targets_, {})) {}
  MountGuard& operator=(MountGuard&& o) noexcept;
  MountGuard(const MountGuard&) = delete;
  MountGuard& operator=(const MountGuard&) = delete;
  ~MountGuard();

  // Unmounts now, reporting a failure even when the lazy detach succeeded.
  Status Unmount();
  // Gives up ownership: the mounts stay after the guard is gone.
  std::vector<std::string> release() { return std::exchange(targets_, {}); }
  bool empty() const { return targets_.empty(); }

 private:
  std::vector<std::string> targets_;
};

// How an overlay's options reach the kernel. The legacy mount(2) data is one
// page (4096 bytes), which absolute lowerdirs of a deep chain (~128 layers)
// overflow. kAuto uses mount(2) when the data fits, else the fd mount API
// with one "lowerdir+" per layer (Linux 6.8+), else kChdir. kChdir rewrites
// the paths relative to their common parent and mounts from there, as
// containerd does; it runs on a helper thread with a private cwd
// (unshare(CLONE_FS)) so the process's cwd never changes.
enum class OverlayMethod { kAuto, kMountData, kFsConfig, kChdir };

// Performs the mounts in order on target (later ones stack on earlier ones).
// On failure, whatever was mounted is undone.
Result<MountGuard> MountAll(const std::vector<Mount>& mounts, const std::string& target,
                            OverlayMethod method = OverlayMethod::kAuto);

// For kChdir: the directory the paths of an overlay's options share, and the
// options rewritten relative to it. Exposed for tests.
struct RelativeOverlay {
  std::string dir;
  std::vector<std::string> options;
};
RelativeOverlay RelativizeOverlayOptions(const std::vector<std::string>& options);

}  // namespace strata::snapshot
