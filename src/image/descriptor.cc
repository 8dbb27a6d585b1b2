#include "image/descriptor.h"

#include "image/media_types.h"

namespace strata::image {

JsonStyle StyleFor(std::string_view media_type) {
  return media_type::IsDocker(media_type) ? JsonStyle::kDocker : JsonStyle::kOci;
}

Result<Descriptor> Descriptor::FromJson(const OrderedJson& j, std::string_view what) {
  std::string w(what);
  if (!j.is_object()) return InvalidArgument(w + ": expected an object");
  FieldReader r(j, w);
  Descriptor d;
  if (!r.Has("mediaType")) return InvalidArgument(w + ": missing mediaType");
  STRATA_TRY(r.String("mediaType", &d.media_type));
  if (d.media_type.empty()) return InvalidArgument(w + ": empty mediaType");
  if (!r.Has("digest")) return InvalidArgument(w + ": missing digest");
  std::string dg;
  STRATA_TRY(r.String("digest", &dg));
  auto parsed = digest::Digest::Parse(dg);
  if (!parsed) return parsed.error().Wrap(w + ".digest");
  d.digest = *parsed;
  if (!r.Has("size")) return InvalidArgument(w + ": missing size");
  STRATA_TRY(r.Int64("size", &d.size));
  if (d.size < 0) return InvalidArgument(w + ".size: negative size " + std::to_string(d.size));
  STRATA_TRY(r.StringList("urls", &d.urls));
  STRATA_TRY(r.StringMap("annotations", &d.annotations));
  STRATA_TRY(r.String("data", &d.data));
  if (const OrderedJson* p = r.Take("platform"); p != nullptr && !p->is_null()) {
    STRATA_ASSIGN_OR_RETURN(d.platform, Platform::FromJson(*p, w + ".platform"));
  }
  STRATA_TRY(r.String("artifactType", &d.artifact_type));
  d.extra = r.Finish();
  d.source.object = j;
  return d;
}

OrderedJson Descriptor::ToJson(JsonStyle style) const {
  FieldWriter w;
  w.SetString("mediaType", media_type, /*omitempty=*/false);
  if (style == JsonStyle::kDocker) {
    w.SetInt64("size", size, /*omitempty=*/false);
    w.SetString("digest", digest.str(), /*omitempty=*/false);
  } else {
    w.SetString("digest", digest.str(), /*omitempty=*/false);
    w.SetInt64("size", size, /*omitempty=*/false);
  }
  w.SetStringList("urls", urls);
  w.SetStringMap("annotations", annotations);
  if (style == JsonStyle::kOci) w.SetString("data", data);
  if (platform) {
    w.Set("platform", platform->ToJson());
  } else {
    w.Omit("platform");
  }
  // Docker's Descriptor has no "data"; keep it (last) rather than lose it.
  if (style == JsonStyle::kDocker) w.SetString("data", data);
  w.SetString("artifactType", artifact_type);
  return w.Build(extra, source);
}

Descriptor DescriptorFor(std::string_view media_type, std::string_view bytes) {
  Descriptor d;
  d.media_type = std::string(media_type);
  d.digest = digest::Sha256Of(bytes);
  d.size = static_cast<int64_t>(bytes.size());
  return d;
}

namespace internal {

Status ReadDescriptors(FieldReader& r, const std::string& doc, const std::string& key,
                       std::vector<Descriptor>* out) {
  const OrderedJson* list = r.Take(key.c_str());
  if (list == nullptr || list->is_null()) return InvalidArgument(doc + ": missing " + key);
  if (!list->is_array()) return InvalidArgument(doc + "." + key + ": expected an array");
  for (size_t i = 0; i < list->size(); ++i) {
    STRATA_ASSIGN_OR_RETURN(
        Descriptor d,
        Descriptor::FromJson((*list)[i], doc + "." + key + "[" + std::to_string(i) + "]"));
    out->push_back(std::move(d));
  }
  return Ok();
}

Status ReadSubjectAndAnnotations(FieldReader& r, const std::string& doc,
                                 std::optional<Descriptor>* subject,
                                 std::map<std::string, std::string>* annotations) {
  if (const OrderedJson* s = r.Take("subject"); s != nullptr && !s->is_null()) {
    STRATA_ASSIGN_OR_RETURN(*subject, Descriptor::FromJson(*s, doc + ".subject"));
  }
  return r.StringMap("annotations", annotations);
}

OrderedJson DescriptorsJson(const std::vector<Descriptor>& list, JsonStyle style) {
  OrderedJson out = OrderedJson::array();
  for (const auto& d : list) out.push_back(d.ToJson(style));
  return out;
}

void WriteSubjectAndAnnotations(FieldWriter& w, const std::optional<Descriptor>& subject,
                                const std::map<std::string, std::string>& annotations,
                                JsonStyle style) {
  if (subject) {
    w.Set("subject", subject->ToJson(style));
  } else {
    w.Omit("subject");
  }
  w.SetStringMap("annotations", annotations);
}

}  // namespace internal

}  // namespace strata::image
