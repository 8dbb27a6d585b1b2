// Snapshotter: the layered filesystems that hold unpacked layers and container
// root filesystems (containerd's snapshotter model), with overlay and copy drivers.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "snapshot/mount.h"
#include "util/result.h"

namespace strata::snapshot {

// Vocabulary (containerd:core/snapshots/snapshotter.go):
// - an *active* snapshot, named by a *key*, is writable; Prepare creates it.
// - a *view* is a read-only active snapshot; View creates it; it cannot be
//   committed.
// - a *committed* snapshot, named by a *name*, is read-only and may be the
//   parent of others; Commit turns an active snapshot into one.
// Keys and names share one namespace and are opaque strings (the store uses
// the layer's chain ID, "sha256:…", as the name).
//
// Unpacking a layer, walked through:
//   mounts = Prepare("extract-1", parent_chain_id)   // parent "" for the base
//   archive::Apply(tar, Dir("extract-1"))             // or mount and write
//   Commit(chain_id, "extract-1")
// Running a container: Prepare(container_id, image_top_chain_id), MountAll the
// specs on a rootfs, and Remove(container_id) when done.
enum class Kind { kView, kActive, kCommitted };
std::string_view KindName(Kind kind);

struct Info {
  Kind kind = Kind::kActive;
  std::string name;    // key for active/view, name for committed
  std::string parent;  // name of the committed parent, "" for none
  std::chrono::system_clock::time_point created;
};

// Disk use of one snapshot's own directory (not its parents').
struct Usage {
  uint64_t size = 0;  // bytes on disk, hardlinks counted once
  uint64_t inodes = 0;
};

class Snapshotter {
 public:
  virtual ~Snapshotter() = default;

  // The driver's name as stored in the root ("overlay" or "copy").
  virtual std::string_view Driver() const = 0;

  // Creates a writable snapshot `key` on top of committed `parent` ("" for an
  // empty one) and describes how to mount it; nothing is mounted here.
  // AlreadyExists if key is taken; NotFound/FailedPrecondition for a missing
  // or uncommitted parent.
  virtual Result<std::vector<Mount>> Prepare(const std::string& key, const std::string& parent) = 0;
  // Like Prepare, but read-only: the mounts are "ro" and it cannot be committed.
  virtual Result<std::vector<Mount>> View(const std::string& key, const std::string& parent) = 0;
  // The mounts of an active snapshot or view (again), e.g. in another process.
  virtual Result<std::vector<Mount>> Mounts(const std::string& key) = 0;
  // Directory into which a layer is applied for active `key`: the overlay
  // upper dir (whiteouts as 0/0 char devices) or the copy driver's full tree.
  virtual Result<std::string> Dir(const std::string& key) = 0;
  // The files of committed snapshot `name` as its layer left them (the
  // overlay upper dir, or the copy driver's full tree), for reading only:
  // regenerating a layer tar from its tar-split reads them.
  virtual Result<std::string> CommittedDir(const std::string& name) = 0;
  // Makes active `key` the committed snapshot `name`, atomically: after a
  // crash exactly one of the two exists. The key is gone afterwards.
  virtual Status Commit(const std::string& name, const std::string& key) = 0;
  // Removes a snapshot; FailedPrecondition while it has children.
  virtual Status Remove(const std::string& key_or_name) = 0;
  virtual Result<Info> Stat(const std::string& key_or_name) = 0;
  // Calls fn for every snapshot, parents before children; stops at an error.
  virtual Status Walk(const std::function<Status(const Info&)>& fn) = 0;
  // Size and inode count of the snapshot's own fs directory.
  virtual Result<snapshot::Usage> Usage(const std::string& key_or_name) = 0;
  // Deletes what a crash left half made (a snapshot dir without metadata, a
  // removal cut short, temp files). Safe while other processes use the root.
  virtual Status Recover() = 0;
};

// Opens the snapshotter in `root` (the store root; snapshots live in
// root/snapshots): the driver the root was created with, or for a new root
// overlay when the file system supports it, else copy.
Result<std::unique_ptr<Snapshotter>> OpenSnapshotter(const std::string& root);

}  // namespace strata::snapshot
