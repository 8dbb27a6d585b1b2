// docker save / docker load: image archives in the format docker save
// writes (manifest.json + repositories + an OCI image layout), and loading
// that, older docker archives (<id>/layer.tar) and plain OCI layouts.
#pragma once

#include <string>
#include <vector>

#include "engine/store.h"
#include "util/io.h"

namespace strata::engine {

// Writes one archive holding the named images (tags, IDs or name-only
// references meaning every tag of the repository) to out.
Status SaveImages(Store& s, const std::vector<std::string>& names, Writer& out);

struct LoadMessage {
  std::string text;  // "Loaded image: busybox:latest", "Loaded image ID: sha256:…", renames
};
// Reads an archive (plain, gzip, zstd, xz, bzip2) in one streaming pass;
// memory stays bounded by the archive's small JSON files, not its layers.
Result<std::vector<std::string>> LoadImages(Store& s, Reader& in);

}  // namespace strata::engine
