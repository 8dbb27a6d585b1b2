// Where content lives on disk (OCI image-layout compatible blob paths). The
// one place that knows the layout of content/.
#pragma once

#include <string>
#include <string_view>

#include "digest/digest.h"

namespace strata::content {

inline std::string BlobsDir(const std::string& root) { return root + "/content/blobs"; }
inline std::string BlobPath(const std::string& root, const digest::Digest& d) {
  return BlobsDir(root) + "/" + d.algorithm() + "/" + d.hex();
}
inline std::string IngestDir(const std::string& root) { return root + "/content/ingest"; }
// A resumable download, named by the blob it becomes (PartialIngest).
inline constexpr std::string_view kPartialPrefix = "partial-";
inline std::string PartialPath(const std::string& root, const digest::Digest& d) {
  return IngestDir(root) + "/" + std::string(kPartialPrefix) + d.algorithm() + "-" + d.hex();
}

}  // namespace strata::content
