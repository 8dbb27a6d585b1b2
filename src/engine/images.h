// The local image verbs: resolve, list, tag, remove, inspect, history, prune.
// Semantics follow dockerd's image service (daemon/images/*.go in moby) so
// the CLI can print what docker prints.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "engine/store.h"
#include "store/metadata.h"

namespace strata::engine {

// Resolves a name, name:tag, name@digest, full ID or ID prefix to an image
// ID (sha256:…). NotFound carries docker's "No such image: X".
Result<std::string> ResolveImage(Store& s, std::string_view ref_or_id);

// The image's config JSON as stored (its bytes hash to the image ID).
Result<std::string> ImageConfigBytes(Store& s, const std::string& image_id);

// docker tag SOURCE TARGET.
Status TagImage(Store& s, std::string_view source, std::string_view target);

// One line of rmi output: exactly one of untagged / deleted is set.
struct DeleteRecord {
  std::string untagged;
  std::string deleted;
};
// docker rmi NAME: records in docker's order, or docker's conflict errors.
Result<std::vector<DeleteRecord>> RemoveImage(Store& s, std::string_view ref_or_id, bool force,
                                              bool prune);

// docker image inspect: the JSON object docker returns, keys in docker's order.
Result<nlohmann::ordered_json> InspectImage(Store& s, const std::string& image_id);

struct HistoryEntry {
  std::string id;       // image ID for the top entry of an image, "<missing>" otherwise
  int64_t created = 0;  // unix seconds
  std::string created_by;
  int64_t size = 0;
  std::string comment;
  std::vector<std::string> tags;
};
Result<std::vector<HistoryEntry>> ImageHistory(Store& s, const std::string& image_id);

// Repository tags in docker's familiar form ("busybox:latest").
std::vector<std::string> FamiliarTags(const std::vector<std::string>& refs);

}  // namespace strata::engine
