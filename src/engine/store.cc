#include "engine/store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include "util/fs.h"

namespace strata::engine {

Result<StoreLock> StoreLock::Acquire(const std::string& root, Mode mode) {
  STRATA_ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(root + "/lock", O_RDWR | O_CREAT, 0600));
  int op = mode == Mode::kShared ? LOCK_SH : LOCK_EX;
  while (::flock(fd.get(), op) != 0) {
    if (errno != EINTR) return ErrnoError("lock store " + root);
  }
  return StoreLock(std::move(fd));
}

Result<std::unique_ptr<Store>> Store::Open(const std::string& root) {
  STRATA_TRY_CTX(MakeDirs(root, 0700), "open store");
  std::unique_ptr<Store> s(new Store(root));
  STRATA_TRY_CTX(s->content_.Init(), "open store");
  STRATA_TRY_CTX(MakeDirs(s->TmpDir()), "open store");
  STRATA_ASSIGN_OR_RETURN(s->db_, store::Db::Open(root + "/metadata.db"));
  s->md_ = std::make_unique<store::Metadata>(*s->db_);
  return s;
}

Result<snapshot::Snapshotter*> Store::snapshots() {
  if (!snap_) {
    auto opened = snapshot::OpenSnapshotter(root_);
    if (!opened) return std::move(opened).error().Wrap("open snapshots in " + root_);
    snap_ = std::move(*opened);
  }
  return snap_.get();
}

std::string DefaultRoot() {
  if (const char* r = std::getenv("STRATA_ROOT"); r && *r) return r;
  if (::geteuid() == 0) return "/var/lib/strata";
  if (const char* x = std::getenv("XDG_DATA_HOME"); x && *x) return std::string(x) + "/strata";
  const char* home = std::getenv("HOME");
  return std::string(home ? home : "/tmp") + "/.local/share/strata";
}

}  // namespace strata::engine
