#include "store/metadata.h"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <map>

namespace strata::store {
namespace {

constexpr const char* kLayerCols =
    "chain_id, diff_id, parent_chain_id, size, blob_digest, blob_media_type, blob_size, "
    "tar_split";

LayerRecord ReadLayer(const Stmt& s) {
  LayerRecord l;
  l.chain_id = s.Text(0);
  l.diff_id = s.Text(1);
  l.parent_chain_id = s.OptText(2);
  l.size = s.Int(3);
  l.blob_digest = s.OptText(4);
  l.blob_media_type = s.OptText(5);
  if (!s.IsNull(6)) l.blob_size = s.Int(6);
  l.tar_split = s.OptText(7);
  return l;
}

constexpr const char* kImageCols =
    "id, top_chain_id, created, size, parent_id, loaded_at, last_tag_time";

ImageRecord ReadImage(const Stmt& s) {
  ImageRecord i;
  i.id = s.Text(0);
  i.top_chain_id = s.OptText(1);
  i.created = s.Int(2);
  i.size = s.Int(3);
  i.parent_id = s.OptText(4);
  i.loaded_at = s.Int(5);
  i.last_tag_time = s.Int(6);
  return i;
}

Result<std::vector<std::string>> Strings(Db& db, std::string_view sql, const std::string& arg) {
  STRATA_ASSIGN_OR_RETURN(Stmt s, db.Prepare(sql));
  s.Bind(1, arg);
  return s.Rows([](const Stmt& row) { return row.Text(0); });
}

int64_t NowSeconds() { return static_cast<int64_t>(::time(nullptr)); }

}  // namespace

Result<std::optional<LayerRecord>> Metadata::GetLayer(const std::string& chain_id) {
  STRATA_ASSIGN_OR_RETURN(
      Stmt s, db_.Prepare(std::string("SELECT ") + kLayerCols + " FROM layers WHERE chain_id=?"));
  s.Bind(1, chain_id);
  STRATA_ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return std::optional<LayerRecord>();
  return std::optional<LayerRecord>(ReadLayer(s));
}

Status Metadata::PutLayer(const LayerRecord& l) {
  STRATA_ASSIGN_OR_RETURN(
      Stmt s, db_.Prepare("INSERT INTO layers (chain_id, diff_id, parent_chain_id, size, "
                          "blob_digest, blob_media_type, blob_size, created_at, tar_split) "
                          "VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT(chain_id) DO UPDATE SET "
                          "blob_digest=excluded.blob_digest, "
                          "blob_media_type=excluded.blob_media_type, "
                          "blob_size=excluded.blob_size, tar_split=excluded.tar_split "
                          "WHERE layers.blob_digest IS NULL"));
  s.Bind(1, l.chain_id).Bind(2, l.diff_id).BindOpt(3, l.parent_chain_id).Bind(4, l.size);
  s.BindOpt(5, l.blob_digest).BindOpt(6, l.blob_media_type);
  if (l.blob_size) {
    s.Bind(7, *l.blob_size);
  } else {
    s.BindNull(7);
  }
  s.Bind(8, NowSeconds());
  s.BindOpt(9, l.tar_split);
  return s.Run();
}

Result<std::vector<LayerRecord>> Metadata::LayerChain(const std::string& top_chain_id) {
  std::vector<LayerRecord> out;
  std::optional<std::string> next = top_chain_id;
  while (next) {
    STRATA_ASSIGN_OR_RETURN(auto l, GetLayer(*next));
    if (!l) return DataLoss("layer " + *next + " is missing from the store");
    next = l->parent_chain_id;
    out.push_back(std::move(*l));
    if (out.size() > 10000) return DataLoss("layer chain " + top_chain_id + " has a cycle");
  }
  return out;
}

Result<std::optional<ImageRecord>> Metadata::GetImage(const std::string& id) {
  STRATA_ASSIGN_OR_RETURN(
      Stmt s, db_.Prepare(std::string("SELECT ") + kImageCols + " FROM images WHERE id=?"));
  s.Bind(1, id);
  STRATA_ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return std::optional<ImageRecord>();
  ImageRecord img = ReadImage(s);
  STRATA_ASSIGN_OR_RETURN(img.tags,
                          Strings(db_, "SELECT ref FROM tags WHERE image_id=? ORDER BY ref", id));
  STRATA_ASSIGN_OR_RETURN(
      img.repo_digests,
      Strings(db_, "SELECT ref FROM repo_digests WHERE image_id=? ORDER BY ref", id));
  return std::optional<ImageRecord>(std::move(img));
}

Status Metadata::PutImage(const ImageRecord& img) {
  STRATA_ASSIGN_OR_RETURN(
      Stmt s, db_.Prepare("INSERT OR IGNORE INTO images (id, top_chain_id, created, size, "
                          "parent_id, loaded_at) VALUES (?,?,?,?,?,?)"));
  s.Bind(1, img.id).BindOpt(2, img.top_chain_id).Bind(3, img.created).Bind(4, img.size);
  s.BindOpt(5, img.parent_id).Bind(6, img.loaded_at);
  return s.Run();
}

Result<std::vector<ImageRecord>> Metadata::ListImages() {
  std::map<std::string, ImageRecord> by_id;
  std::vector<std::string> order;
  {
    STRATA_ASSIGN_OR_RETURN(Stmt s,
                            db_.Prepare(std::string("SELECT ") + kImageCols +
                                        " FROM images ORDER BY created DESC, loaded_at DESC, id"));
    for (;;) {
      STRATA_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      ImageRecord r = ReadImage(s);
      order.push_back(r.id);
      by_id.emplace(r.id, std::move(r));
    }
  }
  for (auto [sql, field] : {std::pair{"SELECT image_id, ref FROM tags ORDER BY ref", 0},
                            std::pair{"SELECT image_id, ref FROM repo_digests ORDER BY ref", 1}}) {
    STRATA_ASSIGN_OR_RETURN(Stmt s, db_.Prepare(sql));
    for (;;) {
      STRATA_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      auto it = by_id.find(s.Text(0));
      if (it == by_id.end()) continue;
      (field == 0 ? it->second.tags : it->second.repo_digests).push_back(s.Text(1));
    }
  }
  std::vector<ImageRecord> out;
  out.reserve(order.size());
  for (auto& id : order) out.push_back(std::move(by_id[id]));
  return out;
}

Result<std::vector<std::string>> Metadata::ImagesByIdPrefix(const std::string& hex_prefix) {
  // The prefix is hex only (checked by callers), so LIKE needs no escaping.
  return Strings(db_, "SELECT id FROM images WHERE id LIKE ? ORDER BY id",
                 "sha256:" + hex_prefix + "%");
}

Result<std::vector<std::string>> Metadata::Children(const std::string& id) {
  return Strings(db_, "SELECT id FROM images WHERE parent_id=? ORDER BY id", id);
}

Status Metadata::DeleteImage(const std::string& id) {
  for (const char* sql :
       {"DELETE FROM tags WHERE image_id=?", "DELETE FROM repo_digests WHERE image_id=?",
        "DELETE FROM images WHERE id=?"}) {
    STRATA_ASSIGN_OR_RETURN(Stmt s, db_.Prepare(sql));
    s.Bind(1, id);
    STRATA_TRY(s.Run());
  }
  return Ok();
}

Result<std::optional<std::string>> Metadata::LookupTag(const std::string& ref) {
  STRATA_ASSIGN_OR_RETURN(auto v, Strings(db_, "SELECT image_id FROM tags WHERE ref=?", ref));
  if (v.empty()) return std::optional<std::string>();
  return std::optional<std::string>(v[0]);
}

Result<std::optional<std::string>> Metadata::SetTag(const std::string& ref,
                                                    const std::string& image_id) {
  STRATA_ASSIGN_OR_RETURN(auto prev, LookupTag(ref));
  STRATA_ASSIGN_OR_RETURN(Stmt s,
                          db_.Prepare("INSERT INTO tags (ref, image_id, created_at) VALUES (?,?,?) "
                                      "ON CONFLICT(ref) DO UPDATE SET image_id=excluded.image_id, "
                                      "created_at=excluded.created_at"));
  s.Bind(1, ref).Bind(2, image_id).Bind(3, NowSeconds());
  STRATA_TRY(s.Run());
  STRATA_ASSIGN_OR_RETURN(Stmt u, db_.Prepare("UPDATE images SET last_tag_time=? WHERE id=?"));
  u.Bind(1, static_cast<int64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count()))
      .Bind(2, image_id);
  STRATA_TRY(u.Run());
  return prev;
}

