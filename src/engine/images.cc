#include "engine/images.h"

// SHA256_Init & co. (see Sha256Of) are deprecated in OpenSSL 3.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <set>

#include "engine/docker_json.h"
#include "engine/gc.h"
#include "engine/timefmt.h"
#include "image/reference.h"

namespace strata::engine {
namespace {

bool IsHex(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  });
}

Error NoSuchImage(std::string_view what) { return NotFound("No such image: " + std::string(what)); }

std::string ShortId(const std::string& id) {
  auto colon = id.find(':');
  return id.substr(colon == std::string::npos ? 0 : colon + 1, 12);
}

// Does the user's text name the image by ID (prefix) rather than by reference?
bool IsIdPrefix(const std::string& id, std::string_view text) {
  if (text.starts_with("sha256:")) text.remove_prefix(7);
  return IsHex(text) && std::string_view(id).substr(7).starts_with(text);
}

struct ParsedRefs {
  std::vector<image::Reference> tags, digests;
};

ParsedRefs RefsOf(const std::vector<std::string>& tags, const std::vector<std::string>& digests) {
  ParsedRefs out;
  for (auto& t : tags)
    if (auto r = image::ParseNormalizedNamed(t)) out.tags.push_back(*r);
  for (auto& d : digests)
    if (auto r = image::ParseNormalizedNamed(d)) out.digests.push_back(*r);
  return out;
}

// dockerd's isSingleReference: at most one tag, and every reference in one
// repository.
bool IsSingleReference(const ParsedRefs& refs) {
  if (refs.tags.size() > 1) return false;
  std::set<std::string> names;
  for (auto& r : refs.tags) names.insert(r.Name());
  for (auto& r : refs.digests) names.insert(r.Name());
  return names.size() <= 1;
}

// OpenSSL's direct SHA-256 functions: deprecated in OpenSSL 3 in favour of EVP, but they
// need no library initialisation, which is what makes EVP's first digest expensive.
digest::Digest Sha256Of(std::string_view data) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256_CTX ctx;
  SHA256_Init(&ctx);
  SHA256_Update(&ctx, data.data(), data.size());
  SHA256_Final(md, &ctx);
  return digest::Digest::FromSha256Bytes(md);
}

}  // namespace

std::vector<std::string> FamiliarTags(const std::vector<std::string>& refs) {
  std::vector<std::string> out;
  out.reserve(refs.size());
  for (auto& r : refs) {
    // Stored references are canonical: split them without the full grammar.
    if (auto f = image::SplitCanonical(r)) {
      std::string s(f->name);
      if (!f->tag.empty()) s.append(":").append(f->tag);
      if (!f->digest.empty()) s.append("@").append(f->digest);
      out.push_back(std::move(s));
      continue;
    }
    auto p = image::ParseNormalizedNamed(r);
    out.push_back(p ? p->FamiliarString() : r);
  }
  return out;
}

Result<std::string> ResolveImage(Store& s, std::string_view text) {
  auto& md = s.metadata();
  // A full 64-hex ID or "sha256:<hex>" names an image by ID.
  if (image::IsIdentifier(text) || text.starts_with("sha256:")) {
    std::string id =
        text.starts_with("sha256:") ? std::string(text) : "sha256:" + std::string(text);
    if (id.size() == 71) {
      STRATA_ASSIGN_OR_RETURN(auto img, md.GetImage(id));
      if (img) return id;
      return NoSuchImage(text);
    }
  }
  auto ref = image::ParseNormalizedNamed(text);
  if (ref) {
    if (ref->HasDigest()) {
      STRATA_ASSIGN_OR_RETURN(auto id, md.LookupDigestRef(ref->String()));
      if (id) return *id;
    } else {
      STRATA_ASSIGN_OR_RETURN(auto id, md.LookupTag(image::TagNameOnly(*ref).String()));
      if (id) return *id;
    }
  } else if (!IsHex(text) && !text.starts_with("sha256:")) {
    return ref.error();
  }
  std::string_view hex = text;
  if (hex.starts_with("sha256:")) hex.remove_prefix(7);
  if (IsHex(hex)) {
    STRATA_ASSIGN_OR_RETURN(auto ids, md.ImagesByIdPrefix(std::string(hex)));
    if (ids.size() == 1) return ids[0];
    if (ids.size() > 1) {
      return InvalidArgument("ambiguous image ID prefix " + std::string(text) + ": matches " +
                             std::to_string(ids.size()) + " images");
    }
  }
  return NoSuchImage(ref ? ref->FamiliarString() : std::string(text));
}

