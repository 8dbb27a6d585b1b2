#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "archive/compression.h"
#include "archive/tar_reader.h"
#include "engine/archive_io.h"
#include "engine/images.h"
#include "engine/layers.h"
#include "engine/timefmt.h"
#include "image/reference.h"
#include "util/fs.h"

namespace strata::engine {
namespace {

constexpr int64_t kKeepInMemory = 4 << 20;  // JSON documents; layers are streamed
constexpr int64_t kMaxKeptTotal = 64 << 20;

struct Member {
  std::string digest;  // of the file's bytes, as stored in content/
  int64_t size = 0;
};

// A large member unpacked while it streamed by, before the manifest (which
// docker writes last) said which image and parent it belongs to.
struct Staged {
  std::unique_ptr<TempDir> dir;            // holds "fs", the overlay upper dir
  std::unique_ptr<LayerTarKeeper> keeper;  // what stays of the member's bytes
  AppliedLayer applied;
  std::optional<Error> error;             // why it is not a usable layer
  digest::Digest want;                    // the digest its OCI layout path names, if any
  std::optional<store::LayerRecord> rec;  // once committed as a layer
};

std::string CleanPath(std::string p) {
  while (p.starts_with("./")) p = p.substr(2);
  while (p.starts_with("/")) p = p.substr(1);
  return p;
}

// Resolves "dir/../x" style symlink targets relative to the link's folder.
std::string JoinLink(const std::string& link_path, const std::string& target) {
  std::string base =
      link_path.substr(0, link_path.rfind('/') == std::string::npos ? 0 : link_path.rfind('/') + 1);
  std::vector<std::string> parts;
  std::string all = target.starts_with("/") ? target.substr(1) : base + target;
  size_t pos = 0;
  while (pos <= all.size()) {
    size_t next = all.find('/', pos);
    std::string part = all.substr(pos, next == std::string::npos ? std::string::npos : next - pos);
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    if (next == std::string::npos) break;
    pos = next + 1;
  }
  std::string out;
  for (auto& p : parts) out += (out.empty() ? "" : "/") + p;
  return out;
}

// The archive member a layer came from stays in content/ as the layer's blob.
void KeepBlob(store::LayerRecord& rec, const Member& m) {
  rec.blob_digest = m.digest;
  rec.blob_size = m.size;
  rec.blob_media_type = m.digest == rec.diff_id ? "application/vnd.oci.image.layer.v1.tar"
                                                : "application/vnd.oci.image.layer.v1.tar+gzip";
}

struct ImageToLoad {
  std::string config_path;
  std::vector<std::string> layer_paths;
  std::vector<std::string> tags;
};

}  // namespace

Result<std::vector<std::string>> LoadImages(Store& s, Reader& raw_in) {
  STRATA_ASSIGN_OR_RETURN(StoreLock lock, s.Shared());
  auto fail = [](Error e) { return Error{e.code, "Error processing tar file: " + e.message}; };
  auto dec = archive::NewDecompressingReader(raw_in);
  if (!dec) return fail(std::move(dec).error());
  archive::TarReader tar(**dec);
  std::map<std::string, Member> members;
  std::map<std::string, std::string> links;
  std::map<std::string, std::string> small;
  int64_t kept = 0;
  std::map<std::string, Staged> staged;
  // With overlay, a layer's upper dir does not depend on its parent's
  // content, so layers unpack in the same pass that stores their blobs.
  STRATA_ASSIGN_OR_RETURN(snapshot::Snapshotter * snaps, s.snapshots());
  bool stage = snaps->Driver() == "overlay";
  for (;;) {
    auto next = tar.Next();
    if (!next) return fail(std::move(next).error());
    if (!*next) break;
    archive::TarEntry& e = **next;
    std::string path = CleanPath(e.path);
    if (e.type == archive::EntryType::kSymlink || e.type == archive::EntryType::kHardlink) {
      links[path] = e.type == archive::EntryType::kSymlink ? JoinLink(path, e.linkname)
                                                           : CleanPath(e.linkname);
      continue;
    }
    if (e.type != archive::EntryType::kFile) continue;
    // In an OCI layout the path names the digest: check it as bytes arrive.
    digest::Digest want;
    if (path.starts_with("blobs/sha256/")) {
      auto d = digest::Digest::Parse("sha256:" + path.substr(13));
      if (d) want = *d;
    }
    bool keep = e.size <= kKeepInMemory && kept + e.size <= kMaxKeptTotal;
    if (keep) {
      // Small members (JSON documents, tiny layers) stay in memory; only
      // what an image uses is written to content/ later.
      auto data = ReadAll(tar.content(), static_cast<size_t>(kKeepInMemory));
      if (!data) return fail(std::move(data).error());
      if (!want.empty() && digest::Sha256Of(*data) != want) {
        return fail(DataLoss(path + ": digest mismatch: content has digest " +
                             digest::Sha256Of(*data).str()));
      }
      kept += e.size;
      small[path] = std::move(*data);
      continue;
    }
    if (stage) {
      // Unpacked as it streams by; the keeper holds on to what the blob
      // needs (for a plain tar, only its tar-split) until the manifest says
      // the member is a layer.
      Staged st;
      st.want = want;
      STRATA_ASSIGN_OR_RETURN(auto tmp, TempDir::Create(s.TmpDir(), "load-"));
      st.dir = std::make_unique<TempDir>(std::move(tmp));
      std::string fs = st.dir->path() + "/fs";
      STRATA_TRY(MakeDirs(fs));
      STRATA_ASSIGN_OR_RETURN(st.keeper, LayerTarKeeper::Create(s));
      TeeReader raw(tar.content(), *st.keeper);
      auto applied = ApplyLayerStream(raw, fs, archive::ApplyMode::kOverlayDiff, path, nullptr);
      if (applied) {
        st.applied = std::move(*applied);
      } else {
        st.error = std::move(applied).error();
        st.dir.reset();
      }
      CountingWriter sink;  // the rest of the member still belongs to the keeper
      auto rest = Copy(raw, sink);
      if (!rest) return fail(std::move(rest).error());
      staged[path] = std::move(st);
      continue;
    }
    STRATA_ASSIGN_OR_RETURN(auto w, s.content().Ingest());
    auto copied = Copy(tar.content(), w);
    if (!copied) return fail(std::move(copied).error());
    auto committed = w.Commit(want);
    if (!committed) return fail(std::move(committed).error().Wrap(path));
    members[path] = Member{committed->str(), e.size};
  }
  auto resolve = [&](std::string p) {
    p = CleanPath(p);
    for (int i = 0; i < 16 && links.count(p); ++i) p = links[p];
    return p;
  };
  auto member = [&](const std::string& p) -> Result<Member> {
    std::string rp = resolve(p);
    if (auto it = members.find(rp); it != members.end()) return it->second;
    if (auto st = staged.find(rp); st != staged.end() && st->second.keeper) {
      // A large member used as something other than a layer: keep its bytes.
      auto info = st->second.keeper->CommitBytes(
          st->second.want.empty() ? std::nullopt : std::optional(st->second.want));
      st->second.keeper.reset();
      if (!info) return fail(std::move(info).error().Wrap(rp));
      members[rp] = Member{info->digest.str(), static_cast<int64_t>(info->size)};
      return members[rp];
    }
    auto sm = small.find(rp);
    if (sm == small.end()) return NotFound("open " + p + ": no such file or directory");
    STRATA_ASSIGN_OR_RETURN(auto d, s.content().Put(sm->second));
    members[rp] = Member{d.str(), static_cast<int64_t>(sm->second.size())};
    return members[rp];
  };
  auto doc = [&](const std::string& p) -> Result<nlohmann::json> {
    auto it = small.find(resolve(p));
    if (it == small.end()) return NotFound("open " + p + ": no such file or directory");
    auto j = nlohmann::json::parse(it->second, nullptr, false);
    if (j.is_discarded()) return InvalidArgument(p + ": invalid JSON");
    return j;
  };

  std::vector<ImageToLoad> todo;
  if (small.count("manifest.json")) {
    STRATA_ASSIGN_OR_RETURN(auto m, doc("manifest.json"));
    if (!m.is_array()) return InvalidArgument("manifest.json: not a JSON array");
    for (auto& e : m) {
      ImageToLoad t;
      t.config_path = e.value("Config", "");
      if (e.contains("Layers") && e["Layers"].is_array())
        for (auto& l : e["Layers"]) t.layer_paths.push_back(l.get<std::string>());
      if (e.contains("RepoTags") && e["RepoTags"].is_array())
        for (auto& r : e["RepoTags"]) t.tags.push_back(r.get<std::string>());
      todo.push_back(std::move(t));
    }
  } else if (small.count("index.json")) {
    // A plain OCI image layout: follow index → manifest → config/layers.
    STRATA_ASSIGN_OR_RETURN(auto idx, doc("index.json"));
    if (!idx.contains("manifests") || !idx["manifests"].is_array()) {
      return InvalidArgument("index.json: no manifests");
    }
    for (auto& d : idx["manifests"]) {
      std::string dg = d.value("digest", "");
      STRATA_ASSIGN_OR_RETURN(auto parsed, digest::Digest::Parse(dg));
      STRATA_ASSIGN_OR_RETURN(auto man, doc("blobs/sha256/" + parsed.hex()));
      if (!man.contains("config")) continue;  // nested indexes are not images
      ImageToLoad t;
      t.config_path = "blobs/sha256/" + man["config"].value("digest", "").substr(7);
      for (auto& l : man.value("layers", nlohmann::json::array()))
        t.layer_paths.push_back("blobs/sha256/" + l.value("digest", "").substr(7));
      if (d.contains("annotations")) {
        auto& a = d["annotations"];
        std::string name = a.value("io.containerd.image.name", "");
        if (name.empty()) name = a.value("org.opencontainers.image.ref.name", "");
        if (!name.empty()) t.tags.push_back(name);
      }
      todo.push_back(std::move(t));
    }
  }

  std::vector<std::string> out;
  for (auto& t : todo) {
    STRATA_ASSIGN_OR_RETURN(auto cfg_member, member(t.config_path));
    STRATA_ASSIGN_OR_RETURN(auto cfg, doc(t.config_path));
    std::vector<std::string> diff_ids;
    if (cfg.contains("rootfs") && cfg["rootfs"].contains("diff_ids"))
      for (auto& d : cfg["rootfs"]["diff_ids"]) diff_ids.push_back(d.get<std::string>());
    if (diff_ids.size() != t.layer_paths.size()) {
      return InvalidArgument("invalid manifest, layers length mismatch: expected " +
                             std::to_string(diff_ids.size()) + ", got " +
                             std::to_string(t.layer_paths.size()));
    }
    std::vector<store::LayerRecord> layers;
    std::optional<std::string> parent;
    int64_t size = 0;
    for (size_t i = 0; i < t.layer_paths.size(); ++i) {
      std::string chain = ChainIdOf(parent, diff_ids[i]);
      STRATA_ASSIGN_OR_RETURN(auto existing, s.metadata().GetLayer(chain));
      if (existing && snaps->Stat(chain)) {
        layers.push_back(*existing);
      } else if (auto sp = staged.find(resolve(t.layer_paths[i]));
                 sp != staged.end() && (sp->second.error || !sp->second.rec)) {
        Staged& st = sp->second;
        if (st.error) return fail(*st.error);
        if (st.applied.diff_id != diff_ids[i]) {
          return DataLoss("invalid diffID for layer " + std::to_string(i) + ": expected \"" +
                          diff_ids[i] + "\", got \"" + st.applied.diff_id + "\"");
        }
        STRATA_ASSIGN_OR_RETURN(auto rec, CommitStagedLayer(s, st.dir->path() + "/fs", st.applied,
                                                            parent, st.applied.diff_id));
        // After the snapshot: a tar-split is only good with the files beside it.
        auto kept = st.keeper->Commit(st.applied, rec,
                                      st.want.empty() ? std::nullopt : std::optional(st.want));
        if (!kept) return fail(std::move(kept).error().Wrap(t.layer_paths[i]));
        st.keeper.reset();
        st.rec = rec;
        layers.push_back(rec);
      } else {
        UnpackOptions uo;
        uo.parent_chain_id = parent;
        std::unique_ptr<Reader> r;
        std::optional<store::LayerRecord> same;  // this member, unpacked before
        Member lm;
        if (sp != staged.end() && sp->second.rec) {
          // The same layer again on another parent: read it back from its
          // first snapshot, and share its blob or tar-split.
          same = sp->second.rec;
          STRATA_ASSIGN_OR_RETURN(LayerTar lt, OpenLayerTar(s, *same));
          r = std::move(lt.reader);
          uo.label = same->diff_id;
        } else {
          STRATA_ASSIGN_OR_RETURN(lm, member(t.layer_paths[i]));
          STRATA_ASSIGN_OR_RETURN(auto bd, digest::Digest::Parse(lm.digest));
          STRATA_ASSIGN_OR_RETURN(r, s.content().Open(bd, /*verify=*/false));
          uo.label = lm.digest;
        }
        auto rec = UnpackLayer(s, *r, uo);
        if (!rec) return std::move(rec).error();
        if (rec->diff_id != diff_ids[i]) {
          return DataLoss("invalid diffID for layer " + std::to_string(i) + ": expected \"" +
                          diff_ids[i] + "\", got \"" + rec->diff_id + "\"");
        }
        if (same) {
          rec->blob_digest = same->blob_digest;
          rec->blob_size = same->blob_size;
          rec->blob_media_type = same->blob_media_type;
          rec->tar_split = same->tar_split;
        } else {
          KeepBlob(*rec, lm);
        }
        layers.push_back(*rec);
      }
      size += layers.back().size;
      parent = layers.back().chain_id;
    }
    store::ImageRecord img;
    img.id = cfg_member.digest;
    img.top_chain_id = parent;
    img.created = ParseRfc3339(cfg.value("created", "")).value_or(0);
    img.size = size;
    img.loaded_at = NowUnixNanos();
    std::vector<image::Reference> refs;
    for (auto& tag : t.tags) {
      STRATA_ASSIGN_OR_RETURN(auto r, image::ParseNormalizedNamed(tag));
      refs.push_back(image::TagNameOnly(r));
    }
    STRATA_ASSIGN_OR_RETURN(auto tx, s.db().Begin());
    for (auto& l : layers) STRATA_TRY(s.metadata().PutLayer(l));
    STRATA_TRY(s.metadata().PutImage(img));
    for (auto& r : refs) {
      STRATA_ASSIGN_OR_RETURN(auto prev, s.metadata().SetTag(r.String(), img.id));
      if (prev && *prev != img.id) {
        out.push_back("The image " + r.FamiliarString() +
                      " already exists, renaming the old one with ID " + *prev +
                      " to empty string");
      }
    }
    STRATA_TRY(tx.Commit());
    if (refs.empty()) out.push_back("Loaded image ID: " + img.id);
    for (auto& r : refs) out.push_back("Loaded image: " + r.FamiliarString());
  }
  return out;
}

}  // namespace strata::engine
