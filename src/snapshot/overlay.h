// The overlay driver: each snapshot's fs dir holds only its own changes, and
// an active snapshot mounts as overlayfs with its parents' fs dirs as lowers.
#pragma once

#include <memory>
#include <string>

#include "snapshot/storage.h"

namespace strata::snapshot {

// Mounts (containerd:plugins/snapshots/overlay): active with parents →
// overlay lowerdir=<parents nearest first>,upperdir=fs,workdir=work; active
// without parent → rw bind of fs; view of one parent → ro bind of its fs;
// view of several → overlay of lowerdirs only. Paths are absolute; MountAll
// copes with lowerdir lists longer than a page.
class OverlaySnapshotter : public LocalSnapshotter {
 public:
  static Result<std::unique_ptr<OverlaySnapshotter>> Open(const std::string& root);
  // Whether overlayfs works with upper dirs on root's file system: mounts a
  // tiny overlay in a temp dir under root/snapshots (needs mount privileges).
  static bool Supported(const std::string& root);
  std::string_view Driver() const override { return "overlay"; }

 protected:
  Status Populate(const Chain& chain) override;
  std::vector<Mount> MountsFor(const Chain& chain) const override;

 private:
  using LocalSnapshotter::LocalSnapshotter;
};

}  // namespace strata::snapshot
