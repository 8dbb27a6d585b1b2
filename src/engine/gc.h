// Garbage collection and store accounting: mark from images (tags keep
// images; images keep layers and configs), sweep unreferenced snapshots,
// blobs, rows and crash leftovers; report disk use exactly.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/store.h"

namespace strata::engine {

struct GcReport {
  uint64_t reclaimed_bytes = 0;
  std::vector<std::string> removed_snapshots;
  std::vector<std::string> removed_blobs;
};

// Takes the store's exclusive lock (waits for running operations).
Result<GcReport> CollectGarbage(Store& s);

struct BuildCachePruneOptions {
  // Also the RUN --mount=type=cache directories and the context file-hash cache; without it a
  // routine prune keeps the package caches builds fill.
  bool all = false;
  std::optional<int64_t> until_ns;     // only records last used before this (unix ns)
  std::optional<uint64_t> keep_bytes;  // keep the most recently used records up to this size
};

struct BuildCachePruneReport {
  std::vector<std::string> removed;  // cache keys, oldest use first
  uint64_t reclaimed_bytes = 0;      // what the disk got back (layers no image holds, mounts)
};

// strata builder prune: forgets build cache records, then collects the layers only they held.
// Takes the store's exclusive lock, so no build runs meanwhile.
Result<BuildCachePruneReport> PruneBuildCache(Store& s, const BuildCachePruneOptions& o);

// strata system check: database integrity, every referenced blob and
// snapshot present and (with verify_blobs) matching its digest. Returns the
// problems found; garbage is not a problem.
Result<std::vector<std::string>> CheckStore(Store& s, bool verify_blobs);

}  // namespace strata::engine
