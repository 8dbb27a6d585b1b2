#include "engine/layers.h"

#include <atomic>
#include <cstdio>
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

Result<AppliedLayer> ApplyLayerStream(Reader& in, const std::string& dir, archive::ApplyMode mode,
                                      const std::string& label, Writer* tee_uncompressed) {
  digest::HashingReader compressed(in);
  archive::Compression comp = archive::Compression::kNone;
  auto dec = archive::NewDecompressingReader(compressed, &comp);
  if (!dec) return std::move(dec).error().Wrap("apply layer " + label);
  digest::HashingReader uncompressed(**dec);
  std::unique_ptr<TeeReader> tee;
  Reader* src = &uncompressed;
  if (tee_uncompressed) {
    tee = std::make_unique<TeeReader>(uncompressed, *tee_uncompressed);
    src = tee.get();
  }
  archive::ApplyOptions aopts;
  aopts.mode = mode;
  aopts.label = label;
  auto stats = archive::ApplyLayer(*src, dir, aopts);
  if (!stats) return std::move(stats).error();
  // Drain what follows the tar's end-of-archive blocks so the digests cover
  // the whole stream.
  CountingWriter sink;
  STRATA_TRY_CTX(Copy(*src, sink), "apply layer " + label);
  AppliedLayer out;
  out.diff_id = uncompressed.Sum().str();
  out.size = static_cast<int64_t>(stats->size);
  if (comp != archive::Compression::kNone) {
    out.compressed_digest = compressed.Sum().str();
    out.compressed_size = static_cast<int64_t>(compressed.size());
  }
  return out;
}

archive::ApplyMode ApplyModeFor(snapshot::Snapshotter& snaps) {
  return snaps.Driver() == "overlay" ? archive::ApplyMode::kOverlayDiff
                                     : archive::ApplyMode::kMerged;
}

namespace {

store::LayerRecord RecordOf(const AppliedLayer& a, const std::optional<std::string>& parent) {
  store::LayerRecord rec;
  rec.diff_id = a.diff_id;
  rec.parent_chain_id = parent;
  rec.chain_id = ChainIdOf(parent, a.diff_id);
  rec.size = a.size;
  if (!a.compressed_digest.empty()) {
    rec.blob_digest = a.compressed_digest;
    rec.blob_size = a.compressed_size;
  }
  return rec;
}

// Commits active `key` as rec.chain_id unless that chain exists already.
Status CommitChain(snapshot::Snapshotter& snaps, ActiveSnapshot& active,
                   const store::LayerRecord& rec, const std::string& label) {
  if (snaps.Stat(rec.chain_id)) return Ok();  // same chain = same content; ours goes
  auto st = snaps.Commit(rec.chain_id, active.key());
  if (!st) {
    // Another process committed the same chain in the meantime: use theirs.
    if (snaps.Stat(rec.chain_id)) return Ok();
    return std::move(st).error().Wrap("apply layer " + label + ": commit snapshot");
  }
  active.Release();
  return Ok();
}

}  // namespace

Result<store::LayerRecord> UnpackLayer(Store& s, Reader& in, const UnpackOptions& opts) {
  STRATA_ASSIGN_OR_RETURN(snapshot::Snapshotter * snaps_ptr, s.snapshots());
  snapshot::Snapshotter& snaps = *snaps_ptr;
  std::string key = TempKey();
  auto prep = snaps.Prepare(key, opts.parent_chain_id.value_or(""));
  if (!prep)
    return std::move(prep).error().Wrap("apply layer " + opts.label + ": prepare snapshot");
  ActiveSnapshot active(snaps, key);
  STRATA_ASSIGN_OR_RETURN(std::string dir, snaps.Dir(key));
  STRATA_ASSIGN_OR_RETURN(
      AppliedLayer applied,
      ApplyLayerStream(in, dir, ApplyModeFor(snaps), opts.label, opts.tee_uncompressed));
  if (opts.expected_diff_id && *opts.expected_diff_id != applied.diff_id) {
    return DataLoss("apply layer " + opts.label + ": layer has diff ID " + applied.diff_id +
                    ", the image config says " + *opts.expected_diff_id);
  }
  store::LayerRecord rec = RecordOf(applied, opts.parent_chain_id);
  STRATA_TRY(CommitChain(snaps, active, rec, opts.label));
  return rec;
}

Result<store::LayerRecord> CommitStagedLayer(Store& s, const std::string& staged_dir,
                                             const AppliedLayer& applied,
                                             const std::optional<std::string>& parent,
                                             const std::string& label) {
  STRATA_ASSIGN_OR_RETURN(snapshot::Snapshotter * snaps_ptr, s.snapshots());
  snapshot::Snapshotter& snaps = *snaps_ptr;
  if (snaps.Driver() != "overlay") {
    return FailedPrecondition("staged layers need the overlay driver");
  }
  store::LayerRecord rec = RecordOf(applied, parent);
  if (snaps.Stat(rec.chain_id)) return rec;
  std::string key = TempKey();
  auto prep = snaps.Prepare(key, parent.value_or(""));
  if (!prep) return std::move(prep).error().Wrap("apply layer " + label + ": prepare snapshot");
  ActiveSnapshot active(snaps, key);
  STRATA_ASSIGN_OR_RETURN(std::string dir, snaps.Dir(key));
  // An overlay upper dir is a diff on its own: the tree unpacked before its
  // parent was known moves in whole (rename replaces the empty fs dir).
  if (::rename(staged_dir.c_str(), dir.c_str()) != 0) {
    return ErrnoError("apply layer " + label + ": move staged layer into snapshot");
  }
  STRATA_TRY(CommitChain(snaps, active, rec, label));
  return rec;
}

}  // namespace strata::engine
