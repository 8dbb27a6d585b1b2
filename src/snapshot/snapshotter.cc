#include "snapshot/snapshotter.h"

#include "snapshot/copy.h"
#include "snapshot/overlay.h"
#include "snapshot/storage.h"

namespace strata::snapshot {

Result<std::unique_ptr<Snapshotter>> OpenSnapshotter(const std::string& root) {
  STRATA_ASSIGN_OR_RETURN(std::string driver, Storage::StoredDriver(root));
  // A root keeps its driver: overlay dirs hold diffs, copy dirs full trees.
  if (driver.empty()) driver = OverlaySnapshotter::Supported(root) ? "overlay" : "copy";
  if (driver == "overlay") {
    STRATA_ASSIGN_OR_RETURN(auto s, OverlaySnapshotter::Open(root));
    return std::unique_ptr<Snapshotter>(std::move(s));
  }
  if (driver == "copy") {
    STRATA_ASSIGN_OR_RETURN(auto s, CopySnapshotter::Open(root));
    return std::unique_ptr<Snapshotter>(std::move(s));
  }
  return FailedPrecondition("unknown snapshot driver " + driver + " in " + root);
}

}  // namespace strata::snapshot
