#include "engine/layers.h"

#include <atomic>
#include <random>

#include "archive/apply.h"
#include "archive/compression.h"
#include "digest/hasher.h"

namespace strata::engine {

std::string ChainIdOf(const std::optional<std::string>& parent_chain, const std::string& diff_id) {
  if (!parent_chain) return diff_id;
  return digest::Sha256Of(*parent_chain + " " + diff_id).str();
}

namespace {

std::string TempKey() {
  static std::atomic<uint64_t> n{0};
  std::random_device rd;
  return "unpack-" + std::to_string(::getpid()) + "-" + std::to_string(rd()) + "-" +
         std::to_string(n.fetch_add(1));
}

// Removes an active snapshot unless released (commit happened).
class ActiveSnapshot {
 public:
  ActiveSnapshot(snapshot::Snapshotter& s, std::string key) : s_(s), key_(std::move(key)) {}
  ~ActiveSnapshot() {
    if (!key_.empty()) (void)s_.Remove(key_);
  }
  const std::string& key() const { return key_; }
  void Release() { key_.clear(); }

 private:
  snapshot::Snapshotter& s_;
  std::string key_;
};

}  // namespace

Result<store::LayerRecord> UnpackLayer(Store& s, Reader& in, const UnpackOptions& opts) {
  auto ctx = [&](const std::string& what) { return "apply layer " + opts.label + ": " + what; };
  STRATA_ASSIGN_OR_RETURN(snapshot::Snapshotter * snaps_ptr, s.snapshots());
  snapshot::Snapshotter& snaps = *snaps_ptr;
  digest::HashingReader compressed(in);
  archive::Compression comp = archive::Compression::kNone;
  auto dec = archive::NewDecompressingReader(compressed, &comp);
  if (!dec) return std::move(dec).error().Wrap("apply layer " + opts.label);
  digest::HashingReader uncompressed(**dec);
  std::unique_ptr<TeeReader> tee;
  Reader* src = &uncompressed;
  if (opts.tee_uncompressed) {
    tee = std::make_unique<TeeReader>(uncompressed, *opts.tee_uncompressed);
    src = tee.get();
  }

  std::string key = TempKey();
  auto prep = snaps.Prepare(key, opts.parent_chain_id.value_or(""));
  if (!prep) return std::move(prep).error().Wrap(ctx("prepare snapshot"));
  ActiveSnapshot active(snaps, key);
  STRATA_ASSIGN_OR_RETURN(std::string dir, snaps.Dir(key));

  archive::ApplyOptions aopts;
  aopts.mode =
      snaps.Driver() == "overlay" ? archive::ApplyMode::kOverlayDiff : archive::ApplyMode::kMerged;
  aopts.label = opts.label;
  auto stats = archive::ApplyLayer(*src, dir, aopts);
  if (!stats) return std::move(stats).error();
  // Drain what follows the tar's end-of-archive blocks so the digests cover
  // the whole stream.
  CountingWriter sink;
  STRATA_TRY_CTX(Copy(*src, sink), "apply layer " + opts.label);

  store::LayerRecord rec;
  rec.diff_id = uncompressed.Sum().str();
  if (opts.expected_diff_id && *opts.expected_diff_id != rec.diff_id) {
    return DataLoss(ctx("layer has diff ID " + rec.diff_id + ", the image config says " +
                        *opts.expected_diff_id));
  }
  rec.parent_chain_id = opts.parent_chain_id;
  rec.chain_id = ChainIdOf(opts.parent_chain_id, rec.diff_id);
  rec.size = static_cast<int64_t>(stats->size);
  if (comp != archive::Compression::kNone) {
    rec.blob_digest = compressed.Sum().str();
    rec.blob_size = static_cast<int64_t>(compressed.size());
  }

  if (auto existing = snaps.Stat(rec.chain_id); existing) {
    return rec;  // same chain = same content; ours is removed by `active`
  }
  auto st = snaps.Commit(rec.chain_id, key);
  if (!st) {
    // Another process committed the same chain in the meantime: use theirs.
    if (snaps.Stat(rec.chain_id)) return rec;
    return std::move(st).error().Wrap(ctx("commit snapshot"));
  }
  active.Release();
  return rec;
}

}  // namespace strata::engine
