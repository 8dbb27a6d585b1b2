// Image metadata over the database: layers, images, tags and repo digests.
// Rows are written only after the data they point to is durable (content
// blobs committed, snapshots committed), so a crash leaves at worst garbage.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "store/db.h"
#include "util/result.h"

namespace strata::store {

struct LayerRecord {
  std::string chain_id;
  std::string diff_id;
  std::optional<std::string> parent_chain_id;
  int64_t size = 0;
  std::optional<std::string> blob_digest;
  std::optional<std::string> blob_media_type;
  std::optional<int64_t> blob_size;
  // Set when the uncompressed blob is not stored but regenerated from this
  // tar-split blob and the snapshot (schema.sql, migration 2).
  std::optional<std::string> tar_split;
};

struct ImageRecord {
  std::string id;  // sha256:…
  std::optional<std::string> top_chain_id;
  int64_t created = 0;  // unix ns
  int64_t size = 0;
  std::optional<std::string> parent_id;
  int64_t loaded_at = 0;                  // unix ns
  int64_t last_tag_time = 0;              // unix ns, 0 = never tagged
  std::vector<std::string> tags;          // normalized refs, sorted
  std::vector<std::string> repo_digests;  // name@sha256:…, sorted
};

// One build cache entry (schema.sql, migration 3): what a build step with
// this key produced.
struct CacheRecord {
  std::string key;                      // sha256:…
  std::optional<std::string> chain_id;  // the root after the step; none = empty root
  std::string diff_id;                  // the layer the step added
  int64_t created_at = 0;               // unix ns; 0 = now
  int64_t last_used = 0;                // unix seconds
  int64_t size = 0;                     // bytes of that layer
};

class Metadata {
 public:
  explicit Metadata(Db& db) : db_(db) {}
  Db& db() { return db_; }

  Result<std::optional<LayerRecord>> GetLayer(const std::string& chain_id);
  // Inserts if absent; an existing layer keeps its row (same chain = same content),
  // but gains a blob reference when it had none.
  Status PutLayer(const LayerRecord& l);
  // Layers from the top chain down to the base (top first).
  Result<std::vector<LayerRecord>> LayerChain(const std::string& top_chain_id);

  Result<std::optional<ImageRecord>> GetImage(const std::string& id);
  Status PutImage(const ImageRecord& img);
  Result<std::vector<ImageRecord>> ListImages();
  // Full image IDs whose hex starts with prefix.
  Result<std::vector<std::string>> ImagesByIdPrefix(const std::string& hex_prefix);
  // Images whose parent_id is id.
  Result<std::vector<std::string>> Children(const std::string& id);
  Status DeleteImage(const std::string& id);

  Result<std::optional<std::string>> LookupTag(const std::string& ref);
  // Points ref at image_id; returns the image it pointed to before, if any.
  Result<std::optional<std::string>> SetTag(const std::string& ref, const std::string& image_id);
  Status RemoveTag(const std::string& ref);
  Result<std::vector<std::string>> TagsOf(const std::string& image_id);
  Result<std::optional<std::string>> LookupDigestRef(const std::string& ref);
  Status AddRepoDigest(const std::string& ref, const std::string& image_id);
  Status RemoveRepoDigest(const std::string& ref);

  // Build cache. Get also refreshes last_used (a hit keeps an entry young).
  Result<std::optional<CacheRecord>> GetCache(const std::string& key);
  Status PutCache(const CacheRecord& rec);
  Result<std::vector<CacheRecord>> ListCache();
  Status DeleteCache(const std::string& key);

  // Layers no image or build cache entry reaches (children before parents, so they can be
  // deleted in order).
  Result<std::vector<LayerRecord>> UnreferencedLayers();
  Result<std::vector<LayerRecord>> AllLayers();
  Status DeleteLayer(const std::string& chain_id);

 private:
  Db& db_;
};

}  // namespace strata::store
