#include "engine/gc.h"

#include <algorithm>
#include <set>

#include "engine/layers.h"
#include "util/fs.h"

namespace strata::engine {
namespace {

Result<std::set<std::string>> LiveBlobs(Store& s) {
  std::set<std::string> live;
  STRATA_ASSIGN_OR_RETURN(auto images, s.metadata().ListImages());
  for (auto& i : images) live.insert(i.id);
  STRATA_ASSIGN_OR_RETURN(auto layers, s.metadata().AllLayers());
  for (auto& l : layers) {
    if (l.blob_digest) live.insert(*l.blob_digest);
    if (l.tar_split) live.insert(*l.tar_split);
  }
  return live;
}

}  // namespace

Result<GcReport> CollectGarbage(Store& s) {
  STRATA_ASSIGN_OR_RETURN(StoreLock lock, s.Exclusive());
  GcReport report;
  auto& md = s.metadata();
  {
    STRATA_ASSIGN_OR_RETURN(auto tx, s.db().Begin());
    STRATA_ASSIGN_OR_RETURN(auto gone, md.UnreferencedLayers());
    for (auto& l : gone) STRATA_TRY(md.DeleteLayer(l.chain_id));
    STRATA_TRY(tx.Commit());
  }
  STRATA_ASSIGN_OR_RETURN(auto layers, md.AllLayers());
  std::set<std::string> live_snaps;
  for (auto& l : layers) live_snaps.insert(l.chain_id);

  // Snapshots: everything that is not a live layer's snapshot (leftover
  // unpack keys, committed chains whose rows never got written). With the
  // exclusive lock held no other process is mid-operation.
  std::vector<std::string> dead;
  STRATA_ASSIGN_OR_RETURN(snapshot::Snapshotter * snaps, s.snapshots());
  STRATA_TRY(snaps->Walk([&](const snapshot::Info& i) -> Status {
    if (!live_snaps.count(i.name)) dead.push_back(i.name);
    return Ok();
  }));
  for (auto it = dead.rbegin(); it != dead.rend(); ++it) {  // children first
    uint64_t bytes = 0;
    if (auto u = snaps->Usage(*it)) bytes = u->size;
    if (auto st = snaps->Remove(*it); st) {
      report.reclaimed_bytes += bytes;
      report.removed_snapshots.push_back(*it);
    }
  }
  STRATA_TRY(snaps->Recover());

  STRATA_ASSIGN_OR_RETURN(auto live, LiveBlobs(s));
  std::vector<content::Info> dead_blobs;
  STRATA_TRY(s.content().Walk([&](const content::Info& i) {
    if (!live.count(i.digest.str())) dead_blobs.push_back(i);
  }));
  for (auto& b : dead_blobs) {
    STRATA_TRY(s.content().Delete(b.digest));
    report.reclaimed_bytes += b.size;
    report.removed_blobs.push_back(b.digest.str());
  }
  STRATA_TRY(s.content().CleanIngest(0));
  STRATA_TRY(RemoveAll(s.TmpDir()));
  STRATA_TRY(MakeDirs(s.TmpDir()));
  return report;
}

Result<BuildCachePruneReport> PruneBuildCache(Store& s, const BuildCachePruneOptions& o) {
  BuildCachePruneReport report;
  {
    STRATA_ASSIGN_OR_RETURN(StoreLock lock, s.Exclusive());
    auto& md = s.metadata();
    STRATA_ASSIGN_OR_RETURN(auto rows, md.ListCache());  // least recently used first
    uint64_t total = 0;
    for (const auto& r : rows) total += static_cast<uint64_t>(r.size);
    STRATA_ASSIGN_OR_RETURN(auto tx, s.db().Begin());
    for (const auto& r : rows) {
      if (o.until_ns && r.last_used * 1000000000 >= *o.until_ns) continue;
      if (o.keep_bytes && total <= *o.keep_bytes) break;
      STRATA_TRY(md.DeleteCache(r.key));
      total -= static_cast<uint64_t>(r.size);
      report.removed.push_back(r.key);
    }
    STRATA_TRY(tx.Commit());
    if (o.all) {
      for (const char* sub : {"/build/cache-mounts", "/build/hashcache", "/build/explain"}) {
        std::string p = s.root() + sub;
        report.reclaimed_bytes += DiskUsage(p);
        STRATA_TRY(RemoveAll(p));
      }
    }
  }
  STRATA_ASSIGN_OR_RETURN(GcReport gc, CollectGarbage(s));
  report.reclaimed_bytes += gc.reclaimed_bytes;
  return report;
}

Result<std::vector<std::string>> CheckStore(Store& s, bool verify_blobs) {
  STRATA_ASSIGN_OR_RETURN(auto problems, s.db().Check());
  auto& md = s.metadata();
  STRATA_ASSIGN_OR_RETURN(auto images, md.ListImages());
  auto check_blob = [&](const std::string& what, const std::string& d) {
    auto dg = digest::Digest::Parse(d);
    if (!dg) {
      problems.push_back(what + ": invalid digest " + d);
      return;
    }
    if (!s.content().Exists(*dg)) {
      problems.push_back(what + ": blob " + d + " is missing");
      return;
    }
    if (verify_blobs) {
      auto r = s.content().Open(*dg, true);
      CountingWriter sink;
      if (!r || !Copy(**r, sink)) problems.push_back(what + ": blob " + d + " is corrupted");
    }
  };
  for (auto& i : images) {
    check_blob("image " + i.id + " config", i.id);
    if (i.top_chain_id) {
      auto chain = md.LayerChain(*i.top_chain_id);
      if (!chain) problems.push_back("image " + i.id + ": " + chain.error().message);
    }
  }
  STRATA_ASSIGN_OR_RETURN(auto layers, md.AllLayers());
  STRATA_ASSIGN_OR_RETURN(snapshot::Snapshotter * snaps, s.snapshots());
  for (auto& l : layers) {
    if (l.tar_split) {
      // The tar is rebuilt from the split and the snapshot's files.
      check_blob("layer " + l.chain_id + " tar-split", *l.tar_split);
      if (verify_blobs && snaps->Stat(l.chain_id)) {
        auto lt = OpenLayerTar(s, l);
        CountingWriter sink;
        if (!lt) {
          problems.push_back("layer " + l.chain_id + ": " + lt.error().message);
        } else if (auto c = Copy(*lt->reader, sink); !c) {
          problems.push_back("layer " + l.chain_id + ": " + c.error().message);
        }
      }
    } else if (l.blob_digest) {
      check_blob("layer " + l.chain_id, *l.blob_digest);
    }
    auto st = snaps->Stat(l.chain_id);
    if (!st) {
      problems.push_back("layer " + l.chain_id + ": snapshot is missing");
    } else if (st->kind != snapshot::Kind::kCommitted) {
      problems.push_back("layer " + l.chain_id + ": snapshot is not committed");
    }
  }
  return problems;
}

}  // namespace strata::engine
