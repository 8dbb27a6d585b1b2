// Snapshot metadata on disk, shared by the overlay and copy drivers: numbered
// snapshot dirs with an atomically written info file each, and a lock file.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "snapshot/snapshotter.h"
#include "util/result.h"
#include "util/unique_fd.h"

namespace strata::snapshot {

// Layout under root/snapshots (DESIGN.md, "The store on disk"):
//   <n>/fs  <n>/work  <n>/info   one snapshot; `info` (JSON) makes it exist
//   rm-<n>/                      a removal in progress (flocked by the remover)
//   probe-*/                     an overlay support probe
//   .lock  .last-id  .driver     mutation lock, id counter, driver of this root
// A snapshot's id never changes: Commit rewrites `info` in place (one atomic
// rename), so a committed layer's fs dir is where it was unpacked.
struct Record {
  uint64_t id = 0;
  uint64_t parent_id = 0;  // 0 for none
  Info info;
};

// A record and its committed ancestors, nearest first.
struct Chain {
  Record self;
  std::vector<Record> parents;
};

class Storage {
 public:
  // Opens root/snapshots for `driver`, creating it for a new root.
  // FailedPrecondition if the root belongs to another driver.
  static Result<Storage> Open(const std::string& root, std::string_view driver);
  // The driver recorded in root, "" for a new root.
  static Result<std::string> StoredDriver(const std::string& root);

  const std::string& dir() const { return dir_; }
  std::string SnapshotDir(uint64_t id) const { return dir_ + "/" + std::to_string(id); }
  std::string FsDir(uint64_t id) const { return SnapshotDir(id) + "/fs"; }
  std::string WorkDir(uint64_t id) const { return SnapshotDir(id) + "/work"; }

  // Creates snapshot `key` of `kind` (active or view) on `parent`. populate
  // makes the directories under SnapshotDir(id), which exists and is empty;
  // the info file is written after it succeeds. Runs under the exclusive
  // lock, so a parent cannot vanish while populate copies it.
  using PopulateFn = std::function<Status(const Chain&)>;
  Result<Chain> Create(Kind kind, const std::string& key, const std::string& parent,
                       const PopulateFn& populate);
  Result<Chain> Get(const std::string& key_or_name);
  Status Commit(const std::string& name, const std::string& key);
  Status Remove(const std::string& key_or_name);
  // All snapshots by id, which puts parents before children.
  Result<std::vector<Record>> List();
  Status Recover();

  // Takes the root's lock file (shared or exclusive) until the fd closes.
  static Result<UniqueFd> Lock(const std::string& snapshots_dir, bool exclusive);

 private:
  explicit Storage(std::string dir) : dir_(std::move(dir)) {}
  Result<std::vector<Record>> LoadAll() const;
  Result<uint64_t> AllocateId();

  std::string dir_;
};

// Bytes on disk and inodes under path; hardlinks counted once.
Usage TreeUsage(const std::string& path);

// The parts of a Snapshotter both drivers share; a driver says how a
// snapshot's directories are made and how they mount.
class LocalSnapshotter : public Snapshotter {
 public:
  Result<std::vector<Mount>> Prepare(const std::string& key, const std::string& parent) override;
  Result<std::vector<Mount>> View(const std::string& key, const std::string& parent) override;
  Result<std::vector<Mount>> Mounts(const std::string& key) override;
  Result<std::string> Dir(const std::string& key) override;
  Result<std::string> CommittedDir(const std::string& name) override;
  Status Commit(const std::string& name, const std::string& key) override;
  Status Remove(const std::string& key_or_name) override;
  Result<Info> Stat(const std::string& key_or_name) override;
  Status Walk(const std::function<Status(const Info&)>& fn) override;
  Result<snapshot::Usage> Usage(const std::string& key_or_name) override;
  Status Recover() override;

 protected:
  explicit LocalSnapshotter(Storage storage) : storage_(std::move(storage)) {}
  virtual Status Populate(const Chain& chain) = 0;
  virtual std::vector<Mount> MountsFor(const Chain& chain) const = 0;

  Storage storage_;
};

}  // namespace strata::snapshot