Result<std::string> ImageConfigBytes(Store& s, const std::string& image_id) {
  STRATA_ASSIGN_OR_RETURN(auto d, digest::Digest::Parse(image_id));
  if (d.algorithm() != "sha256") {
    auto bytes = s.content().ReadBlob(d);
    if (!bytes) return std::move(bytes).error().Wrap("image " + image_id + " config");
    return bytes;
  }
  // Read, then verify here: a config is small, and digest::Hasher's EVP path costs a
  // short-lived process more to set up (provider init, openssl.cnf: ~5 M instructions, a
  // fifth of `strata image inspect`) than hashing a few KiB takes.
  auto r = s.content().Open(d, /*verify=*/false);
  if (!r) return std::move(r).error().Wrap("image " + image_id + " config");
  auto bytes = ReadAll(**r, 64 << 20);
  if (!bytes) return std::move(bytes).error().Wrap("image " + image_id + " config");
  digest::Digest got = Sha256Of(*bytes);
  if (got != d) {
    return DataLoss("image " + image_id + " config: blob " + d.str() +
                    " is corrupted: content has digest " + got.str());
  }
  return bytes;
}

Status TagImage(Store& s, std::string_view source, std::string_view target) {
  STRATA_ASSIGN_OR_RETURN(std::string id, ResolveImage(s, source));
  STRATA_ASSIGN_OR_RETURN(auto ref, image::ParseNormalizedNamed(target));
  if (ref.HasDigest()) return InvalidArgument("refusing to create a tag with a digest reference");
  if (image::IsIdentifier(ref.Path())) {
    return InvalidArgument("invalid repository name (" + ref.Path() +
                           "), cannot specify 64-byte hexadecimal strings");
  }
  ref = image::TagNameOnly(ref);
  STRATA_ASSIGN_OR_RETURN(auto tx, s.db().Begin());
  STRATA_TRY(s.metadata().SetTag(ref.String(), id));
  return tx.Commit();
}

