// Image manifest (OCI image-manifest v1.1, Docker schema 2): a config descriptor plus ordered
// layer descriptors. Parsing validates; unknown fields survive a round trip.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "image/descriptor.h"
#include "image/go_json.h"
#include "util/result.h"

namespace strata::image {

struct Manifest {
  int64_t schema_version = 2;
  std::string media_type;  // may be empty for OCI manifests (optional in OCI 1.0)
  std::string artifact_type;
  Descriptor config;
  std::vector<Descriptor> layers;
  std::optional<Descriptor> subject;
  std::map<std::string, std::string> annotations;
  OrderedJson extra = OrderedJson::object();
  JsonSource source;

  bool operator==(const Manifest&) const = default;

  // Parses and validates a manifest document: schemaVersion 2, a manifest mediaType (if
  // present), no index fields, a config descriptor and a layers array of valid descriptors.
  // If `expected_media_type` is given (from the referring descriptor or Content-Type), it
  // must be a manifest type and agree with the document's own mediaType.
  static Result<Manifest> Parse(std::string_view bytes, std::string_view expected_media_type = "");
  static Result<Manifest> FromJson(const OrderedJson& j, std::string_view expected_media_type = "");

  // JSON in the order of specs-go v1 Manifest (schemaVersion, mediaType, artifactType, config,
  // layers, subject, annotations); descriptors in Docker order for Docker media types.
  OrderedJson ToJson() const;
  // Go-marshaled bytes: what strata stores and pushes (digest = sha256 of these bytes).
  std::string Marshal() const;
};

// The media type of a manifest or index document: its mediaType field, or, for OCI documents
// without one, guessed from the shape ("manifests" -> index, "config" -> manifest). Docker
// schema 1 documents are recognized (and reported as unimplemented elsewhere).
Result<std::string> DetectMediaType(std::string_view bytes);

}  // namespace strata::image
