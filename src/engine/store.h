// The opened store: content blobs, snapshots and metadata under one root
// (DESIGN.md "The store on disk"), and the process-level lock that keeps
// garbage collection from sweeping what a running operation is writing.
#pragma once

#include <memory>
#include <string>

#include "content/local_store.h"
#include "snapshot/snapshotter.h"
#include "store/db.h"
#include "store/metadata.h"
#include "util/result.h"
#include "util/unique_fd.h"

namespace strata::engine {

// flock on <root>/lock. Operations that create data not yet referenced by a
// database row (ingest, unpack) hold it shared; GC holds it exclusive. The
// kernel drops it when a process dies, so a killed strata never wedges the
// store: its leftovers become garbage for the next GC.
class StoreLock {
 public:
  enum class Mode { kShared, kExclusive };
  static Result<StoreLock> Acquire(const std::string& root, Mode mode);
  StoreLock(StoreLock&&) = default;
  StoreLock& operator=(StoreLock&&) = default;

 private:
  explicit StoreLock(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

class Store {
 public:
  // Opens (creating if needed) the store at root.
  static Result<std::unique_ptr<Store>> Open(const std::string& root);

  const std::string& root() const { return root_; }
  content::LocalStore& content() { return content_; }
  store::Db& db() { return *db_; }
  store::Metadata& metadata() { return *md_; }
  // Opened on first use: listing and inspecting images never touch
  // snapshots, and opening them runs crash recovery and a mount probe.
  Result<snapshot::Snapshotter*> snapshots();
  Result<StoreLock> Shared() { return StoreLock::Acquire(root_, StoreLock::Mode::kShared); }
  Result<StoreLock> Exclusive() { return StoreLock::Acquire(root_, StoreLock::Mode::kExclusive); }
  // Directory for this store's scratch files (same filesystem as the store).
  std::string TmpDir() const { return root_ + "/tmp"; }

 private:
  explicit Store(std::string root) : root_(root), content_(root) {}
  std::string root_;
  content::LocalStore content_;
  std::unique_ptr<store::Db> db_;
  std::unique_ptr<store::Metadata> md_;
  std::unique_ptr<snapshot::Snapshotter> snap_;
};

// The default root: $STRATA_ROOT, else /var/lib/strata for root, else
// $XDG_DATA_HOME/strata (or ~/.local/share/strata).
std::string DefaultRoot();

}  // namespace strata::engine
