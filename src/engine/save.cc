#include <fcntl.h>

#include <algorithm>
#include <map>
#include <set>

#include "archive/compression.h"
#include "archive/tar_writer.h"
#include "engine/archive_io.h"
#include "engine/docker_json.h"
#include "engine/images.h"
#include "engine/layers.h"
#include "image/reference.h"
#include "util/fs.h"

namespace strata::engine {

using ojson = nlohmann::ordered_json;

namespace {

struct SavedImage {
  std::string id;
  std::vector<std::string> tags;  // familiar
  std::vector<std::string> full_tags;
};

class ArchiveWriter {
 public:
  explicit ArchiveWriter(Writer& out) : tar_(out) {}
  Status Dir(const std::string& path) {
    archive::TarEntry e;
    e.path = path;
    e.type = archive::EntryType::kDir;
    e.mode = 0755;
    return tar_.WriteHeader(e);
  }
  Status File(const std::string& path, std::string_view data) {
    archive::TarEntry e;
    e.path = path;
    e.mode = 0644;
    e.size = static_cast<int64_t>(data.size());
    STRATA_TRY(tar_.WriteHeader(e));
    return tar_.WriteData(data.data(), data.size());
  }
  Status FileFrom(const std::string& path, Reader& r, int64_t size) {
    archive::TarEntry e;
    e.path = path;
    e.mode = 0644;
    e.size = size;
    STRATA_TRY(tar_.WriteHeader(e));
    auto buf = std::make_unique<char[]>(kCopyBufferSize);
    int64_t left = size;
    while (left > 0) {
      STRATA_ASSIGN_OR_RETURN(size_t n,
                              r.Read(buf.get(), std::min<int64_t>(left, kCopyBufferSize)));
      if (n == 0) return DataLoss("blob for " + path + " is shorter than recorded");
      STRATA_TRY(tar_.WriteData(buf.get(), n));
      left -= static_cast<int64_t>(n);
    }
    return Ok();
  }
  Status Close() { return tar_.Close(); }