Result<std::vector<DeleteRecord>> RemoveImage(Store& s, std::string_view text, bool force,
                                              bool prune) {
  auto& md = s.metadata();
  std::vector<DeleteRecord> records;
  STRATA_ASSIGN_OR_RETURN(auto tx, s.db().Begin());
  STRATA_ASSIGN_OR_RETURN(std::string id, ResolveImage(s, text));
  STRATA_ASSIGN_OR_RETURN(auto img, md.GetImage(id));
  if (!img) return NoSuchImage(text);
  ParsedRefs refs = RefsOf(img->tags, img->repo_digests);
  auto conflict = [&](bool hard, const std::string& why) {
    return Conflict("conflict: unable to delete " + ShortId(id) +
                    (hard ? " (cannot be forced) - " : " (must be forced) - ") + why);
  };

  if (!IsIdPrefix(id, text)) {
    // A reference was given: untag it; delete the image only if that was
    // its last reference.
    STRATA_ASSIGN_OR_RETURN(auto ref, image::ParseNormalizedNamed(text));
    if (!ref.HasDigest()) ref = image::TagNameOnly(ref);
    if (ref.HasDigest()) {
      STRATA_TRY(md.RemoveRepoDigest(ref.String()));
    } else {
      STRATA_TRY(md.RemoveTag(ref.String()));
    }
    records.push_back({ref.FamiliarString(), ""});
    STRATA_ASSIGN_OR_RETURN(img, md.GetImage(id));
    refs = RefsOf(img->tags, img->repo_digests);
    if (!ref.HasDigest()) {
      // Removing a repository's last tag also removes its digest references.
      bool repo_has_tag = std::any_of(refs.tags.begin(), refs.tags.end(),
                                      [&](auto& t) { return t.Name() == ref.Name(); });
      if (!repo_has_tag) {
        for (auto& d : refs.digests) {
          if (d.Name() != ref.Name()) continue;
          STRATA_TRY(md.RemoveRepoDigest(d.String()));
          records.push_back({d.FamiliarString(), ""});
        }
        STRATA_ASSIGN_OR_RETURN(img, md.GetImage(id));
        refs = RefsOf(img->tags, img->repo_digests);
      }
    }
    if (!refs.tags.empty() || !refs.digests.empty()) {
      STRATA_TRY(tx.Commit());
      return records;
    }
  } else if (IsSingleReference(refs)) {
    STRATA_ASSIGN_OR_RETURN(auto children, md.Children(id));
    if (!children.empty()) return conflict(true, "image has dependent child images");
    for (auto& r : refs.tags) {
      STRATA_TRY(md.RemoveTag(r.String()));
      records.push_back({r.FamiliarString(), ""});
    }
    for (auto& r : refs.digests) {
      STRATA_TRY(md.RemoveRepoDigest(r.String()));
      records.push_back({r.FamiliarString(), ""});
    }
    refs = {};
  }

  // Delete the image itself.
  STRATA_ASSIGN_OR_RETURN(auto children, md.Children(id));
  if (!children.empty()) return conflict(true, "image has dependent child images");
  if (!force && (!refs.tags.empty() || !refs.digests.empty())) {
    return conflict(false, "image is referenced in multiple repositories");
  }
  for (auto& r : refs.tags) {
    STRATA_TRY(md.RemoveTag(r.String()));
    records.push_back({r.FamiliarString(), ""});
  }
  for (auto& r : refs.digests) {
    STRATA_TRY(md.RemoveRepoDigest(r.String()));
    records.push_back({r.FamiliarString(), ""});
  }
  STRATA_TRY(md.DeleteImage(id));
  records.push_back({"", id});
  STRATA_ASSIGN_OR_RETURN(auto gone, md.UnreferencedLayers());
  for (auto& l : gone) {
    STRATA_TRY(md.DeleteLayer(l.chain_id));
    records.push_back({"", l.chain_id});
  }
  // Dangling parents go too, as dockerd does unless --no-prune.
  std::optional<std::string> parent = img->parent_id;
  while (prune && parent) {
    STRATA_ASSIGN_OR_RETURN(auto p, md.GetImage(*parent));
    if (!p || !p->tags.empty() || !p->repo_digests.empty()) break;
    STRATA_ASSIGN_OR_RETURN(auto siblings, md.Children(*parent));
    if (!siblings.empty()) break;
    STRATA_TRY(md.DeleteImage(p->id));
    records.push_back({"", p->id});
    STRATA_ASSIGN_OR_RETURN(auto more, md.UnreferencedLayers());
    for (auto& l : more) {
      STRATA_TRY(md.DeleteLayer(l.chain_id));
      records.push_back({"", l.chain_id});
    }
    parent = p->parent_id;
  }
  STRATA_TRY(tx.Commit());
  // The rows are gone; now return the space (snapshots and blobs no row
  // references). A failure here leaves garbage for the next GC, not damage.
  (void)CollectGarbage(s);
  return records;
}

