#include "image/manifest.h"

#include "image/media_types.h"

namespace strata::image {
namespace internal {

// Common checks of manifests and indexes: schemaVersion and the mediaType against the
// expected one. `is_kind` says whether a media type names this kind of document.
Status CheckDocumentHeader(FieldReader& r, std::string_view kind, bool (*is_kind)(std::string_view),
                           int64_t* schema_version, std::string* media_type,
                           std::string_view expected) {
  std::string k(kind);
  if (!r.Has("schemaVersion")) return InvalidArgument(k + ": missing schemaVersion");
  STRATA_TRY(r.Int64("schemaVersion", schema_version));
  if (*schema_version == 1) {
    return Unimplemented(k + ": Docker schema 1 manifests are not supported");
  }
  if (*schema_version != 2) {
    return InvalidArgument(k + ": unsupported schemaVersion " + std::to_string(*schema_version));
  }
  STRATA_TRY(r.String("mediaType", media_type));
  if (!media_type->empty() && !is_kind(*media_type)) {
    return InvalidArgument(k + ": unexpected mediaType \"" + *media_type + "\"");
  }
  if (!expected.empty()) {
    if (!is_kind(expected)) {
      return InvalidArgument(k + ": expected media type \"" + std::string(expected) +
                             "\" is not a " + k + " type");
    }
    if (!media_type->empty() && *media_type != expected) {
      return InvalidArgument(k + ": mediaType \"" + *media_type + "\" does not match expected \"" +
                             std::string(expected) + "\"");
    }
    // Docker's schema 2 types always carry mediaType; only OCI may leave it out.
    if (media_type->empty() && media_type::IsDocker(expected)) {
      return InvalidArgument(k + ": missing mediaType (expected \"" + std::string(expected) +
                             "\")");
    }
  }
  return Ok();
}

}  // namespace internal

Result<Manifest> Manifest::FromJson(const OrderedJson& j, std::string_view expected_media_type) {
  if (!j.is_object()) return InvalidArgument("manifest: expected an object");
  FieldReader r(j, "manifest");
  Manifest m;
  STRATA_TRY(internal::CheckDocumentHeader(r, "manifest", media_type::IsManifest, &m.schema_version,
                                           &m.media_type, expected_media_type));
  // containerd's validateMediaType: a manifest never has "manifests".
  if (r.Has("manifests")) {
    return InvalidArgument("manifest: has a \"manifests\" field; is this an index?");
  }
  STRATA_TRY(r.String("artifactType", &m.artifact_type));
  const OrderedJson* config = r.Take("config");
  if (config == nullptr || config->is_null()) return InvalidArgument("manifest: missing config");
  STRATA_ASSIGN_OR_RETURN(m.config, Descriptor::FromJson(*config, "manifest.config"));
  STRATA_TRY(internal::ReadDescriptors(r, "manifest", "layers", &m.layers));
  STRATA_TRY(internal::ReadSubjectAndAnnotations(r, "manifest", &m.subject, &m.annotations));
  m.extra = r.Finish();
  m.source.object = j;
  return m;
}

Result<Manifest> Manifest::Parse(std::string_view bytes, std::string_view expected_media_type) {
  STRATA_ASSIGN_OR_RETURN(OrderedJson j, ParseJsonObject(bytes, "manifest"));
  return FromJson(j, expected_media_type);
}

OrderedJson Manifest::ToJson() const {
  JsonStyle style = StyleFor(media_type);
  FieldWriter w;
  w.SetInt64("schemaVersion", schema_version, /*omitempty=*/false);
  w.SetString("mediaType", media_type);
  w.SetString("artifactType", artifact_type);
  w.Set("config", config.ToJson(style));
  w.Set("layers", internal::DescriptorsJson(layers, style));
  internal::WriteSubjectAndAnnotations(w, subject, annotations, style);
  return w.Build(extra, source);
}

std::string Manifest::Marshal() const { return GoMarshal(ToJson()); }

Result<std::string> DetectMediaType(std::string_view bytes) {
  STRATA_ASSIGN_OR_RETURN(OrderedJson j, ParseJsonObject(bytes, "manifest"));
  auto mt = j.find("mediaType");
  if (mt != j.end() && mt->is_string() && !mt->get_ref<const std::string&>().empty()) {
    return mt->get<std::string>();
  }
  auto sv = j.find("schemaVersion");
  if (sv != j.end() && sv->is_number_integer() && sv->get<int64_t>() == 1) {
    return std::string(j.contains("signatures") ? media_type::kDockerSchema1SignedManifest
                                                : media_type::kDockerSchema1Manifest);
  }
  if (j.contains("manifests")) return std::string(media_type::kOciIndex);
  if (j.contains("config") || j.contains("layers")) return std::string(media_type::kOciManifest);
  return InvalidArgument("manifest: cannot tell the media type of the document");
}

}  // namespace strata::image
