// Descriptor: a typed, sized, content-addressed pointer to a blob (OCI descriptor.md; Docker's
// distribution.Descriptor), with JSON in/out that keeps unknown fields.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "digest/digest.h"
#include "image/go_json.h"
#include "image/platform.h"
#include "util/result.h"

namespace strata::image {

// Field order for documents strata writes. OCI (specs-go/v1/descriptor.go): mediaType, digest,
// size, urls, annotations, data, platform, artifactType. Docker (distribution blobs.go
// Descriptor, as in every schema 2 manifest on Docker Hub): mediaType, size, digest, urls,
// annotations, platform.
enum class JsonStyle { kOci, kDocker };

// Style matching a manifest/index media type: Docker's for vnd.docker.* types, else OCI.
JsonStyle StyleFor(std::string_view media_type);

struct Descriptor {
  std::string media_type;
  digest::Digest digest;
  int64_t size = 0;
  std::vector<std::string> urls;
  std::map<std::string, std::string> annotations;
  std::string data;  // base64 as in the JSON, not decoded
  std::optional<Platform> platform;
  std::string artifact_type;
  OrderedJson extra = OrderedJson::object();
  JsonSource source;

  bool operator==(const Descriptor&) const = default;

  // Parses and validates: mediaType present, digest valid (digest::Digest::Parse), size a
  // non-negative integer. `what` prefixes errors ("manifest.layers[2]").
  static Result<Descriptor> FromJson(const OrderedJson& j, std::string_view what = "descriptor");
  OrderedJson ToJson(JsonStyle style = JsonStyle::kOci) const;
};

namespace internal {
// What manifests and indexes share after their header: a required array of
// descriptors (`key`: "layers" or "manifests"), then the optional subject and
// the annotations, read and written the same way for both.
Status ReadDescriptors(FieldReader& r, const std::string& doc, const std::string& key,
                       std::vector<Descriptor>* out);
Status ReadSubjectAndAnnotations(FieldReader& r, const std::string& doc,
                                 std::optional<Descriptor>* subject,
                                 std::map<std::string, std::string>* annotations);
OrderedJson DescriptorsJson(const std::vector<Descriptor>& list, JsonStyle style);
void WriteSubjectAndAnnotations(FieldWriter& w, const std::optional<Descriptor>& subject,
                                const std::map<std::string, std::string>& annotations,
                                JsonStyle style);
}  // namespace internal

// A descriptor for a blob held in memory.
Descriptor DescriptorFor(std::string_view media_type, std::string_view bytes);

}  // namespace strata::image
