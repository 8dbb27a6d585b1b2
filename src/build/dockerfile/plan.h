// Parsed Dockerfile + build options -> a build plan: the stages in order with their bases,
// platforms, dependencies and fully expanded steps, and the image config each stage accumulates,
// with the semantics of BuildKit's dockerfile2llb (ARG scoping, ENV/ARG interplay, ONBUILD,
// --target).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "build/dockerfile/instructions.h"
#include "build/dockerfile/parser.h"
#include "util/result.h"

namespace strata::dockerfile {

// An OCI platform as containerd's platforms package parses and formats it.
struct Platform {
  std::string os;
  std::string architecture;
  std::string variant;
  // "linux/amd64", "linux/arm/v7".
  std::string ToString() const;
  bool operator==(const Platform&) const = default;
};

// platforms.Parse + Normalize: "linux/x86_64" -> linux/amd64, "arm64" -> linux/arm64,
// "linux/arm" -> linux/arm/v7. Errors use containerd's wording.
Result<Platform> ParsePlatform(std::string_view spec);
// The platform this process runs on (linux/<uname machine>, normalized).
Platform HostPlatform();

struct HealthConfig {
  std::vector<std::string> test;
  int64_t interval_ns = 0;
  int64_t timeout_ns = 0;
  int64_t start_period_ns = 0;
  int64_t start_interval_ns = 0;
  int retries = 0;
  bool operator==(const HealthConfig&) const = default;
};

// The part of an image config a Dockerfile changes (docker's container.Config names).
// Optional lists distinguish null (unset) from empty, as docker's JSON does.
struct ImageConfig {
  std::vector<std::string> env;  // KEY=VALUE, first-definition order
  std::optional<std::vector<std::string>> cmd;
  std::optional<std::vector<std::string>> entrypoint;
  std::string working_dir;
  std::string user;
  std::map<std::string, std::string> labels;
  std::set<std::string> exposed_ports;  // "80/tcp"
  std::set<std::string> volumes;
  std::string stop_signal;
  std::vector<std::string> shell;
  std::optional<HealthConfig> healthcheck;
  std::vector<std::string> on_build;
  bool args_escaped = false;
  std::string author;  // MAINTAINER; lives beside Config in the image, kept here for the builder
  bool operator==(const ImageConfig&) const = default;
};

// What a base image resolver returns for a FROM or --from image.
struct BaseImage {
  std::string ref;  // the resolved reference (may add a digest)
  ImageConfig config;
  std::optional<Platform> platform;  // the image's platform when known
  bool scratch = false;              // no layers (BuildKit treats it like scratch)
};

// Returns the config of an image reference (normalized, e.g. docker.io/library/busybox:latest)
// for a platform, or an Error (kNotFound when the image does not exist).
using ImageResolver =
    std::function<Result<BaseImage>(const std::string& ref, const Platform& platform)>;

struct PlanOptions {
  std::string filename = "Dockerfile";            // for error locations ("Dockerfile:7: ...")
  std::map<std::string, std::string> build_args;  // --build-arg K=V
  std::string target;                             // --target; empty = the last stage
  std::optional<Platform> target_platform;        // --platform; default: the build platform
  std::optional<Platform> build_platform;         // default: HostPlatform()
  // Without a resolver every image is taken to have an empty config (PATH is still added).
  ImageResolver resolve_image;
};

// Where a stage starts from.
struct StageBase {
  enum class Kind { kScratch, kImage, kStage };
  Kind kind = Kind::kScratch;
  std::string name;  // FROM's word after expansion ("busybox", "builder")
  std::string ref;   // kImage: normalized reference; resolved ref when resolved
  int stage = -1;    // kStage: the index of the earlier stage
};

// A stage or image a step reads from (COPY --from, RUN --mount=from=).
struct Source {
  int stage = -1;     // >= 0: a stage index
  std::string image;  // else an image reference (normalized)
  bool operator==(const Source&) const = default;
  bool operator<(const Source& o) const {
    return stage != o.stage ? stage < o.stage : image < o.image;
  }
};

// One instruction after expansion, with what the builder needs to execute and cache it.
struct Step {
  Instruction instruction;          // words expanded as BuildKit expands them for this instruction
  bool from_onbuild = false;        // a trigger of the base image
  std::set<std::string> used_vars;  // variables the expansion referenced (set or not)
  // RUN: the argv (SHELL prepended in shell form), the environment it runs with (image Env
  // plus ARGs in scope), the ARG values in scope (BuildKit's "|N K=V" history prefix and cache
  // input), and the proxy variables from --build-arg that reach it without being declared.
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::vector<std::string> build_args;
  std::vector<std::string> proxy_env;
  std::string workdir;  // working directory and user when the step runs
  std::string user;
  std::vector<Source> sources;  // COPY --from / RUN --mount=from, in order, per mount
};

struct PlanStage {
  int index = 0;
  std::string name;  // lowercased AS name, empty without one
  int line = 0;      // the FROM line
  StageBase base;
  Platform platform;
  bool needed = false;    // reachable from the target; only needed stages are executed
  std::vector<int> deps;  // stages this one needs (base and --from), sorted, unique
  std::vector<std::string> image_deps;  // images read via --from / mount from=
  std::vector<Step> steps;              // empty for stages that are not needed
  ImageConfig config;                   // the image config after the last step
};

struct PlanWarning {
  int line = 0;  // 0 when not tied to a line
  std::string message;
};

struct Plan {
  std::vector<PlanStage> stages;
  int target = 0;  // index into stages
  Platform build_platform;
  Platform target_platform;
  std::vector<KeyValue> global_args;  // ARGs before the first FROM, after resolution
  std::vector<PlanWarning> warnings;
  std::vector<int> order;  // needed stages in execution order (dependencies first)
};

// Where planning failed, for front ends: Plan's Error message is "<file>:<line>: <message>"
// (or the bare message when line is 0).
struct PlanError {
  int line = 0;
  std::string message;
};

// Builds the plan. Errors are BuildKit's messages with the instruction's line.
Result<Plan> MakePlan(const Dockerfile& df, const PlanOptions& options,
                      PlanError* error_detail = nullptr);

// Parse + ParseInstructions + MakePlan; parse errors are reported the same way.
Result<Plan> PlanDockerfile(std::string_view text, const PlanOptions& options,
                            PlanError* error_detail = nullptr);

// The stable text of a plan (what `strata dockerfile parse --plan` prints).
std::string DumpPlan(const Plan& plan);

// An image config in docker's JSON spelling (`docker image inspect` .Config fields: Env, Cmd,
// Entrypoint, WorkingDir, User, Labels, ExposedPorts, Volumes, StopSignal, Shell, Healthcheck,
// OnBuild, ArgsEscaped), with docker's null/omitempty rules. Pretty-printed when indent >= 0.
std::string ConfigToJson(const ImageConfig& config, int indent = -1);
// Reads that JSON (e.g. a recorded base image config); unknown fields are ignored.
Result<ImageConfig> ConfigFromJson(std::string_view json);

}  // namespace strata::dockerfile
