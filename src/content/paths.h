// Where content lives on disk (OCI image-layout compatible blob paths). The
// one place that knows the layout of content/.
#pragma once

#include <string>

#include "digest/digest.h"

namespace strata::content {

inline std::string BlobsDir(const std::string& root) { return root + "/content/blobs"; }
inline std::string BlobPath(const std::string& root, const digest::Digest& d) {
  return BlobsDir(root) + "/" + d.algorithm() + "/" + d.hex();
}
inline std::string IngestDir(const std::string& root) { return root + "/content/ingest"; }

}  // namespace strata::content