Result<nlohmann::ordered_json> InspectImage(Store& s, const std::string& image_id) {
  STRATA_ASSIGN_OR_RETURN(auto img, s.metadata().GetImage(image_id));
  if (!img) return NoSuchImage(image_id);
  STRATA_ASSIGN_OR_RETURN(std::string bytes, ImageConfigBytes(s, image_id));
  nlohmann::ordered_json cfg = nlohmann::ordered_json::parse(bytes, nullptr, false);
  if (cfg.is_discarded() || !cfg.is_object()) {
    return DataLoss("image " + image_id + ": config is not valid JSON");
  }
  auto str = [&](const char* k) {
    return cfg.contains(k) && cfg[k].is_string() ? cfg[k].get<std::string>() : std::string();
  };
  nlohmann::ordered_json out;
  out["Id"] = image_id;
  out["RepoTags"] = FamiliarTags(img->tags);
  out["RepoDigests"] = FamiliarTags(img->repo_digests);
  out["Parent"] = img->parent_id.value_or("");
  // moby: an image without a comment shows its last history entry's (BuildKit
  // builds: "buildkit.dockerfile.v0").
  std::string comment = str("comment");
  if (comment.empty() && cfg.contains("history") && cfg["history"].is_array() &&
      !cfg["history"].empty() && cfg["history"].back().is_object()) {
    const auto& last = cfg["history"].back();
    if (last.contains("comment") && last["comment"].is_string()) comment = last["comment"];
  }
  out["Comment"] = comment;
  out["Created"] = str("created");
  out["Container"] = str("container");
  out["ContainerConfig"] =
      ContainerConfigForInspect(cfg.value("container_config", nlohmann::ordered_json()));
  out["DockerVersion"] = str("docker_version");
  out["Author"] = str("author");
  out["Config"] = cfg.contains("config") && !cfg["config"].is_null()
                      ? ContainerConfigForInspect(cfg["config"])
                      : nlohmann::ordered_json();
  out["Architecture"] = str("architecture");
  if (!str("variant").empty()) out["Variant"] = str("variant");
  out["Os"] = str("os");
  if (!str("os.version").empty()) out["OsVersion"] = str("os.version");
  out["Size"] = img->size;
  out["VirtualSize"] = img->size;
  out["GraphDriver"] = GraphDriverForInspect(s, *img);
  nlohmann::ordered_json rootfs;
  rootfs["Type"] = cfg.contains("rootfs") ? cfg["rootfs"].value("type", "layers") : "layers";
  if (cfg.contains("rootfs") && cfg["rootfs"].contains("diff_ids")) {
    rootfs["Layers"] = cfg["rootfs"]["diff_ids"];
  }
  out["RootFS"] = rootfs;
  nlohmann::ordered_json meta;
  meta["LastTagTime"] = FormatRfc3339Nano(img->last_tag_time ? img->last_tag_time : INT64_MIN);
  out["Metadata"] = meta;
  return out;
}

Result<std::vector<HistoryEntry>> ImageHistory(Store& s, const std::string& image_id) {
  STRATA_ASSIGN_OR_RETURN(auto img, s.metadata().GetImage(image_id));
  if (!img) return NoSuchImage(image_id);
  STRATA_ASSIGN_OR_RETURN(std::string bytes, ImageConfigBytes(s, image_id));
  auto cfg = nlohmann::json::parse(bytes, nullptr, false);
  if (cfg.is_discarded()) return DataLoss("image " + image_id + ": config is not valid JSON");
  std::vector<store::LayerRecord> layers;
  if (img->top_chain_id) {
    STRATA_ASSIGN_OR_RETURN(layers, s.metadata().LayerChain(*img->top_chain_id));
    std::reverse(layers.begin(), layers.end());  // base first
  }
  std::vector<HistoryEntry> out;
  size_t li = 0;
  if (cfg.contains("history") && cfg["history"].is_array()) {
    for (auto& h : cfg["history"]) {
      HistoryEntry e;
      e.id = "<missing>";
      e.created = ParseRfc3339(h.value("created", "")).value_or(0) / 1000000000;
      e.created_by = h.value("created_by", "");
      e.comment = h.value("comment", "");
      if (!h.value("empty_layer", false) && li < layers.size()) e.size = layers[li++].size;
      out.push_back(std::move(e));
    }
  }
  std::reverse(out.begin(), out.end());  // newest first, as docker lists it
  if (!out.empty()) {
    out[0].id = image_id;
    out[0].tags = FamiliarTags(img->tags);
  }
  return out;
}

}  // namespace strata::engine
