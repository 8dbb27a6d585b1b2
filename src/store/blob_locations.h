// Where a layer's compressed blob is known to live in a registry (schema.sql, migration 4):
// what push records so that the next push HEADs or mounts the blob instead of sending it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "store/db.h"
#include "util/result.h"

namespace strata::store {

struct BlobLocation {
  std::string diff_id;     // the layer (uncompressed tar digest)
  std::string repository;  // full name: "127.0.0.1:5000/library/busybox"
  std::string digest;      // the compressed blob
  std::string media_type;
  int64_t size = 0;
  bool operator==(const BlobLocation&) const = default;
};

// Records a location (idempotent).
Status AddBlobLocation(Db& db, const BlobLocation& loc);
// Every known location of the layer's blobs, most recently recorded first.
Result<std::vector<BlobLocation>> BlobLocationsOf(Db& db, const std::string& diff_id);
// Forgets a location the registry no longer has (a HEAD said 404).
Status RemoveBlobLocation(Db& db, const BlobLocation& loc);

}  // namespace strata::store
