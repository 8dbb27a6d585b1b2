// Unpacking layers into snapshots: one streaming pass from a (compressed)
// layer blob through decompression and diff-ID hashing into a snapshot that
// is committed under the layer's chain ID.
#pragma once

#include <optional>
#include <string>

#include "archive/apply.h"
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
  int64_t size = 0;               // as docker counts it
  std::string compressed_digest;  // empty when the stream was not compressed
  int64_t compressed_size = 0;
};

// Applies a (compressed) layer stream onto dir in the given mode, reading the
// stream to its end; tee_uncompressed receives the tar bytes.
Result<AppliedLayer> ApplyLayerStream(Reader& in, const std::string& dir, archive::ApplyMode mode,
                                      const std::string& label, Writer* tee_uncompressed);
archive::ApplyMode ApplyModeFor(snapshot::Snapshotter& snaps);

// Overlay only: turns a layer unpacked (kOverlayDiff) into staged_dir before
// its parent was known into the snapshot of its chain on top of parent.
// staged_dir must be on the store's file system; it is moved, not copied.
Result<store::LayerRecord> CommitStagedLayer(Store& s, const std::string& staged_dir,
                                             const AppliedLayer& applied,
                                             const std::optional<std::string>& parent,
                                             const std::string& label);

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
