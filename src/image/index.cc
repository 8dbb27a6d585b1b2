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
  const OrderedJson* manifests = r.Take("manifests");
  if (manifests == nullptr || manifests->is_null()) {
    return InvalidArgument("index: missing manifests");
  }
  if (!manifests->is_array()) return InvalidArgument("index.manifests: expected an array");
  for (size_t i = 0; i < manifests->size(); ++i) {
    STRATA_ASSIGN_OR_RETURN(
        Descriptor d,
        Descriptor::FromJson((*manifests)[i], "index.manifests[" + std::to_string(i) + "]"));
    idx.manifests.push_back(std::move(d));
  }
  if (const OrderedJson* s = r.Take("subject"); s != nullptr && !s->is_null()) {
    STRATA_ASSIGN_OR_RETURN(idx.subject, Descriptor::FromJson(*s, "index.subject"));
  }
  STRATA_TRY(r.StringMap("annotations", &idx.annotations));
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
  OrderedJson list = OrderedJson::array();
  for (const auto& d : manifests) list.push_back(d.ToJson(style));
  w.Set("manifests", std::move(list));
  if (subject) {
    w.Set("subject", subject->ToJson(style));
  } else {
    w.Omit("subject");
  }
  w.SetStringMap("annotations", annotations);
  return w.Build(extra, source);
}

std::string Index::Marshal() const { return GoMarshal(ToJson()); }

const Descriptor* Index::Select(const PlatformMatcher& matcher) const {
  auto i = SelectManifest(manifests, matcher);
  return i ? &manifests[*i] : nullptr;
}

}  // namespace strata::image
