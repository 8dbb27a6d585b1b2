// Platforms ("linux/arm64/v8"): parse, format, normalize and match them as containerd's
// platforms package does, and pick the best manifest of an index for a platform.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "image/go_json.h"
#include "util/result.h"

namespace strata::image {

struct Descriptor;

struct Platform {
  std::string os;
  std::string architecture;
  std::string variant;
  std::string os_version;
  std::vector<std::string> os_features;
  OrderedJson extra = OrderedJson::object();  // unknown fields, e.g. docker's "features"
  JsonSource source;

  bool operator==(const Platform&) const = default;

  // JSON as OCI specs-go v1 Platform declares it: architecture, os, os.version, os.features,
  // variant (docker's manifestlist.PlatformSpec has the same order).
  static Result<Platform> FromJson(const OrderedJson& j, std::string_view what = "platform");
  OrderedJson ToJson() const;
};

// Parses "os[(osversion)][/arch[/variant]]" or "arch" as containerd's platforms.Parse does:
// one element is an OS (with the host's architecture) or an architecture (with the host
// OS); the result is normalized, and "os/arm64/<none>" with three parts gets variant v8.
Result<Platform> ParsePlatform(std::string_view specifier);

// "os/arch[/variant]" (containerd platforms.Format); FormatAll adds "(osversion)".
std::string FormatPlatform(const Platform& p);
std::string FormatPlatformAll(const Platform& p);

// containerd's Normalize: lower-case, Go names for OS and architecture ("x86_64" -> "amd64",
// "aarch64" -> "arm64", "armhf" -> "arm"/"v7"), default variants dropped or filled ("amd64"
// "v1" -> "", "arm64" "v8" -> "", "arm" "" -> "v7").
Platform Normalize(Platform p);

// Host platform: OS "linux" and uname(2)'s machine mapped to GOARCH names (x86_64 -> amd64,
// aarch64 -> arm64 variant v8, armv7l -> arm v7, armv6l -> arm v6, i686 -> 386, …).
Platform HostPlatform();
// The mapping HostPlatform uses, exposed for tests: machine name -> (arch, variant).
Platform PlatformFromMachine(std::string_view os, std::string_view machine);

// Decides which platforms can run on a given one and ranks them (containerd platforms.Only):
// the platform itself first, then older variants of the same architecture (amd64 v3 -> v2 ->
// v1, arm v7 -> v6 -> v5), then compatible architectures (amd64 runs 386; arm64 runs arm).
class PlatformMatcher {
 public:
  explicit PlatformMatcher(const Platform& p);
  bool Match(const Platform& candidate) const;
  // Rank of a matching candidate: lower is better; -1 if it does not match.
  int Rank(const Platform& candidate) const;
  // Strict matching: only the platform itself (containerd platforms.OnlyStrict).
  static PlatformMatcher Strict(const Platform& p);

 private:
  PlatformMatcher() = default;
  static bool Equal(const Platform& want, const Platform& candidate);
  std::vector<Platform> vector_;
};

// Index into `manifests` of the best match for `matcher`: the best-ranked platform, and the
// first in index order among equals. Entries without a platform never match. nullopt when
// nothing matches.
std::optional<size_t> SelectManifest(const std::vector<Descriptor>& manifests,
                                     const PlatformMatcher& matcher);

}  // namespace strata::image
