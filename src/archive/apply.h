// ApplyLayer: unpacks an OCI layer tar onto a directory, either merged (copy
// snapshotter) or as an overlay upper dir, refusing anything that would land
// outside the root.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "digest/digest.h"
#include "util/io.h"
#include "util/result.h"
#include "util/writeback.h"

namespace strata::archive {

enum class ApplyMode {
  // root_dir holds the lower layers' files: whiteouts delete from it.
  kMerged,
  // root_dir is this layer's empty overlay upper dir: whiteouts become 0/0
  // char devices and opaque markers the overlay opaque xattr.
  kOverlayDiff,
};

struct ApplyOptions {
  ApplyMode mode = ApplyMode::kMerged;
  // Names the layer in errors, e.g. its digest.
  std::string label;
  // Ownership is applied as root; unprivileged callers skip it unless set.
  bool chown_unprivileged = false;
  // Mark opaque dirs with user.overlay.opaque (overlay mounted -o userxattr).
  bool overlay_userxattr = false;
  // Told the bytes of every file written, to keep the disk busy meanwhile.
  BackgroundFlusher* flusher = nullptr;
};

struct ApplyStats {
  uint64_t entries = 0;
  // The layer's size as docker reports it (image inspect Size, measured on
  // dockerd 20.10 overlay2): regular file bytes plus symlink target lengths.
  int64_t size = 0;
  // Every regular file written, in order (see FileListHasher in tar_split.h).
  digest::Digest file_list;
  // kOverlayDiff only: an entry replaced or removed something an earlier
  // entry of the same tar had created, so a file's data on disk may not be
  // the data of the entry that named it.
  bool replaced = false;
};

// Applies the uncompressed layer tar `tar_stream` to `root_dir` and reads the
// stream to its very end, so a digest::HashingReader under it yields the diff ID.
//
// Every entry is placed with openat2(RESOLVE_IN_ROOT): symlinks already in the
// tree (absolute or relative) resolve as if root_dir were `/`, like docker's
// chrooted unpack, and are never followed for the entry itself. Entry names and
// hardlink targets whose `..` climbs above the root are refused:
//   apply layer sha256:ab12…: entry "../etc/passwd": path escapes the root
Result<ApplyStats> ApplyLayer(Reader& tar_stream, const std::string& root_dir,
                              const ApplyOptions& options = {});

// Cleans a tar entry name lexically: drops leading '/', '.' and empty
// components, folds `..`; "" is the root. `..` above the root is an error.
Result<std::string> CleanLayerPath(std::string_view name);

}  // namespace strata::archive
