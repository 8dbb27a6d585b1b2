// Image configuration (OCI config.md, Docker image JSON v1.2): how to run the image, its
// rootfs diff IDs and history. The image ID is the sha256 of the exact config bytes.
//
// Field order of what strata writes (Go encoding/json order of the types docker uses):
// - top level: keys sorted, because moby's image.Image.MarshalJSON re-marshals through a
//   map[string]*json.RawMessage (moby image/image.go), and BuildKit's config writer
//   (exporter/containerimage) does the same, so every docker-built config has sorted keys;
// - "config": BuildKit's DockerOCIImageConfig = OCI specs-go v1 ImageConfig (User,
//   ExposedPorts, Env, Entrypoint, Cmd, Volumes, WorkingDir, Labels, StopSignal, ArgsEscaped)
//   followed by its docker extension (Healthcheck, OnBuild, Shell), all omitempty;
// - "Healthcheck": moby container.HealthConfig (Test, Interval, Timeout, StartPeriod,
//   StartInterval, Retries);
// - "rootfs": OCI RootFS (type, diff_ids); history entries: OCI History (created,
//   created_by, author, comment, empty_layer).
// Parsed configs keep their own key order and unknown fields (docker's "container",
// "container_config", "docker_version", "Hostname", …) so an unchanged config re-serializes
// to the same bytes.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "digest/digest.h"
#include "image/go_json.h"
#include "image/platform.h"
#include "util/result.h"

namespace strata::image {

struct HealthConfig {
  std::vector<std::string> test;
  int64_t interval = 0;  // nanoseconds, as Go's time.Duration
  int64_t timeout = 0;
  int64_t start_period = 0;
  int64_t start_interval = 0;
  int64_t retries = 0;
  OrderedJson extra = OrderedJson::object();
  JsonSource source;
  bool operator==(const HealthConfig&) const = default;
};

// The "config" object: defaults for containers run from the image.
struct ContainerConfig {
  std::string user;
  std::set<std::string> exposed_ports;  // "80/tcp"
  std::vector<std::string> env;
  std::vector<std::string> entrypoint;
  std::vector<std::string> cmd;
  std::set<std::string> volumes;
  std::string working_dir;
  std::map<std::string, std::string> labels;
  std::string stop_signal;
  bool args_escaped = false;
  std::optional<HealthConfig> healthcheck;
  std::vector<std::string> on_build;
  std::vector<std::string> shell;
  OrderedJson extra = OrderedJson::object();
  JsonSource source;
  bool operator==(const ContainerConfig&) const = default;
};

struct RootFs {
  std::string type = "layers";
  std::vector<digest::Digest> diff_ids;
  OrderedJson extra = OrderedJson::object();
  JsonSource source;
  bool operator==(const RootFs&) const = default;
};

struct History {
  std::string created;  // RFC 3339, kept as written
  std::string created_by;
  std::string author;
  std::string comment;
  bool empty_layer = false;
  OrderedJson extra = OrderedJson::object();
  JsonSource source;
  bool operator==(const History&) const = default;
};

struct Config {
  std::string architecture;
  std::string os;
  std::string variant;
  std::string os_version;
  std::vector<std::string> os_features;
  std::string created;  // RFC 3339, kept as written
  std::string author;
  std::string comment;
  std::optional<ContainerConfig> config;
  RootFs rootfs;
  std::vector<History> history;
  // Docker (classic builder, docker commit) extras, kept so they round-trip.
  std::string container;
  OrderedJson container_config;  // null when absent
  std::string docker_version;
  OrderedJson extra = OrderedJson::object();
  JsonSource source;

  bool operator==(const Config&) const = default;

  // Parses and validates: a JSON object with a rootfs of type "layers" whose diff_ids are
  // valid digests (moby refuses configs without rootfs), and well-typed known fields.
  static Result<Config> Parse(std::string_view bytes);
  static Result<Config> FromJson(const OrderedJson& j);
  OrderedJson ToJson() const;
  // Go-marshaled bytes; for a config strata creates these bytes define the image ID.
  std::string Marshal() const;

  Platform GetPlatform() const;
};

// Image ID: sha256 of the exact config bytes (never of a re-serialization).
digest::Digest ImageId(std::string_view config_bytes);

}  // namespace strata::image
