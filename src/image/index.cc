#include "image/index.h"

#include "image/media_types.h"

namespace strata::image {

Result<Index> Index::FromJson(const OrderedJson& j, std::string_view expected_media_type) {
  if (!j.is_object()) return InvalidArgument("index: expected an object");
  FieldReader r(j, "index");
  Index idx;
  STRATA_TRY(internal::CheckDocumentHeader(r, "index", media_type::IsIndex, &idx.schema_version,
                                           &idx.media_type, expected_media_type));
  // containerd's validateMediaType: an index never has "config" or "layers".
  if (r.Has("config") || r.Has("layers")) {
    return InvalidArgument("index: has \"config\" or \"layers\" fields; is this a manifest?");
  }
  STRATA_TRY(r.String("artifactType", &idx.artifact_type));
  STRATA_TRY(internal::ReadDescriptors(r, "index", "manifests", &idx.manifests));
  STRATA_TRY(internal::ReadSubjectAndAnnotations(r, "index", &idx.subject, &idx.annotations));
  idx.extra = r.Finish();
  idx.source.object = j;
  return idx;
}

Result<Index> Index::Parse(std::string_view bytes, std::string_view expected_media_type) {
  STRATA_ASSIGN_OR_RETURN(OrderedJson j, ParseJsonObject(bytes, "index"));
  return FromJson(j, expected_media_type);
}

OrderedJson Index::ToJson() const {
  JsonStyle style = StyleFor(media_type);
  FieldWriter w;
  w.SetInt64("schemaVersion", schema_version, /*omitempty=*/false);
  w.SetString("mediaType", media_type);
  w.SetString("artifactType", artifact_type);
  w.Set("manifests", internal::DescriptorsJson(manifests, style));
  internal::WriteSubjectAndAnnotations(w, subject, annotations, style);
  return w.Build(extra, source);
}

std::string Index::Marshal() const { return GoMarshal(ToJson()); }

const Descriptor* Index::Select(const PlatformMatcher& matcher) const {
  auto i = SelectManifest(manifests, matcher);
  return i ? &manifests[*i] : nullptr;
}

}  // namespace strata::image
