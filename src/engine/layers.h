// Unpacking layers into snapshots: one streaming pass from a (compressed)
// layer blob through decompression and diff-ID hashing into a snapshot that
// is committed under the layer's chain ID.
#pragma once

#include <optional>
#include <string>

#include "archive/apply.h"
#include "archive/compression.h"
#include "archive/tar_split.h"
#include "content/local_store.h"
#include "engine/store.h"
#include "store/metadata.h"
#include "util/io.h"

namespace strata::engine {

struct UnpackOptions {
  std::optional<std::string> parent_chain_id;
  // Names the layer in errors ("apply layer <label>: …").
  std::string label;
  // When set, receives the uncompressed tar bytes as they are unpacked (used
  // to keep the layer blob while importing, without a second read).
  Writer* tee_uncompressed = nullptr;
  // When set, the diff ID the layer must have (from the image config).
  std::optional<std::string> expected_diff_id;
};

// Reads `in` to its end and returns the layer's record (not yet written to
// the database: the caller does that in the transaction that makes it
// reachable). Reuses an existing snapshot of the same chain.
Result<store::LayerRecord> UnpackLayer(Store& s, Reader& in, const UnpackOptions& opts);

// What applying one layer stream produced.
struct AppliedLayer {
  std::string diff_id;
  int64_t tar_size = 0;           // bytes of the uncompressed tar
  int64_t size = 0;               // as docker counts it
  std::string compressed_digest;  // empty when the stream was not compressed
  int64_t compressed_size = 0;
  archive::Compression compression = archive::Compression::kNone;
  // What the apply wrote, for LayerTarKeeper (archive::ApplyStats).
  digest::Digest file_list;
  bool replaced = false;
  archive::ApplyMode mode = archive::ApplyMode::kMerged;
};

// Applies a (compressed) layer stream onto dir in the given mode, reading the
// stream to its end; tee_uncompressed receives the tar bytes. Without
// hash_compressed the compressed bytes are only counted (compressed_digest
// stays empty): for a caller whose source checks them already, as a registry
// download does, so SHA-256 runs once over them, not twice.
Result<AppliedLayer> ApplyLayerStream(Reader& in, const std::string& dir, archive::ApplyMode mode,
                                      const std::string& label, Writer* tee_uncompressed,
                                      bool hash_compressed = true);
archive::ApplyMode ApplyModeFor(snapshot::Snapshotter& snaps);

// Overlay only: turns a layer unpacked (kOverlayDiff) into staged_dir before
// its parent was known into the snapshot of its chain on top of parent.
// staged_dir must be on the store's file system; it is moved, not copied.
Result<store::LayerRecord> CommitStagedLayer(Store& s, const std::string& staged_dir,
                                             const AppliedLayer& applied,
                                             const std::optional<std::string>& parent,
                                             const std::string& label);

// A layer's tar-split on its way into content/ as a zstd-compressed blob: the tar's raw bytes
// are written to it, and Commit keeps the split once Finish says it describes the tar.
// Nothing is left behind if it is destroyed uncommitted.
class TarSplitBlob : public Writer {
 public:
  static Result<std::unique_ptr<TarSplitBlob>> Create(Store& s);
  using Writer::Write;
  Status Write(const void* buf, size_t n) override { return split_->Write(buf, n); }
  // Ends the split: true when it is whole and covers exactly tar_size bytes.
  Result<bool> Finish(uint64_t tar_size);
  // The files the split names (FileListHasher), after Finish.
  digest::Digest files() const { return split_->files(); }
  // Keeps the blob; its digest.
  Result<digest::Digest> Commit();

 private:
  TarSplitBlob() = default;
  std::optional<content::IngestWriter> blob_;
  std::unique_ptr<archive::ClosingWriter> zstd_;
  std::unique_ptr<archive::TarSplitWriter> split_;
};

// Keeps what it takes to give a layer's blob back later, from the layer's
// bytes as they stream past the unpack (tee them in). For an uncompressed tar
// unpacked as an overlay diff that is only its tar-split: the tar is rebuilt
// from the split and the snapshot (archive/tar_split.h), so a load writes the
// layer's data once, not twice. Otherwise (compressed input, duplicate
// entries, sparse files, the copy driver) the bytes themselves become the
// blob. Nothing is left behind if it is destroyed before Commit.
class LayerTarKeeper : public Writer {
 public:
  static Result<std::unique_ptr<LayerTarKeeper>> Create(Store& s);
  ~LayerTarKeeper() override;
  using Writer::Write;
  Status Write(const void* buf, size_t n) override;
  // `applied` describes the unpack of exactly the bytes written here. Makes
  // what is kept durable and sets rec's blob_* and tar_split fields; `want`,
  // if set, is the digest the bytes must have (an OCI layout's blob name).
  Status Commit(const AppliedLayer& applied, store::LayerRecord& rec,
                const std::optional<digest::Digest>& want = std::nullopt);
  // For bytes that turned out not to be a layer: keeps them as a blob.
  Result<content::Info> CommitBytes(const std::optional<digest::Digest>& want = std::nullopt);

 private:
  LayerTarKeeper() = default;
  Status Decide();
  Store* store_ = nullptr;
  std::string head_;  // the first bytes, until the compression is known
  bool decided_ = false;
  bool compressed_ = false;
  std::optional<content::IngestWriter> spill_;
  std::unique_ptr<TarSplitBlob> split_;
};

// A layer's uncompressed tar, whatever the store keeps of it: the blob,
// decompressed if need be, or the tar regenerated from its tar-split. The
// reader fails at its end unless the bytes hash to the layer's diff ID.
struct LayerTar {
  std::unique_ptr<Reader> reader;
  int64_t size = -1;  // -1 when only decompressing would tell
};
Result<LayerTar> OpenLayerTar(Store& s, const store::LayerRecord& layer);

// chain ID of diff_id on top of parent (OCI image spec, config.md).
std::string ChainIdOf(const std::optional<std::string>& parent_chain, const std::string& diff_id);

// A Reader that copies everything it reads into a Writer.
class TeeReader : public Reader {
 public:
  TeeReader(Reader& r, Writer& w) : r_(r), w_(w) {}
  Result<size_t> Read(void* buf, size_t n) override {
    STRATA_ASSIGN_OR_RETURN(size_t k, r_.Read(buf, n));
    if (k > 0) STRATA_TRY(w_.Write(buf, k));
    return k;
  }

 private:
  Reader& r_;
  Writer& w_;
};

}  // namespace strata::engine
