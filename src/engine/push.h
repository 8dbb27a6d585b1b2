// docker push: uploads the layers a registry lacks (HEAD, cross-repo mount, or upload; layers
// kept uncompressed are compressed on several threads while they are sent), then the config
// and the manifest, and records the RepoDigest and where each layer's blob now lives.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "archive/compression.h"
#include "digest/hasher.h"
#include "engine/progress.h"
#include "engine/store.h"
#include "registry/client.h"
#include "registry/hosts.h"
#include "util/io.h"

namespace strata::engine {

// One progress event, in docker's words: `id` is the layer's short diff ID, `status` one of
// "Preparing", "Waiting", "Pushing" (with current/total), "Pushed", "Layer already exists",
// "Mounted from <repository path>".
using PushProgress = LayerProgress;

struct PushOptions {
  bool all_tags = false;
  int max_concurrent_uploads = 5;
  // For layers strata compresses (those kept uncompressed locally).
  archive::Compression compression = archive::Compression::kGzip;
  int compression_level = -1;  // the compressor's default
  // Threads compressing (shared by the parallel uploads); 0: one per CPU.
  int compress_threads = 0;
  // Directory of docker's config.json (credentials); empty: DockerConfigDir().
  std::string config_dir;
  // Registry settings; nullptr: RegistryHosts::Load with the defaults.
  const registry::RegistryHosts* hosts = nullptr;
  registry::RetryPolicy retry;
  // How blobs stored compressed are sent (monolithic up to a size, then chunks).
  registry::PushBlobOptions blob;
  // Called from the uploading threads, one call at a time.
  std::function<void(const PushProgress&)> progress;
  // Called once, before anything else, with the repository's full name (docker's "The push
  // refers to repository [...]").
  std::function<void(const std::string& repository)> on_start;
};

struct PushResult {
  std::string tag;
  std::string digest;  // of the manifest
  int64_t size = 0;    // bytes of the manifest
  std::string media_type;
};
using PushDone = std::function<void(const PushResult&)>;

// Pushes `reference` (docker's familiar form; name without tag means :latest unless
// all_tags, which pushes every local tag of the repository in lexical order). `done` is
// called after each tag. Errors carry docker's texts ("An image does not exist locally with
// the tag: x", "tag does not exist: x:y", the registry's "unauthorized: ...").
Result<std::vector<PushResult>> Push(Store& s, const std::string& reference,
                                     const PushOptions& options, const PushDone& done = {});

// Threads that compress blocks for the readers below (one pool per push, shared by layers).
class CompressPool {
 public:
  explicit CompressPool(int threads);
  ~CompressPool();
  CompressPool(const CompressPool&) = delete;
  CompressPool& operator=(const CompressPool&) = delete;
  void Submit(std::function<void()> task);
  int threads() const { return static_cast<int>(threads_.size()); }

 private:
  struct State;
  std::unique_ptr<State> st_;
  std::vector<std::thread> threads_;
};

// Compresses `src` block by block on the pool: every block becomes an independent gzip
// member (or zstd frame), which is valid gzip (zstd) that every reader accepts, and the same
// bytes whatever the number of threads. Memory is bounded by a few blocks in flight. The
// digest and size of what was read are known once Read returned 0.
class ParallelCompressReader : public Reader {
 public:
  ParallelCompressReader(Reader& src, CompressPool& pool, archive::Compression c, int level,
                         size_t block_size = 1 << 20);
  ~ParallelCompressReader() override;
  Result<size_t> Read(void* buf, size_t n) override;
  digest::Digest Digest() const;
  uint64_t size() const { return size_; }

 private:
  struct Block;
  Status Fill();
  Reader& src_;
  CompressPool& pool_;
  archive::Compression c_;
  int level_;
  size_t block_size_;
  size_t max_inflight_;
  std::vector<std::shared_ptr<Block>> inflight_;  // oldest first
  std::string out_;
  size_t out_pos_ = 0;
  bool eof_ = false;
  std::unique_ptr<digest::Hasher> hasher_;
  uint64_t size_ = 0;
};

}  // namespace strata::engine
