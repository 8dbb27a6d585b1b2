// docker build --output (-o): where a build's result goes. By default it becomes an
// image in the store; `local` and `tar` export the target stage's filesystem instead
// (the image is then neither stored nor tagged, as with docker); `docker` and `oci`
// write an image archive as well as storing the image (docker 20.10's daemon has no
// such exporters; buildx does, and strata is its own store).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/io.h"
#include "util/result.h"

namespace strata::engine {

struct BuildExport {
  enum class Type { kImage, kLocal, kTar, kDocker, kOci };
  Type type = Type::kImage;
  std::string dest;          // local: a directory; the others: a file, or "-"
  Writer* stream = nullptr;  // dest "-": where the archive goes (the front end's stdout)
  // The filesystem alone (local, tar): no image is kept.
  bool FilesOnly() const { return type == Type::kLocal || type == Type::kTar; }
  bool ToStream() const { return dest == "-"; }
};

// The -o values as docker's CLI reads them: `-` is a tar on stdout, a value that is
// neither a CSV list nor starts with `type=` is a local directory, else CSV fields
// `type=…,dest=…` (other keys are exporter attributes and are ignored). An unknown type
// is kNotFound (`exporter "x" could not be found`, the daemon's words).
Result<BuildExport> ParseBuildOutputs(const std::vector<std::string>& values);

// --cache-to / --cache-from: the build cache shared through a registry. Either way the cache
// travels as an image whose config lists, under kCacheConfigKey, the cache key of each layer's
// step: type=registry pushes such an image to its own ref (the built image stays clean),
// type=inline puts the list into the built image itself. Importing pulls the image's layers
// and records their keys, so matching steps are CACHED on any machine.
struct CacheExchange {
  enum class Type { kRegistry, kInline };
  Type type = Type::kRegistry;
  std::string ref;
};
inline constexpr char kCacheConfigKey[] = "strata.buildcache.v1";

// type=registry,ref=R[,mode=min] or type=inline; a bare value is a registry ref. Only one.
Result<std::optional<CacheExchange>> ParseCacheTo(const std::vector<std::string>& values);
// Each a reference, or type=registry,ref=R (an image with inline cache works too).
Result<std::vector<CacheExchange>> ParseCacheFrom(const std::vector<std::string>& values);

// Writes the tree at root (a mounted view of the result) where e says: a local
// directory (created if missing, existing files kept or replaced) or a tar stream.
Status ExportTree(const std::string& root, const BuildExport& e);

}  // namespace strata::engine
