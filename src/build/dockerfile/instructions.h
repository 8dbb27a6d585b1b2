// Typed Dockerfile instructions built from parser nodes, with BuildKit's validation
// (frontend/dockerfile/instructions): flags per instruction, argument counts, RUN --mount.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "build/dockerfile/parser.h"
#include "util/result.h"

namespace strata::dockerfile {

// Words are kept raw (quotes, `$var`) wherever BuildKit expands them later; the plan step runs
// the shell-word lexer over them with the stage's environment.

struct KeyValue {
  std::string key;
  std::string value;
  bool operator==(const KeyValue&) const = default;
};

struct ArgDef {
  std::string key;
  std::optional<std::string> value;  // none for `ARG name`
  std::string comment;               // from a preceding `# name description` comment
  bool operator==(const ArgDef&) const = default;
};

// The command of RUN, CMD, ENTRYPOINT: exec form (JSON array) or one shell string.
struct CommandLine {
  std::vector<std::string> args;  // JSON elements, or {the shell string}; empty for `CMD []`
  bool prepend_shell = true;      // shell form: run through the SHELL
  std::vector<Heredoc> files;     // heredocs of a RUN
  bool operator==(const CommandLine&) const = default;
};

enum class MountType { kBind, kCache, kTmpfs, kSecret, kSsh };
std::string_view MountTypeName(MountType t);

// One RUN --mount. Fields with a `$` in their value are kept unvalidated in `spec` until the
// plan step expands them (ParseMount with an expander).
struct Mount {
  MountType type = MountType::kBind;
  std::string from;
  std::string source;
  std::string target;
  bool read_only = true;
  std::string cache_id;
  std::string sharing;  // shared|private|locked, empty = default
  bool required = false;
  std::optional<int64_t> size_limit;  // tmpfs size=, bytes
  std::optional<uint64_t> mode;
  std::optional<uint64_t> uid;
  std::optional<uint64_t> gid;
  std::optional<std::string> env;  // secret env=
  std::string spec;                // the flag value as written
  bool operator==(const Mount&) const = default;
};

// Expands one word (the plan step passes the shell-word lexer with the stage's variables).
using WordExpander = std::function<Result<std::string>(std::string_view)>;

// Parses a --mount value with BuildKit's rules (CSV fields, key=value, type-dependent keys).
// Without an expander, a value containing `$` is left for later (kept in spec), and `from=`
// must not contain variables.
Result<Mount> ParseMount(std::string_view spec, const WordExpander* expand = nullptr);

struct SourceContent {  // a heredoc used as a COPY/ADD source
  std::string path;
  std::string data;  // chomped when `<<-`
  bool expand = true;
  bool operator==(const SourceContent&) const = default;
};

struct SourcesAndDest {
  std::vector<std::string> source_paths;
  std::vector<SourceContent> source_contents;
  std::string dest;
  bool operator==(const SourcesAndDest&) const = default;
};

struct FromCommand {
  std::string base_name;
  std::string stage_name;  // lowercased; empty without AS
  std::string platform;
  std::string comment;
};
struct RunCommand {
  CommandLine cmdline;
  std::vector<Mount> mounts;
  std::string network = "default";   // default|none|host
  std::string security = "sandbox";  // sandbox|insecure
  std::vector<std::string> flags_used;
};
struct CmdCommand {
  CommandLine cmdline;
};
struct EntrypointCommand {
  CommandLine cmdline;  // `ENTRYPOINT []` gives no args: the image's entrypoint is cleared
};
struct LabelCommand {
  std::vector<KeyValue> labels;
};
struct MaintainerCommand {
  std::string maintainer;
};
struct ExposeCommand {
  std::vector<std::string> ports;  // sorted bytewise, as BuildKit sorts them
};
struct EnvCommand {
  std::vector<KeyValue> env;
};
struct AddCommand {
  SourcesAndDest files;
  std::string chown;
  std::string chmod;
  std::string checksum;
  bool link = false;
  bool keep_git_dir = false;
  std::optional<bool> unpack;  // set only when --unpack was given
  std::vector<std::string> excludes;
};
struct CopyCommand {
  SourcesAndDest files;
  std::string from;
  std::string chown;
  std::string chmod;
  bool link = false;
  bool parents = false;
  std::vector<std::string> excludes;
};
struct VolumeCommand {
  std::vector<std::string> volumes;
};
struct UserCommand {
  std::string user;
};
struct WorkdirCommand {
  std::string path;
};
struct ArgCommand {
  std::vector<ArgDef> args;
};
struct OnbuildCommand {
  std::string expression;  // the trigger text as the image config stores it
  std::shared_ptr<const Node> trigger;
};
struct StopSignalCommand {
  std::string signal;
};
struct HealthcheckCommand {
  std::vector<std::string> test;  // {"NONE"}, {"CMD", args...} or {"CMD-SHELL", cmd}
  int64_t interval_ns = 0;
  int64_t timeout_ns = 0;
  int64_t start_period_ns = 0;
  int64_t start_interval_ns = 0;
  int retries = 0;
};
struct ShellCommand {
  std::vector<std::string> shell;
};

using Command = std::variant<FromCommand, RunCommand, CmdCommand, EntrypointCommand, LabelCommand,
                             MaintainerCommand, ExposeCommand, EnvCommand, AddCommand, CopyCommand,
                             VolumeCommand, UserCommand, WorkdirCommand, ArgCommand, OnbuildCommand,
                             StopSignalCommand, HealthcheckCommand, ShellCommand>;

struct Instruction {
  std::string name;      // upper case: "RUN"
  std::string original;  // the joined source line
  int start_line = 0;
  int end_line = 0;
  // Whether BuildKit applies shell-word expansion to this instruction's words (ENV, LABEL,
  // ADD, COPY, EXPOSE, USER, WORKDIR, VOLUME, STOPSIGNAL, ARG, FROM; RUN only to --mount).
  bool expands = false;
  Command command;
};

// Converts one node; errors are BuildKit's messages, located at the node.
Result<Instruction> ParseInstruction(const Node& node, ParseError* error_detail = nullptr);

struct Stage {
  Instruction from;  // holds a FromCommand
  std::vector<Instruction> commands;
  const FromCommand& From() const { return std::get<FromCommand>(from.command); }
};

struct Dockerfile {
  std::vector<Instruction> meta_args;  // ARGs before the first FROM
  std::vector<Stage> stages;
  std::vector<Directive> directives;
  std::vector<Warning> warnings;
  char escape_token = '\\';
};

// Groups the nodes into stages. Fails on the first bad instruction, on an instruction other
// than ARG before the first FROM, and when there is no FROM at all.
Result<Dockerfile> ParseInstructions(const ParseResult& parsed, ParseError* error_detail = nullptr);

// Parse + ParseInstructions.
Result<Dockerfile> ParseDockerfile(std::string_view text, ParseError* error_detail = nullptr);

}  // namespace strata::dockerfile
