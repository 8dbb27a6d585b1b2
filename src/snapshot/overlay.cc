#include "snapshot/overlay.h"

#include <sys/stat.h>

#include <cerrno>

#include "util/fs.h"

namespace strata::snapshot {
namespace {

Status MakeDir(const std::string& path, mode_t mode) {
  if (::mkdir(path.c_str(), mode) != 0) return ErrnoError("mkdir " + path);
  // mkdir's mode is masked by the umask; the layer root's mode is what the
  // container sees as "/".
  if (::chmod(path.c_str(), mode) != 0) return ErrnoError("chmod " + path);
  return Ok();
}

}  // namespace

bool OverlaySnapshotter::Supported(const std::string& root) {
  std::string dir = root + "/snapshots";
  if (!MakeDirs(dir)) return false;
  // The shared lock keeps Recover (exclusive) from deleting a live probe.
  auto lock = Storage::Lock(dir, false);
  if (!lock) return false;
  auto tmp = TempDir::Create(dir, "probe-");
  if (!tmp) return false;
  const std::string& t = tmp->path();
  for (const char* d : {"/l1", "/l2", "/upper", "/work", "/merged"}) {
    if (::mkdir((t + d).c_str(), 0755) != 0) return false;
  }
  if (!WriteFileAtomic(t + "/l2/f", "x")) return false;
  auto guard = MountAll({{"overlay",
                          "overlay",
                          {"workdir=" + t + "/work", "upperdir=" + t + "/upper",
                           "lowerdir=" + t + "/l1:" + t + "/l2"}}},
                        t + "/merged");
  if (!guard) return false;
  // A file from a lower must show, and a write must land in the upper dir.
  struct stat st;
  bool ok = ::stat((t + "/merged/f").c_str(), &st) == 0 &&
            WriteFileAtomic(t + "/merged/g", "y").has_value() &&
            ::stat((t + "/upper/g").c_str(), &st) == 0;
  if (!guard->Unmount()) return false;
  return ok;
}

Result<std::unique_ptr<OverlaySnapshotter>> OverlaySnapshotter::Open(const std::string& root) {
  STRATA_ASSIGN_OR_RETURN(Storage storage, Storage::Open(root, "overlay"));
  std::unique_ptr<OverlaySnapshotter> s(new OverlaySnapshotter(std::move(storage)));
  STRATA_TRY_CTX(s->Recover(), "recover snapshots in " + root);
  return s;
}

Status OverlaySnapshotter::Populate(const Chain& chain) {
  STRATA_TRY(MakeDir(storage_.FsDir(chain.self.id), 0755));
  STRATA_TRY(MakeDir(storage_.WorkDir(chain.self.id), 0700));
  return Ok();
}

std::vector<Mount> OverlaySnapshotter::MountsFor(const Chain& chain) const {
  const Record& self = chain.self;
  bool ro = self.info.kind == Kind::kView;
  std::string lowers;
  for (const auto& p : chain.parents) {
    if (!lowers.empty()) lowers += ':';
    lowers += storage_.FsDir(p.id);
  }
  if (chain.parents.empty()) {
    return {{"bind", storage_.FsDir(self.id), {"rbind", ro ? "ro" : "rw"}}};
  }
  if (ro) {
    // overlayfs needs two lowers when there is no upper dir.
    if (chain.parents.size() == 1) {
      return {{"bind", storage_.FsDir(chain.parents[0].id), {"rbind", "ro"}}};
    }
    return {{"overlay", "overlay", {"ro", "lowerdir=" + lowers}}};
  }
  return {{"overlay",
           "overlay",
           {"workdir=" + storage_.WorkDir(self.id), "upperdir=" + storage_.FsDir(self.id),
            "lowerdir=" + lowers}}};
}

}  // namespace strata::snapshot