Status Metadata::RemoveTag(const std::string& ref) {
  STRATA_ASSIGN_OR_RETURN(Stmt s, db_.Prepare("DELETE FROM tags WHERE ref=?"));
  s.Bind(1, ref);
  return s.Run();
}

Result<std::vector<std::string>> Metadata::TagsOf(const std::string& image_id) {
  return Strings(db_, "SELECT ref FROM tags WHERE image_id=? ORDER BY ref", image_id);
}

Result<std::optional<std::string>> Metadata::LookupDigestRef(const std::string& ref) {
  STRATA_ASSIGN_OR_RETURN(auto v,
                          Strings(db_, "SELECT image_id FROM repo_digests WHERE ref=?", ref));
  if (v.empty()) return std::optional<std::string>();
  return std::optional<std::string>(v[0]);
}

Status Metadata::AddRepoDigest(const std::string& ref, const std::string& image_id) {
  STRATA_ASSIGN_OR_RETURN(Stmt s,
                          db_.Prepare("INSERT INTO repo_digests (ref, image_id) VALUES (?,?) "
                                      "ON CONFLICT(ref) DO UPDATE SET image_id=excluded.image_id"));
  s.Bind(1, ref).Bind(2, image_id);
  return s.Run();
}

Status Metadata::RemoveRepoDigest(const std::string& ref) {
  STRATA_ASSIGN_OR_RETURN(Stmt s, db_.Prepare("DELETE FROM repo_digests WHERE ref=?"));
  s.Bind(1, ref);
  return s.Run();
}

