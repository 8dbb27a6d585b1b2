// Layer diff: turns a directory tree (a snapshot, or an overlay upper dir) into
// an OCI layer tar, byte-deterministically, and returns its diff ID.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "digest/digest.h"
#include "util/io.h"
#include "util/result.h"

namespace strata::archive {

struct TarTreeOptions {
  // The tree is an overlay upper dir: 0/0 char devices become `.wh.<name>`
  // entries and opaque directories get a `.wh..wh..opq` entry, as docker's
  // overlay2 driver writes them.
  bool overlay_whiteouts = false;
  // Clamp every mtime to at most this (SOURCE_DATE_EPOCH), as BuildKit's
  // rewrite-timestamp does.
  std::optional<int64_t> clamp_mtime;
};

struct LayerTar {
  digest::Digest diff_id;  // sha256 of the uncompressed tar
  uint64_t size = 0;       // bytes of tar written
  // Bytes of file data as docker counts a layer's size (directory.Size):
  // regular files and symlink targets, each inode once.
  int64_t content_size = 0;
};

// Streams `dir` as a tar to `out`. The root itself is not an entry; entries
// follow a depth-first walk with each directory's names in byte order (so each
// directory precedes its contents and paths compare component-wise in byte
// order). Headers are Go/docker style (see tar_writer.h): numeric uid/gid,
// empty uname/gname, mtimes in whole seconds. Non-directories with several
// links within the tree become hardlink entries to the first path seen. xattrs
// are kept except overlay internals and security.selinux (a host label).
// Sockets are skipped, as docker does. Same tree, same options: same bytes.
Result<LayerTar> WriteLayerTar(const std::string& dir, Writer& out,
                               const TarTreeOptions& options = {});

}  // namespace strata::archive
