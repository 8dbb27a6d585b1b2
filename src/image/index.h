// Image index (OCI image-index v1.1, Docker manifest list): descriptors of per-platform
// manifests. Parsing validates; unknown fields survive a round trip.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "image/descriptor.h"
#include "image/go_json.h"
#include "image/platform.h"
#include "util/result.h"

namespace strata::image {

struct Index {
  int64_t schema_version = 2;
  std::string media_type;
  std::string artifact_type;
  std::vector<Descriptor> manifests;
  std::optional<Descriptor> subject;
  std::map<std::string, std::string> annotations;
  OrderedJson extra = OrderedJson::object();
  JsonSource source;

  bool operator==(const Index&) const = default;

  // Parses and validates: schemaVersion 2, an index mediaType (if present; required for
  // Docker manifest lists), no manifest fields ("config", "layers"), a manifests array of
  // valid descriptors. `expected_media_type` as for Manifest::Parse.
  static Result<Index> Parse(std::string_view bytes, std::string_view expected_media_type = "");
  static Result<Index> FromJson(const OrderedJson& j, std::string_view expected_media_type = "");

  // JSON in the order of specs-go v1 Index (schemaVersion, mediaType, artifactType,
  // manifests, subject, annotations).
  OrderedJson ToJson() const;
  std::string Marshal() const;

  // The best manifest for a platform (see SelectManifest), or nullptr.
  const Descriptor* Select(const PlatformMatcher& matcher) const;
};

}  // namespace strata::image