namespace {
constexpr const char* kCacheCols = "cache_key, chain_id, diff_id, created_at, last_used, size";
CacheRecord ReadCache(const Stmt& s) {
  CacheRecord c;
  c.key = s.Text(0);
  c.chain_id = s.OptText(1);
  c.diff_id = s.Text(2);
  c.created_at = s.Int(3);
  c.last_used = s.Int(4);
  c.size = s.Int(5);
  return c;
}
}  // namespace

Result<std::optional<CacheRecord>> Metadata::GetCache(const std::string& key) {
  std::optional<CacheRecord> out;
  {
    STRATA_ASSIGN_OR_RETURN(Stmt s, db_.Prepare(std::string("SELECT ") + kCacheCols +
                                                " FROM build_cache WHERE cache_key=?"));
    s.Bind(1, key);
    STRATA_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return out;
    out = ReadCache(s);
  }
  // Refreshed at most hourly: a no-op rebuild then writes nothing durable
  // (prune's --filter until works in hours anyway).
  int64_t now = NowSeconds();
  if (now - out->last_used >= 3600) {
    STRATA_ASSIGN_OR_RETURN(Stmt u,
                            db_.Prepare("UPDATE build_cache SET last_used=? WHERE cache_key=?"));
    u.Bind(1, now).Bind(2, key);
    STRATA_TRY(u.Run());
    out->last_used = now;
  }
  return out;
}

Status Metadata::PutCache(const CacheRecord& rec) {
  STRATA_ASSIGN_OR_RETURN(
      Stmt s, db_.Prepare("INSERT OR REPLACE INTO build_cache (cache_key, chain_id, diff_id, "
                          "created_at, last_used, size) VALUES (?,?,?,?,?,?)"));
  int64_t now = NowSeconds();
  s.Bind(1, rec.key).BindOpt(2, rec.chain_id).Bind(3, rec.diff_id);
  s.Bind(4, rec.created_at ? rec.created_at : now * 1000000000LL)
      .Bind(5, rec.last_used ? rec.last_used : now);
  s.Bind(6, rec.size);
  return s.Run();
}

Result<std::vector<CacheRecord>> Metadata::ListCache() {
  STRATA_ASSIGN_OR_RETURN(Stmt s, db_.Prepare(std::string("SELECT ") + kCacheCols +
                                              " FROM build_cache ORDER BY last_used, cache_key"));
  return s.Rows(ReadCache);
}

Status Metadata::DeleteCache(const std::string& key) {
  STRATA_ASSIGN_OR_RETURN(Stmt s, db_.Prepare("DELETE FROM build_cache WHERE cache_key=?"));
  s.Bind(1, key);
  return s.Run();
}

Result<std::vector<LayerRecord>> Metadata::UnreferencedLayers() {
  // Reachable = every chain on the way down from an image's top chain.
  STRATA_ASSIGN_OR_RETURN(
      Stmt s,
      db_.Prepare(std::string("WITH RECURSIVE reach(c) AS ("
                              "  SELECT top_chain_id FROM images WHERE top_chain_id IS NOT NULL"
                              "  UNION SELECT chain_id FROM build_cache WHERE chain_id IS NOT NULL"
                              "  UNION SELECT l.parent_chain_id FROM layers l JOIN reach r"
                              "  ON l.chain_id = r.c WHERE l.parent_chain_id IS NOT NULL) "
                              "SELECT ") +
                  kLayerCols + " FROM layers WHERE chain_id NOT IN (SELECT c FROM reach)"));
  STRATA_ASSIGN_OR_RETURN(std::vector<LayerRecord> out, s.Rows(ReadLayer));
  // Order children before parents: a layer comes after every layer whose
  // parent it is (depth from the base, deepest first).
  std::map<std::string, const LayerRecord*> by_chain;
  for (auto& l : out) by_chain[l.chain_id] = &l;
  auto depth = [&](const LayerRecord& l) {
    int d = 0;
    for (auto p = l.parent_chain_id; p && by_chain.count(*p) && d < 10000; ++d) {
      p = by_chain[*p]->parent_chain_id;
    }
    return d;
  };
  std::vector<std::pair<int, LayerRecord>> keyed;
  for (auto& l : out) keyed.emplace_back(depth(l), l);
  std::stable_sort(keyed.begin(), keyed.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<LayerRecord> sorted;
  for (auto& [d, l] : keyed) sorted.push_back(std::move(l));
  return sorted;
}

Result<std::vector<LayerRecord>> Metadata::AllLayers() {
  STRATA_ASSIGN_OR_RETURN(Stmt s,
                          db_.Prepare(std::string("SELECT ") + kLayerCols + " FROM layers"));
  return s.Rows(ReadLayer);
}

Status Metadata::DeleteLayer(const std::string& chain_id) {
  STRATA_ASSIGN_OR_RETURN(Stmt s, db_.Prepare("DELETE FROM layers WHERE chain_id=?"));
  s.Bind(1, chain_id);
  return s.Run();
}

}  // namespace strata::store
