// docker pull: resolve a reference at a registry, download the layers it lacks in
// parallel (each in one streaming pass: HTTP -> blob kept in content/ -> decompress ->
// diff ID -> apply), commit them in order and record the image, its tag and RepoDigest.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "engine/progress.h"
#include "engine/store.h"
#include "registry/client.h"
#include "registry/hosts.h"

namespace strata::engine {

// One progress event, in docker's words: `id` is the layer's short blob digest ("" for
// whole-image lines), `status` one of "Already exists", "Pulling fs layer", "Waiting",
// "Downloading", "Verifying Checksum", "Download complete", "Extracting", "Pull complete".
using PullProgress = LayerProgress;

struct PullOptions {
  // os/arch[/variant]; empty: the host's platform.
  std::string platform;
  bool all_tags = false;
  int max_concurrent_downloads = 3;
  // Directory of docker's config.json (credentials); empty: DockerConfigDir().
  std::string config_dir;
  // Registry settings; nullptr: RegistryHosts::Load with the defaults.
  const registry::RegistryHosts* hosts = nullptr;
  registry::RetryPolicy retry;
  // Called from the pulling threads, one call at a time.
  std::function<void(const PullProgress&)> progress;
  // Called once per reference pulled, before its layers, with "<tag>: Pulling from <path>"
  // style information: (tag or digest, repository path).
  std::function<void(const std::string& tag_or_digest, const std::string& path)> on_start;
  // Set: the pull only feeds the build cache (build --cache-from). No image, tag or
  // RepoDigest is recorded; this is called with the image's config in the transaction that
  // records its layers, to add the cache records that keep them.
  std::function<Status(store::Metadata& md, const std::string& config_bytes)> import_cache;
};

struct PullResult {
  std::string reference;  // what was pulled, canonical ("docker.io/library/busybox:latest")
  std::string image_id;
  std::string digest;  // manifest (or index) digest: "Digest:" and the RepoDigest
  // False when the tag (or digest reference) already named this image: docker's "Image is
  // up to date for" instead of "Downloaded newer image for".
  bool updated = false;
};

// Called after each reference is pulled (with --all-tags docker prints "Digest:" per tag).
using PullDone = std::function<void(const PullResult&)>;

// Pulls `reference` (docker's familiar form; a name without tag means :latest unless
// all_tags). With all_tags, every tag of the repository is pulled. A failed pull leaves
// no image, tag or digest reference behind.
Result<std::vector<PullResult>> Pull(Store& s, const std::string& reference,
                                     const PullOptions& options, const PullDone& done = {});

}  // namespace strata::engine
