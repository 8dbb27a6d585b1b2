// docker build: a Dockerfile and a context become an image in the store. The plan
// (build/dockerfile) says what to run; each filesystem step runs on an overlay
// snapshot (RUN in the exec/ sandbox, COPY/ADD through build/copy), is committed as
// a layer, and is remembered in the build cache under a key of its inputs.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "engine/build_output.h"
#include "engine/store.h"
#include "util/io.h"
#include "util/result.h"

namespace strata::engine {

// One line of BuildKit-style progress ("#5 [2/3] RUN make", "#5 CACHED", "#5 0.12 out",
// "#5 DONE 0.4s"). Called from the stage threads one call at a time.
using BuildOutput = std::function<void(const std::string& line)>;

struct BuildOptions {
  std::string context_dir;  // the context directory
  // Context `-` (docker build - < x): a tar, plain or compressed, whose root is the context
  // (dockerfile_path is then inside it), or else the Dockerfile itself with no context.
  Reader* context_stream = nullptr;
  std::string dockerfile_path;                 // default: <context>/Dockerfile
  std::optional<std::string> dockerfile_text;  // `-f -`: the Dockerfile itself
  std::map<std::string, std::string> build_args;
  std::string target;
  std::vector<std::string> tags;              // -t, several
  std::map<std::string, std::string> labels;  // --label
  bool no_cache = false;
  std::vector<std::string> no_cache_filter;    // stage names whose steps skip the cache
  bool pull = false;                           // always pull base images
  std::string network = "default";             // default|none|host (RUN --network overrides)
  std::string platform;                        // empty: the host's
  std::vector<std::string> add_hosts;          // --add-host name:ip, into RUN's /etc/hosts
  std::map<std::string, std::string> secrets;  // id -> host file (RUN --mount=type=secret)
  std::optional<int64_t> source_date_epoch;    // reproducible timestamps
  std::string config_dir;                      // docker config dir for pulls
  BuildExport exporter;                        // -o: where the result goes
  std::optional<CacheExchange> cache_to;       // --cache-to
  std::vector<CacheExchange> cache_from;       // --cache-from
  BuildOutput output;                          // progress lines; empty: none
  const std::atomic<bool>* cancel = nullptr;
};

struct BuildResult {
  std::string image_id;  // empty when only files were exported (-o local|tar)
  std::vector<std::string> warnings;
};

Result<BuildResult> Build(Store& s, const BuildOptions& opts);

}  // namespace strata::engine
