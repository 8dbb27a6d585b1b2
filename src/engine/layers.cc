#include "engine/layers.h"

#include <fcntl.h>

#include <atomic>
#include <cstdio>
#include <optional>
#include <random>

#include "archive/apply.h"
#include "archive/compression.h"
#include "archive/tar_split.h"
#include "digest/hasher.h"
#include "util/threaded_reader.h"

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

namespace {

// Counts what passes, for a compressed stream that someone else hashes.
class CountingReader : public Reader {
 public:
  explicit CountingReader(Reader& r) : r_(r) {}
  Result<size_t> Read(void* buf, size_t n) override {
    STRATA_ASSIGN_OR_RETURN(size_t k, r_.Read(buf, n));
    size_ += k;
    return k;
  }
  uint64_t size() const { return size_; }

 private:
  Reader& r_;
  uint64_t size_ = 0;
};

}  // namespace

Result<AppliedLayer> ApplyLayerStream(Reader& in, const std::string& dir, archive::ApplyMode mode,
                                      const std::string& label, Writer* tee_uncompressed,
                                      bool hash_compressed) {
  archive::Compression comp = archive::Compression::kNone;
  auto peeked = archive::PeekCompression(in, &comp);
  if (!peeked) return std::move(peeked).error().Wrap("apply layer " + label);
  // An uncompressed stream is hashed once: its blob digest is its diff ID.
  std::optional<digest::HashingReader> compressed;
  std::optional<CountingReader> counted;
  std::unique_ptr<Reader> dec;
  Reader* tar = peeked->get();
  if (comp != archive::Compression::kNone) {
    Reader* raw;
    if (hash_compressed) {
      raw = &compressed.emplace(**peeked);
    } else {
      raw = &counted.emplace(**peeked);
    }
    auto d = archive::NewDecompressor(*raw, comp);
    if (!d) return std::move(d).error().Wrap("apply layer " + label);
    dec = std::move(*d);
    tar = dec.get();
  }
  digest::HashingReader uncompressed(*tar);
  std::unique_ptr<TeeReader> tee;
  Reader* src = &uncompressed;
  if (tee_uncompressed) {
    tee = std::make_unique<TeeReader>(uncompressed, *tee_uncompressed);
    src = tee.get();
  }
  // Reading, decompressing and hashing run on a second thread while this one
  // writes files: the two halves cost about the same.
  ThreadedReader pipe(*src);
  archive::ApplyOptions aopts;
  aopts.mode = mode;
  aopts.label = label;
  std::optional<BackgroundFlusher> flusher;
  if (UniqueFd d(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)); d) {
    aopts.flusher = &flusher.emplace(d.get());
  }
  auto stats = archive::ApplyLayer(pipe, dir, aopts);
  if (!stats) return std::move(stats).error();
  // Drain what follows the tar's end-of-archive blocks so the digests cover
  // the whole stream.
  CountingWriter sink;
  STRATA_TRY_CTX(Copy(pipe, sink), "apply layer " + label);
  pipe.Join();  // the hashers below are the producer's until here
  AppliedLayer out;
  out.diff_id = uncompressed.Sum().str();
  out.tar_size = static_cast<int64_t>(uncompressed.size());
  out.size = static_cast<int64_t>(stats->size);
  out.file_list = stats->file_list;
  out.replaced = stats->replaced;
  out.mode = mode;
  if (compressed) {
    out.compressed_digest = compressed->Sum().str();
    out.compressed_size = static_cast<int64_t>(compressed->size());
    out.compression = comp;
  } else if (counted) {
    out.compressed_size = static_cast<int64_t>(counted->size());
    out.compression = comp;
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

namespace {

std::string_view LayerMediaType(archive::Compression c) {
  switch (c) {
    case archive::Compression::kGzip:
      return "application/vnd.oci.image.layer.v1.tar+gzip";
    case archive::Compression::kZstd:
      return "application/vnd.oci.image.layer.v1.tar+zstd";
    default:
      return "application/vnd.oci.image.layer.v1.tar";
  }
}

}  // namespace

Result<std::unique_ptr<TarSplitBlob>> TarSplitBlob::Create(Store& s) {
  std::unique_ptr<TarSplitBlob> b(new TarSplitBlob());
  STRATA_ASSIGN_OR_RETURN(auto blob, s.content().Ingest());
  b->blob_.emplace(std::move(blob));
  STRATA_ASSIGN_OR_RETURN(b->zstd_,
                          archive::NewCompressingWriter(*b->blob_, archive::Compression::kZstd));
  b->split_ = std::make_unique<archive::TarSplitWriter>(*b->zstd_);
  return b;
}

Result<bool> TarSplitBlob::Finish(uint64_t tar_size) {
  STRATA_TRY(split_->Finish());
  return split_->ok() && split_->tar_size() == tar_size;
}

Result<digest::Digest> TarSplitBlob::Commit() {
  STRATA_TRY(zstd_->Close());
  return blob_->Commit();
}

Result<std::unique_ptr<LayerTarKeeper>> LayerTarKeeper::Create(Store& s) {
  std::unique_ptr<LayerTarKeeper> k(new LayerTarKeeper());
  k->store_ = &s;
  return k;
}

LayerTarKeeper::~LayerTarKeeper() = default;

// Splits only uncompressed tars, and only as root: files unpacked with any
// mode must be readable when the tar is rebuilt.
Status LayerTarKeeper::Decide() {
  decided_ = true;
  compressed_ = archive::DetectCompression(head_) != archive::Compression::kNone;
  bool split = !compressed_ && ::geteuid() == 0;
  content::IngestOptions o;
  if (split) {
    o.hash = false;       // the unpack hashes these bytes: their digest is the diff ID
    o.writeback = false;  // usually discarded: then it never reaches the disk
  }
  STRATA_ASSIGN_OR_RETURN(auto spill, store_->content().Ingest(o));
  spill_.emplace(std::move(spill));
  STRATA_TRY(spill_->Write(head_));
  if (!split) return Ok();
  STRATA_ASSIGN_OR_RETURN(split_, TarSplitBlob::Create(*store_));
  return split_->Write(head_);
}

Status LayerTarKeeper::Write(const void* buf, size_t n) {
  if (!decided_) {
    size_t k = std::min(n, 6 - head_.size());
    head_.append(static_cast<const char*>(buf), k);
    if (head_.size() < 6) return Ok();
    STRATA_TRY(Decide());
    buf = static_cast<const char*>(buf) + k;
    n -= k;
  }
  if (n == 0) return Ok();
  STRATA_TRY(spill_->Write(buf, n));
  if (split_) return split_->Write(buf, n);
  return Ok();
}

Status LayerTarKeeper::Commit(const AppliedLayer& applied, store::LayerRecord& rec,
                              const std::optional<digest::Digest>& want) {
  if (!decided_) STRATA_TRY(Decide());
  if (compressed_ != (applied.compression != archive::Compression::kNone)) {
    return Internal("layer keeper saw other bytes than the unpack");
  }
  rec.tar_split.reset();
  if (split_) {
    if (want && want->str() != applied.diff_id) {
      return DataLoss("digest mismatch: expected " + want->str() + ", got " + applied.diff_id);
    }
    STRATA_ASSIGN_OR_RETURN(bool whole, split_->Finish(static_cast<uint64_t>(applied.tar_size)));
    bool usable = whole && split_->files() == applied.file_list && !applied.replaced &&
                  applied.mode == archive::ApplyMode::kOverlayDiff;
    if (usable) {
      STRATA_ASSIGN_OR_RETURN(digest::Digest d, split_->Commit());
      rec.tar_split = d.str();
      rec.blob_digest = applied.diff_id;
      rec.blob_size = applied.tar_size;
      rec.blob_media_type = std::string(LayerMediaType(archive::Compression::kNone));
      return Ok();  // the spill goes unwritten
    }
    // The unhashed spill holds the diff ID's bytes.
    STRATA_ASSIGN_OR_RETURN(auto d, digest::Digest::Parse(applied.diff_id));
    STRATA_ASSIGN_OR_RETURN(digest::Digest got, spill_->Commit(d, applied.tar_size));
    rec.blob_digest = got.str();
    rec.blob_size = applied.tar_size;
    rec.blob_media_type = std::string(LayerMediaType(archive::Compression::kNone));
    return Ok();
  }
  STRATA_ASSIGN_OR_RETURN(content::Info info, CommitBytes(want));
  rec.blob_digest = info.digest.str();
  rec.blob_size = static_cast<int64_t>(info.size);
  rec.blob_media_type = std::string(LayerMediaType(applied.compression));
  return Ok();
}

Result<content::Info> LayerTarKeeper::CommitBytes(const std::optional<digest::Digest>& want) {
  if (!decided_) STRATA_TRY(Decide());
  uint64_t size = spill_->size();
  // An unhashed spill is hashed by reading it back; a wrong digest leaves a
  // correct but unreferenced blob for GC.
  STRATA_ASSIGN_OR_RETURN(digest::Digest d, spill_->Commit());
  if (want && d != *want) {
    return DataLoss("digest mismatch: expected " + want->str() + ", got " + d.str());
  }
  return content::Info{d, size};
}

namespace {

// Owns a chain of readers and checks the top one's bytes against a digest:
// at EOF, or as soon as `size` bytes were read when the size is known (a
// reader of exactly that many bytes may never ask for more).
class VerifiedLayerReader : public Reader {
 public:
  VerifiedLayerReader(std::vector<std::unique_ptr<Reader>> chain, std::string want, int64_t size,
                      std::string what)
      : chain_(std::move(chain)),
        hr_(*chain_.back()),
        want_(std::move(want)),
        size_(size),
        what_(std::move(what)) {}
  Result<size_t> Read(void* buf, size_t n) override {
    STRATA_ASSIGN_OR_RETURN(size_t k, hr_.Read(buf, n));
    bool at_end = (k == 0 && n > 0) || (size_ >= 0 && hr_.size() == static_cast<uint64_t>(size_));
    if (at_end && !checked_) {
      checked_ = true;
      if (hr_.Sum().str() != want_) {
        return DataLoss(what_ + " does not match its diff ID " + want_ + " (got " +
                        hr_.Sum().str() + ")");
      }
    }
    return k;
  }

 private:
  std::vector<std::unique_ptr<Reader>> chain_;
  digest::HashingReader hr_;
  std::string want_;
  int64_t size_;
  std::string what_;
  bool checked_ = false;
};

}  // namespace

Result<LayerTar> OpenLayerTar(Store& s, const store::LayerRecord& layer) {
  std::vector<std::unique_ptr<Reader>> chain;
  LayerTar out;
  std::string what = "layer " + layer.diff_id;
  if (layer.tar_split) {
    STRATA_ASSIGN_OR_RETURN(auto sd, digest::Digest::Parse(*layer.tar_split));
    STRATA_ASSIGN_OR_RETURN(snapshot::Snapshotter * snaps, s.snapshots());
    STRATA_ASSIGN_OR_RETURN(std::string dir, snaps->CommittedDir(layer.chain_id));
    STRATA_ASSIGN_OR_RETURN(auto blob, s.content().Open(sd, /*verify=*/true));
    chain.push_back(std::move(blob));
    STRATA_ASSIGN_OR_RETURN(auto dec,
                            archive::NewDecompressor(*chain.back(), archive::Compression::kZstd));
    chain.push_back(std::move(dec));
    STRATA_ASSIGN_OR_RETURN(auto tar, archive::TarSplitReader::Open(*chain.back(), dir));
    chain.push_back(std::move(tar));
    out.size = layer.blob_size.value_or(-1);
    what += " (rebuilt from its files)";
  } else {
    if (!layer.blob_digest) return NotFound("layer " + layer.chain_id + " has no stored blob");
    STRATA_ASSIGN_OR_RETURN(auto bd, digest::Digest::Parse(*layer.blob_digest));
    STRATA_ASSIGN_OR_RETURN(auto blob, s.content().Open(bd, /*verify=*/false));
    chain.push_back(std::move(blob));
    if (*layer.blob_digest == layer.diff_id) {
      STRATA_ASSIGN_OR_RETURN(auto info, s.content().Stat(bd));
      out.size = static_cast<int64_t>(info.size);
    } else {
      STRATA_ASSIGN_OR_RETURN(auto dec, archive::NewDecompressingReader(*chain.back()));
      chain.push_back(std::move(dec));
    }
  }
  out.reader =
      std::make_unique<VerifiedLayerReader>(std::move(chain), layer.diff_id, out.size, what);
  return out;
}

}  // namespace strata::engine