 private:
  archive::TarWriter tar_;
};

}  // namespace

Status SaveImages(Store& s, const std::vector<std::string>& names, Writer& out) {
  auto& md = s.metadata();
  std::vector<SavedImage> images;
  auto add = [&](const std::string& id, std::optional<image::Reference> tag) {
    auto it = std::find_if(images.begin(), images.end(), [&](auto& i) { return i.id == id; });
    if (it == images.end()) {
      images.push_back({id, {}, {}});
      it = images.end() - 1;
    }
    if (tag && std::find(it->full_tags.begin(), it->full_tags.end(), tag->String()) ==
                   it->full_tags.end()) {
      it->tags.push_back(tag->FamiliarString());
      it->full_tags.push_back(tag->String());
    }
  };
  for (auto& name : names) {
    STRATA_ASSIGN_OR_RETURN(std::string id, ResolveImage(s, name));
    auto ref = image::ParseNormalizedNamed(name);
    bool by_id =
        !ref || id.substr(7).starts_with(name.starts_with("sha256:") ? name.substr(7) : name);
    if (by_id) {
      add(id, std::nullopt);
    } else if (ref->IsNameOnly()) {
      // A bare repository name saves every tag of it.
      STRATA_ASSIGN_OR_RETURN(auto all, md.ListImages());
      for (auto& img : all)
        for (auto& t : img.tags)
          if (auto r = image::ParseNormalizedNamed(t); r && r->Name() == ref->Name())
            add(img.id, *r);
    } else if (ref->HasTag()) {
      add(id, *ref);
    } else {
      add(id, std::nullopt);
    }
  }

  ArchiveWriter aw(out);
  STRATA_TRY(aw.Dir("blobs/"));
  STRATA_TRY(aw.Dir("blobs/sha256/"));
  std::set<std::string> written;
  ojson manifest_json = ojson::array();
  ojson index = ojson::object();
  index["schemaVersion"] = 2;
  index["mediaType"] = "application/vnd.oci.image.index.v1+json";
  index["manifests"] = ojson::array();
  nlohmann::json repositories = nlohmann::json::object();

  for (auto& img : images) {
    STRATA_ASSIGN_OR_RETURN(auto rec, md.GetImage(img.id));
    if (!rec) return NotFound("No such image: " + img.id);
    STRATA_ASSIGN_OR_RETURN(std::string config, ImageConfigBytes(s, img.id));
    std::vector<store::LayerRecord> layers;
    if (rec->top_chain_id) {
      STRATA_ASSIGN_OR_RETURN(layers, md.LayerChain(*rec->top_chain_id));
      std::reverse(layers.begin(), layers.end());
    }
    std::string hex = img.id.substr(7);
    if (written.insert(img.id).second) STRATA_TRY(aw.File("blobs/sha256/" + hex, config));
    ojson entry = ojson::object();
    entry["Config"] = "blobs/sha256/" + hex;
    entry["RepoTags"] = img.tags.empty() ? ojson(nullptr) : ojson(img.tags);
    ojson layer_paths = ojson::array();
    ojson manifest = ojson::object();
    manifest["schemaVersion"] = 2;
    manifest["mediaType"] = "application/vnd.oci.image.manifest.v1+json";
    manifest["config"] = {{"mediaType", "application/vnd.oci.image.config.v1+json"},
                          {"digest", img.id},
                          {"size", config.size()}};
    manifest["layers"] = ojson::array();
    for (auto& l : layers) {
      std::string lhex = l.diff_id.substr(7);
      layer_paths.push_back("blobs/sha256/" + lhex);
      STRATA_ASSIGN_OR_RETURN(LayerTar lt, OpenLayerTar(s, l));
      int64_t size = lt.size;
      std::optional<TempDir> scratch;
      if (size < 0) {
        // A compressed blob: docker archives carry layers uncompressed, and a
        // tar header needs the size first, so inflate to a scratch file.
        STRATA_ASSIGN_OR_RETURN(auto tmp, TempDir::Create(s.TmpDir(), "save-"));
        scratch.emplace(std::move(tmp));
        std::string path = scratch->path() + "/layer";
        STRATA_ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(path, O_RDWR | O_CREAT | O_TRUNC));
        FdWriter w(fd.get());
        STRATA_ASSIGN_OR_RETURN(uint64_t n, Copy(*lt.reader, w));
        size = static_cast<int64_t>(n);
        STRATA_ASSIGN_OR_RETURN(UniqueFd rfd, OpenFile(path, O_RDONLY));
        lt.reader = std::make_unique<OwnedFdReader>(std::move(rfd));
      }
      if (written.insert(l.diff_id).second) {
        STRATA_TRY(aw.FileFrom("blobs/sha256/" + lhex, *lt.reader, size));
      }
      manifest["layers"].push_back({{"mediaType", "application/vnd.oci.image.layer.v1.tar"},
                                    {"digest", l.diff_id},
                                    {"size", size}});
    }
    entry["Layers"] = layer_paths;
    manifest_json.push_back(entry);
    std::string mbytes = GoJson(manifest);
    digest::Digest md_digest = digest::Sha256Of(mbytes);
    if (written.insert(md_digest.str()).second) {
      STRATA_TRY(aw.File("blobs/sha256/" + md_digest.hex(), mbytes));
    }
    auto add_index = [&](const std::string* full_tag) {
      ojson d = ojson::object();
      d["mediaType"] = "application/vnd.oci.image.manifest.v1+json";
      d["digest"] = md_digest.str();
      d["size"] = mbytes.size();
      if (full_tag) {
        auto r = image::ParseNormalizedNamed(*full_tag);
        d["annotations"] = {{"io.containerd.image.name", *full_tag},
                            {"org.opencontainers.image.ref.name", r ? r->Tag() : ""}};
      }
      index["manifests"].push_back(d);
    };
    if (img.full_tags.empty()) add_index(nullptr);
    for (auto& t : img.full_tags) {
      add_index(&t);
      auto r = image::ParseNormalizedNamed(t);
      if (r && !layers.empty()) {
        repositories[r->FamiliarName()][r->Tag()] = layers.back().diff_id.substr(7);
      }
    }
  }
  STRATA_TRY(aw.File("index.json", GoJson(index) + "\n"));
  STRATA_TRY(aw.File("manifest.json", GoJson(manifest_json) + "\n"));
  STRATA_TRY(aw.File("oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}"));
  if (!repositories.empty()) STRATA_TRY(aw.File("repositories", repositories.dump() + "\n"));
  return aw.Close();
}

}  // namespace strata::engine
