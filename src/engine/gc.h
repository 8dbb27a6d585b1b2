// Garbage collection and store accounting: mark from images (tags keep
// images; images keep layers and configs), sweep unreferenced snapshots,
// blobs, rows and crash leftovers; report disk use exactly.
#pragma once

#include <cstdint>
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

// strata system check: database integrity, every referenced blob and
// snapshot present and (with verify_blobs) matching its digest. Returns the
// problems found; garbage is not a problem.
Result<std::vector<std::string>> CheckStore(Store& s, bool verify_blobs);

}  // namespace strata::engine
