// The copy driver (no overlayfs needed): each snapshot's fs dir is a full copy
// of its parent's tree, reflinked where the file system can, mounted by bind.
#pragma once

#include <memory>
#include <string>

#include "snapshot/storage.h"

namespace strata::snapshot {

// Copies the tree at src into dst (created if missing; must be empty),
// preserving modes, owners, xattrs, times, hardlinks, symlinks, devices and
// fifos. Regular files are reflinked (FICLONE) when src and dst share a file
// system that supports it, else copied with copy_file_range. Symlinks are
// copied, never followed.
Status CopyTree(const std::string& src, const std::string& dst);

class CopySnapshotter : public LocalSnapshotter {
 public:
  static Result<std::unique_ptr<CopySnapshotter>> Open(const std::string& root);
  std::string_view Driver() const override { return "copy"; }

 protected:
  Status Populate(const Chain& chain) override;
  std::vector<Mount> MountsFor(const Chain& chain) const override;

 private:
  using LocalSnapshotter::LocalSnapshotter;
};

}  // namespace strata::snapshot
