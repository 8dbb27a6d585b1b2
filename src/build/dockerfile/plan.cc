// The planner follows dockerfile2llb's phases: global ARGs, one state per stage (FROM expanded
// with the global ARGs), the dependency graph over every stage (COPY --from, RUN --mount=from),
// the target and the stages reachable from it, ONBUILD triggers, then the dispatch of each
// reachable stage in file order, which expands words and accumulates the image config.
#include "build/dockerfile/plan.h"

#include <sys/utsname.h>

#include <algorithm>
#include <functional>
#include <unordered_map>

#include "build/dockerfile/dump.h"
#include "build/dockerfile/go_compat.h"
#include "build/dockerfile/plan_values.h"
#include "build/dockerfile/shell.h"
#include "build/dockerfile/suggest.h"

namespace strata::dockerfile {

namespace {

constexpr std::string_view kDefaultPath =
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool KnownOS(const std::string& s) {
  static const char* k[] = {"aix",     "android", "darwin",  "dragonfly", "freebsd", "hurd",
                            "illumos", "ios",     "js",      "linux",     "nacl",    "netbsd",
                            "openbsd", "plan9",   "solaris", "windows",   "zos"};
  return std::find_if(std::begin(k), std::end(k), [&](const char* x) { return s == x; }) !=
         std::end(k);
}

bool KnownArch(const std::string& s) {
  static const char* k[] = {"386",     "amd64",    "amd64p32",  "arm",         "armbe",   "arm64",
                            "arm64be", "ppc64",    "ppc64le",   "loong64",     "mips",    "mipsle",
                            "mips64",  "mips64le", "mips64p32", "mips64p32le", "ppc",     "riscv",
                            "riscv64", "s390",     "s390x",     "sparc",       "sparc64", "wasm"};
  return std::find_if(std::begin(k), std::end(k), [&](const char* x) { return s == x; }) !=
         std::end(k);
}

std::string NormalizeOS(std::string os) {
  os = Lower(os);
  if (os == "macos") return "darwin";
  return os;
}

// containerd's normalizeArch.
void NormalizeArch(std::string* arch, std::string* variant) {
  *arch = Lower(*arch);
  *variant = Lower(*variant);
  if (*arch == "i386") {
    *arch = "386";
    *variant = "";
  } else if (*arch == "x86_64" || *arch == "x86-64" || *arch == "amd64") {
    *arch = "amd64";
    if (*variant == "v1") *variant = "";
  } else if (*arch == "aarch64" || *arch == "arm64") {
    *arch = "arm64";
    if (*variant == "8" || *variant == "v8" || *variant == "v8.0") *variant = "";
  } else if (*arch == "armhf") {
    *arch = "arm";
    *variant = "v7";
  } else if (*arch == "armel") {
    *arch = "arm";
    *variant = "v6";
  } else if (*arch == "arm") {
    if (variant->empty() || *variant == "7") {
      *variant = "v7";
    } else if (*variant == "5" || *variant == "6" || *variant == "8") {
      *variant = "v" + *variant;
    }
  }
}

Error At(int line, std::string message, PlanError* detail, const std::string& file) {
  if (detail) *detail = PlanError{line, message};
  if (line <= 0) return InvalidArgument(std::move(message));
  return InvalidArgument(file + ":" + std::to_string(line) + ": " + message);
}

bool IsProxyArg(std::string_view k) {
  std::string l = Lower(k);
  return l == "http_proxy" || l == "https_proxy" || l == "ftp_proxy" || l == "no_proxy" ||
         l == "all_proxy";
}

// ADD --checksum: one HTTP(S) source and a well-formed digest, checked before anything runs
// (dockerfile2llb's dispatchCopy, then go-digest's Parse; BuildKit's wording).
Status CheckAddChecksum(const AddCommand& c) {
  if (c.checksum.empty()) return Ok();
  const auto& srcs = c.files.source_paths;
  if (srcs.size() + c.files.source_contents.size() != 1) {
    return InvalidArgument("checksum can't be specified for multiple sources");
  }
  if (srcs.empty() || !(srcs[0].starts_with("http://") || srcs[0].starts_with("https://"))) {
    return InvalidArgument("checksum can't be specified for non-HTTP(S) sources");
  }
  std::string_view d = c.checksum;
  size_t colon = d.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == d.size()) {
    return InvalidArgument("invalid checksum digest format");
  }
  std::string_view algo = d.substr(0, colon), hex = d.substr(colon + 1);
  size_t want = algo == "sha256" ? 64 : algo == "sha384" ? 96 : algo == "sha512" ? 128 : 0;
  if (want == 0) {
    bool plain = std::all_of(algo.begin(), algo.end(), [](char ch) {
      return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '+' || ch == '.' ||
             ch == '_' || ch == '-';
    });
    return InvalidArgument(plain ? "unsupported digest algorithm"
                                 : "invalid checksum digest format");
  }
  if (hex.size() != want) return InvalidArgument("invalid checksum digest length");
  if (!std::all_of(hex.begin(), hex.end(),
                   [](char ch) { return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f'); })) {
    return InvalidArgument("invalid checksum digest format");
  }
  return Ok();
}

// One dispatch state (dockerfile2llb's dispatchState), for a stage or an image read by --from.
struct State {
  int index = -1;            // stage index; -1 for an image source
  std::string stage_name;    // lowercased AS name
  std::string display_name;  // name or "stage-N", for messages
  std::string base_name;     // FROM word after expansion / the --from image
  int line = 0;
  const Stage* stage = nullptr;
  State* base = nullptr;
  std::optional<Platform> platform;
  // Dependencies: the state and the line of the instruction that needs it.
  std::vector<std::pair<State*, int>> deps;
  bool dispatched = false;
  // Dispatch results.
  ImageConfig config;
  Env env;  // the build state's environment (Env + ARGs)
  std::vector<std::pair<std::string, std::optional<std::string>>> build_args;
  std::vector<Step> steps;
  bool cmd_set = false;
  bool triggers_done = false;
  bool resolved = false;
  std::string ref;  // normalized image reference
};

struct PendingCommand {
  const Instruction* ins = nullptr;  // an instruction of the Dockerfile
  Instruction owned;                 // or an ONBUILD trigger, parsed here
  bool onbuild = false;
  std::vector<State*> sources;
  const Instruction& Ins() const { return onbuild ? owned : *ins; }
};

class Planner {
 public:
  Planner(const Dockerfile& df, const PlanOptions& opt, PlanError* detail)
      : df_(df), opt_(opt), detail_(detail), lexer_(df.escape_token) {}

  Result<Plan> Run();

 private:
  Error Fail(int line, std::string msg) { return At(line, std::move(msg), detail_, opt_.filename); }

  Status GlobalArgs();
  Status CreateStates();
  Result<std::vector<State*>> CommandSources(const Instruction& ins, int line);
  Status DependencyGraph();
  Status CheckCycles();
  State* FindByName(std::string_view name) {
    auto it = by_name_.find(Lower(name));
    return it == by_name_.end() ? nullptr : it->second;
  }
  State* ImageState(const std::string& name, int line) {
    images_.push_back(std::make_unique<State>());
    State* s = images_.back().get();
    s->base_name = name;
    s->line = line;
    s->display_name = name;
    return s;
  }
  Status ResolveImages(const std::set<State*>& reachable);
  Status InitTriggers(State* s);
  Status Dispatch(State* s);
  Status DispatchOne(State* s, PendingCommand& cmd);
  Result<std::string> Expand(State* s, std::string_view word, std::set<std::string>* used,
                             const Lexer& lexer) {
    // Plain ASCII without quotes, escapes or `$` comes out of the lexer unchanged.
    if (std::all_of(word.begin(), word.end(), [&](char c) {
          return static_cast<unsigned char>(c) < 0x80 && c != '$' && c != '\'' && c != '"' &&
                 c != lexer.escape_token();
        })) {
      return std::string(word);
    }
    STRATA_ASSIGN_OR_RETURN(Expansion e, lexer.Process(word, s->env));
    used->insert(e.matched.begin(), e.matched.end());
    used->insert(e.unmatched.begin(), e.unmatched.end());
    return std::move(e.word);
  }

  const Dockerfile& df_;
  const PlanOptions& opt_;
  PlanError* detail_;
  Lexer lexer_;
  Platform build_platform_;
  Platform target_platform_;
  Env global_env_;
  std::vector<KeyValue> global_args_;
  std::set<std::string> declared_args_;
  std::vector<std::unique_ptr<State>> states_;
  std::vector<std::unique_ptr<State>> images_;
  std::unordered_map<std::string, State*> by_name_;
  std::unordered_map<const State*, std::vector<PendingCommand>> commands_;
  std::vector<PlanWarning> warnings_;
};

Status Planner::GlobalArgs() {
  // defaultArgs: the platform ARGs (and the target stage), overridable by --build-arg.
  std::string target = opt_.target;
  if (target.empty()) target = df_.stages.back().From().stage_name;
  const std::pair<std::string, std::string> defaults[] = {
      {"BUILDPLATFORM", build_platform_.ToString()},
      {"BUILDOS", build_platform_.os},
      {"BUILDARCH", build_platform_.architecture},
      {"BUILDVARIANT", build_platform_.variant},
      {"TARGETPLATFORM", target_platform_.ToString()},
      {"TARGETOS", target_platform_.os},
      {"TARGETARCH", target_platform_.architecture},
      {"TARGETVARIANT", target_platform_.variant},
      {"TARGETSTAGE", target},
  };
  for (const auto& [k, v] : defaults) {
    auto it = opt_.build_args.find(k);
    global_env_.Set(k, it != opt_.build_args.end() ? it->second : v);
    declared_args_.insert(k);
  }
  // buildMetaArgs: a --build-arg wins; a default is expanded with the ARGs before it.
  for (const Instruction& ins : df_.meta_args) {
    for (const ArgDef& a : std::get<ArgCommand>(ins.command).args) {
      declared_args_.insert(a.key);
      std::optional<std::string> value;
      if (auto it = opt_.build_args.find(a.key); it != opt_.build_args.end()) {
        value = it->second;
      } else if (a.value) {
        auto r = lexer_.ProcessWord(*a.value, global_env_);
        if (!r) return Fail(ins.start_line, r.error().message);
        value = *r;
      }
      if (value) {
        global_env_.Set(a.key, *value);
        auto it = std::find_if(global_args_.begin(), global_args_.end(),
                               [&](const KeyValue& kv) { return kv.key == a.key; });
        if (it != global_args_.end()) {
          it->value = *value;
        } else {
          global_args_.push_back({a.key, *value});
        }
      }
    }
  }
  return Ok();
}

Status Planner::CreateStates() {
  for (size_t i = 0; i < df_.stages.size(); ++i) {
    const Stage& st = df_.stages[i];
    const FromCommand& from = st.From();
    int line = st.from.start_line;
    auto name = lexer_.ProcessWord(from.base_name, global_env_);
    if (!name) return Fail(line, name.error().message);
    if (name->empty()) {
      return Fail(line, "base name (" + from.base_name + ") should not be blank");
    }
    auto s = std::make_unique<State>();
    s->index = static_cast<int>(i);
    s->stage = &st;
    s->stage_name = from.stage_name;
    s->display_name = from.stage_name.empty() ? "stage-" + std::to_string(i) : from.stage_name;
    s->base_name = *name;
    s->line = line;
    if (!from.platform.empty()) {
      auto p = lexer_.ProcessWord(from.platform, global_env_);
      if (!p) return Fail(line, "failed to process arguments for platform: " + p.error().message);
      if (p->empty()) return Fail(line, "empty platform value from expression " + from.platform);
      auto plat = ParsePlatform(*p);
      if (!plat) {
        return Fail(line,
                    "failed to parse platform " + from.platform + ": " + plat.error().message);
      }
      s->platform = *plat;
    }
    // addState: the base is an earlier stage whose name equals the expanded FROM word.
    if (auto it = by_name_.find(s->base_name); it != by_name_.end()) s->base = it->second;
    if (!s->stage_name.empty()) by_name_[s->stage_name] = s.get();
    states_.push_back(std::move(s));
  }
  return Ok();
}

Result<std::vector<State*>> Planner::CommandSources(const Instruction& ins, int line) {
  std::vector<State*> out;
  if (const auto* c = std::get_if<CopyCommand>(&ins.command); c && !c->from.empty()) {
    auto e = lexer_.ProcessWord(c->from, Env());
    if (!e || *e != c->from) {
      return Fail(line,
                  "variable expansion is not supported for --from, define a new stage with FROM "
                  "using ARG from global scope as a workaround");
    }
    auto index = go::ParseInt(c->from, 64);
    State* src = nullptr;
    if (index) {
      if (*index < 0 || *index >= static_cast<int64_t>(states_.size())) {
        return Fail(line, "invalid stage index " + std::to_string(*index));
      }
      src = states_[*index].get();
    } else {
      src = FindByName(c->from);
      if (!src) src = ImageState(c->from, line);
    }
    out.push_back(src);
  }
  if (const auto* r = std::get_if<RunCommand>(&ins.command)) {
    for (const Mount& m : r->mounts) {
      std::string from = m.from.empty() ? "scratch" : m.from;
      State* src = FindByName(from);
      if (!src && !m.from.empty()) src = ImageState(from, line);
      if (src) out.push_back(src);
    }
  }
  return out;
}

Status Planner::DependencyGraph() {
  for (auto& s : states_) {
    auto& cmds = commands_[s.get()];
    cmds.reserve(s->stage->commands.size());
    for (const Instruction& ins : s->stage->commands) {
      PendingCommand pc;
      pc.ins = &ins;
      STRATA_ASSIGN_OR_RETURN(pc.sources, CommandSources(ins, ins.start_line));
      for (State* src : pc.sources) s->deps.emplace_back(src, ins.start_line);
      cmds.push_back(std::move(pc));
    }
  }
  return CheckCycles();
}

Status Planner::CheckCycles() {
  std::set<const State*> visited;
  std::set<const State*> path;
  int cycle_line = 0;
  std::function<bool(const State*)> visit = [&](const State* s) -> bool {
    if (visited.count(s)) return false;
    visited.insert(s);
    path.insert(s);
    for (const auto& [dep, line] : s->deps) {
      if (path.count(dep) || visit(dep)) {
        if (!cycle_line) cycle_line = line;
        return true;
      }
    }
    path.erase(s);
    return false;
  };
  for (const auto& s : states_) {
    if (visit(s.get())) {
      return Fail(cycle_line, "circular dependency detected on stage: " + s->display_name);
    }
  }
  return Ok();
}

Result<BaseImage> DefaultResolve(const std::string& ref, const Platform& p) {
  BaseImage img;
  img.ref = ref;
  img.platform = p;
  return img;
}

Status Planner::ResolveImages(const std::set<State*>& reachable) {
  // Every stage's image reference is parsed, needed or not; only needed ones are resolved.
  std::vector<State*> all;
  for (auto& s : states_) all.push_back(s.get());
  for (auto& s : images_) all.push_back(s.get());
  for (State* s : all) {
    if (s->base || s->base_name == "scratch") continue;
    auto ref = NormalizeImageReference(s->base_name);
    if (!ref) {
      return Fail(s->line, "failed to parse stage name " + go::Quote(s->base_name) + ": " +
                               ref.error().message);
    }
    s->ref = *ref;
    if (!reachable.count(s) || s->resolved) continue;
    s->resolved = true;
    Platform p = s->platform.value_or(target_platform_);
    auto img = opt_.resolve_image ? opt_.resolve_image(*ref, p) : DefaultResolve(*ref, p);
    if (!img) return Fail(s->line, s->base_name + ": " + img.error().message);
    s->config = img->config;
    if (!img->ref.empty()) s->ref = img->ref;
    if (!s->platform) s->platform = p;
  }
  return Ok();
}

std::vector<std::string> WithShell(const ImageConfig& c, const std::vector<std::string>& args) {
  std::vector<std::string> out =
      c.shell.empty() ? std::vector<std::string>{"/bin/sh", "-c"} : c.shell;
  std::string joined;
  for (size_t i = 0; i < args.size(); ++i) {
    if (i) joined += " ";
    joined += args[i];
  }
  out.push_back(std::move(joined));
  return out;
}

void AddEnv(std::vector<std::string>* env, const std::string& k, const std::string& v) {
  for (std::string& e : *env) {
    if (e.compare(0, e.find('='), k) == 0 && e.find('=') == k.size()) {
      e = k + "=" + v;
      return;
    }
    if (e == k) {
      e = k + "=" + v;
      return;
    }
  }
  env->push_back(k + "=" + v);
}

std::vector<std::string> EnvList(const Env& env) {
  std::vector<std::string> out;
  out.reserve(env.Keys().size());
  for (const std::string& k : env.Keys()) out.push_back(k + "=" + std::string(*env.Get(k)));
  return out;
}

Status Planner::InitTriggers(State* s) {
  // A stage based on another runs that stage's ONBUILD instructions; one based on an image runs
  // the image's OnBuild list. They run first, parsed as stored (with the default escape).
  if (s->triggers_done) return Ok();
  s->triggers_done = true;
  std::vector<std::string> onbuilds;
  if (s->base) {
    for (const PendingCommand& pc : commands_[s->base]) {
      if (const auto* ob = std::get_if<OnbuildCommand>(&pc.Ins().command)) {
        onbuilds.push_back(ob->expression);
      }
    }
  } else if (s->base_name != "scratch") {
    onbuilds = s->config.on_build;
  }
  if (onbuilds.empty()) return Ok();
  std::vector<PendingCommand> triggers;
  for (const std::string& expr : onbuilds) {
    auto parsed = Parse(expr);
    if (!parsed) return Fail(s->line, parsed.error().message);
    if (parsed->nodes.size() != 1) {
      return Fail(s->line, "onbuild trigger should be a single expression");
    }
    Node node = parsed->nodes[0];
    node.start_line = node.end_line = s->line;
    ParseError pe;
    auto ins = ParseInstruction(node, &pe);
    if (!ins) return Fail(s->line, pe.message);
    PendingCommand pc;
    pc.owned = std::move(*ins);
    pc.onbuild = true;
    STRATA_ASSIGN_OR_RETURN(pc.sources, CommandSources(pc.owned, s->line));
    for (State* src : pc.sources) s->deps.emplace_back(src, s->line);
    triggers.push_back(std::move(pc));
  }
  auto& cmds = commands_[s];
  cmds.insert(cmds.begin(), std::make_move_iterator(triggers.begin()),
              std::make_move_iterator(triggers.end()));
  return CheckCycles();
}

Status Planner::Dispatch(State* s) {
  // init: a stage based on another starts from its state (environment with ARGs included),
  // minus its ONBUILD list; scratch is BuildKit's empty image.
  if (s->base) {
    const State* b = s->base;
    s->config = b->config;
    s->platform = b->platform;
    s->env = b->env;
    s->build_args = b->build_args;
  } else if (s->base_name == "scratch") {
    s->config = ImageConfig{};
    s->config.env = {std::string(kDefaultPath)};
    s->config.working_dir = "/";
  }
  s->config.on_build.clear();
  if (!s->platform) s->platform = target_platform_;
  // PATH is always set.
  bool has_path = std::any_of(s->config.env.begin(), s->config.env.end(),
                              [](const std::string& e) { return e.rfind("PATH=", 0) == 0; });
  if (!has_path) s->config.env.push_back(std::string(kDefaultPath));
  for (const std::string& e : s->config.env) {
    size_t eq = e.find('=');
    s->env.Set(e.substr(0, eq), eq == std::string::npos ? "" : e.substr(eq + 1));
  }
  if (!s->config.working_dir.empty()) {
    auto wd = NormalizeWorkdir(s->config.working_dir, s->config.working_dir);
    if (wd) s->config.working_dir = *wd;
  }
  s->dispatched = true;
  for (PendingCommand& pc : commands_[s]) STRATA_TRY(DispatchOne(s, pc));
  return Ok();
}

Status Planner::DispatchOne(State* s, PendingCommand& pc) {
  Step step;
  step.instruction = pc.Ins();
  step.from_onbuild = pc.onbuild;
  Instruction& ins = step.instruction;
  int line = pc.onbuild ? s->line : ins.start_line;
  ImageConfig& cfg = s->config;
  std::set<std::string>& used = step.used_vars;
  auto expand = [&](std::string* w) -> Status {
    auto r = Expand(s, *w, &used, lexer_);
    if (!r) return r.error();
    *w = std::move(*r);
    return Ok();
  };
  auto expand_files = [&](SourcesAndDest& f) -> Status {
    for (std::string& p : f.source_paths) STRATA_TRY(expand(&p));
    STRATA_TRY(expand(&f.dest));
    Lexer raw('\\', LexerOptions{.skip_process_quotes = true});
    for (SourceContent& c : f.source_contents) {
      if (!c.expand) continue;
      auto r = Expand(s, c.data, &used, raw);
      if (!r) return r.error();
      c.data = std::move(*r);
    }
    return Ok();
  };
  auto located = [&](Status st) -> Status {
    if (st) return st;
    return Fail(line, st.error().message);
  };
  step.workdir = cfg.working_dir;
  step.user = cfg.user;

  Status st = std::visit(
      [&](auto& c) -> Status {
        using T = std::decay_t<decltype(c)>;
        if constexpr (std::is_same_v<T, EnvCommand>) {
          for (KeyValue& kv : c.env) {
            STRATA_TRY(expand(&kv.key));
            STRATA_TRY(expand(&kv.value));
          }
          for (const KeyValue& kv : c.env) {
            s->env.Set(kv.key, kv.value);
            AddEnv(&cfg.env, kv.key, kv.value);
          }
        } else if constexpr (std::is_same_v<T, LabelCommand>) {
          for (KeyValue& kv : c.labels) {
            STRATA_TRY(expand(&kv.key));
            STRATA_TRY(expand(&kv.value));
          }
          for (const KeyValue& kv : c.labels) cfg.labels[kv.key] = kv.value;
        } else if constexpr (std::is_same_v<T, MaintainerCommand>) {
          cfg.author = c.maintainer;
        } else if constexpr (std::is_same_v<T, AddCommand>) {
          STRATA_TRY(expand(&c.chown));
          STRATA_TRY(expand(&c.chmod));
          STRATA_TRY(expand(&c.checksum));
          for (std::string& e : c.excludes) STRATA_TRY(expand(&e));
          STRATA_TRY(expand_files(c.files));
          STRATA_TRY(CheckAddChecksum(c));
        } else if constexpr (std::is_same_v<T, CopyCommand>) {
          STRATA_TRY(expand(&c.chown));
          STRATA_TRY(expand(&c.chmod));
          for (std::string& e : c.excludes) STRATA_TRY(expand(&e));
          STRATA_TRY(expand_files(c.files));
          if (!pc.sources.empty() && !pc.sources[0]->dispatched && pc.sources[0]->index >= 0) {
            return InvalidArgument("cannot copy from stage " + go::Quote(c.from) +
                                   ", it needs to be defined before current stage " +
                                   go::Quote(s->display_name));
          }
        } else if constexpr (std::is_same_v<T, WorkdirCommand>) {
          STRATA_TRY(expand(&c.path));
          auto wd = NormalizeWorkdir(cfg.working_dir, c.path);
          if (!wd) return InvalidArgument("normalizing workdir: " + wd.error().message);
          cfg.working_dir = *wd;
          c.path = *wd;
        } else if constexpr (std::is_same_v<T, UserCommand>) {
          STRATA_TRY(expand(&c.user));
          cfg.user = c.user;
        } else if constexpr (std::is_same_v<T, VolumeCommand>) {
          for (std::string& v : c.volumes) STRATA_TRY(expand(&v));
          for (const std::string& v : c.volumes) {
            if (v.empty()) return InvalidArgument("VOLUME specified can not be an empty string");
            cfg.volumes.insert(v);
          }
        } else if constexpr (std::is_same_v<T, StopSignalCommand>) {
          STRATA_TRY(expand(&c.signal));
          STRATA_TRY(ValidateStopSignal(c.signal));
          cfg.stop_signal = c.signal;
        } else if constexpr (std::is_same_v<T, ExposeCommand>) {
          std::vector<std::string> ports;
          for (const std::string& p : c.ports) {
            STRATA_ASSIGN_OR_RETURN(Expansion e, lexer_.Process(p, s->env));
            used.insert(e.matched.begin(), e.matched.end());
            used.insert(e.unmatched.begin(), e.unmatched.end());
            ports.insert(ports.end(), e.words.begin(), e.words.end());
          }
          std::vector<std::string> specs;
          for (const std::string& p : ports) {
            STRATA_ASSIGN_OR_RETURN(auto ps, ParsePortSpec(p));
            specs.insert(specs.end(), ps.begin(), ps.end());
          }
          cfg.exposed_ports.insert(specs.begin(), specs.end());
          c.ports = specs;
        } else if constexpr (std::is_same_v<T, ArgCommand>) {
          for (ArgDef& a : c.args) {
            declared_args_.insert(a.key);
            auto bit = opt_.build_args.find(a.key);
            bool has_value = bit != opt_.build_args.end();
            std::optional<std::string> value;
            if (has_value) {
              value = bit->second;
            } else if (a.value) {
              std::string v = *a.value;
              STRATA_TRY(expand(&v));
              value = v;
            } else if (auto g = global_env_.Get(a.key)) {
              value = std::string(*g);
            }
            if (value) s->env.Set(a.key, *value);
            a.value = value;
            s->build_args.emplace_back(a.key, value);
          }
        } else if constexpr (std::is_same_v<T, RunCommand>) {
          for (Mount& m : c.mounts) {
            if (m.spec.find('$') == std::string::npos) continue;
            WordExpander ex = [&](std::string_view w) -> Result<std::string> {
              return Expand(s, w, &used, lexer_);
            };
            STRATA_ASSIGN_OR_RETURN(m, ParseMount(m.spec, &ex));
          }
          for (size_t i = 0; i < pc.sources.size(); ++i) {
            const State* src = pc.sources[i];
            if (src->index >= 0 && !src->dispatched) {
              std::string from, target;
              for (const Mount& m : c.mounts) {
                if ((m.from.empty() ? "scratch" : Lower(m.from)) ==
                    (src->stage_name.empty() ? src->base_name : src->stage_name)) {
                  from = m.from;
                  target = m.target;
                  break;
                }
              }
              return InvalidArgument("cannot mount from stage " + go::Quote(from) + " to " +
                                     go::Quote(target) +
                                     ", stage needs to be defined before current command");
            }
          }
          std::vector<std::string> args = c.cmdline.args;
          if (!c.cmdline.files.empty()) {
            Heredoc marker;
            if (args.size() == 1 && ParseHeredocMarker(args[0], &marker)) {
              std::string data = c.cmdline.files[0].Data();
              if (data.rfind("#!", 0) == 0) {
                args = {"/dev/pipes/" + c.cmdline.files[0].name};
              } else {
                args = {data};
              }
            } else if (!args.empty()) {
              std::string b = args[0];
              for (const Heredoc& h : c.cmdline.files) b += "\n" + h.content + h.name;
              args = {b};
            }
          }
          if (c.cmdline.prepend_shell) args = WithShell(cfg, args);
          step.args = std::move(args);
          step.env = EnvList(s->env);
          std::vector<std::string> keys;
          for (const auto& [k, v] : s->build_args) {
            auto cur = s->env.Get(k);
            std::string val = cur ? std::string(*cur) : v.value_or("");
            auto it = std::find(keys.begin(), keys.end(), k);
            if (it != keys.end()) {
              step.build_args[it - keys.begin()] = k + "=" + val;
            } else {
              keys.push_back(k);
              step.build_args.push_back(k + "=" + val);
            }
          }
          for (const auto& [k, v] : opt_.build_args) {
            if (IsProxyArg(k)) step.proxy_env.push_back(k + "=" + v);
          }
        } else if constexpr (std::is_same_v<T, CmdCommand>) {
          std::vector<std::string> args = c.cmdline.args;
          if (c.cmdline.prepend_shell) args = WithShell(cfg, args);
          // `CMD []` leaves a nil list in BuildKit: the image has no Cmd.
          if (args.empty()) {
            cfg.cmd.reset();
          } else {
            cfg.cmd = args;
          }
          cfg.args_escaped = true;
          s->cmd_set = true;
          step.args = std::move(args);
        } else if constexpr (std::is_same_v<T, EntrypointCommand>) {
          std::vector<std::string> args = c.cmdline.args;
          if (c.cmdline.prepend_shell) args = WithShell(cfg, args);
          if (args.empty()) {
            cfg.entrypoint.reset();
          } else {
            cfg.entrypoint = args;
          }
          if (!s->cmd_set) cfg.cmd.reset();
          step.args = std::move(args);
        } else if constexpr (std::is_same_v<T, HealthcheckCommand>) {
          cfg.healthcheck = HealthConfig{
              c.test,   c.interval_ns, c.timeout_ns, c.start_period_ns, c.start_interval_ns,
              c.retries};
        } else if constexpr (std::is_same_v<T, ShellCommand>) {
          cfg.shell = c.shell;
        } else if constexpr (std::is_same_v<T, OnbuildCommand>) {
          cfg.on_build.push_back(c.expression);
        }
        return Ok();
      },
      ins.command);
  STRATA_TRY(located(std::move(st)));
  for (const State* src : pc.sources) {
    Source so;
    if (src->index >= 0) {
      so.stage = src->index;
    } else {
      so.image = src->base_name == "scratch" ? "scratch" : src->ref;
    }
    step.sources.push_back(std::move(so));
  }
  s->steps.push_back(std::move(step));
  return Ok();
}

Result<Plan> Planner::Run() {
  build_platform_ = opt_.build_platform.value_or(HostPlatform());
  target_platform_ = opt_.target_platform.value_or(build_platform_);
  STRATA_TRY(GlobalArgs());
  STRATA_TRY(CreateStates());
  // resolveTarget
  State* target = states_.back().get();
  if (!opt_.target.empty()) {
    target = FindByName(opt_.target);
    if (!target) {
      std::vector<std::string> names;
      for (const auto& s : states_) {
        if (!s->stage_name.empty()) names.push_back(s->stage_name);
      }
      return Fail(0,
                  WithSuggestion("target stage " + go::Quote(opt_.target) + " could not be found",
                                 opt_.target, names, true));
    }
  }
  STRATA_TRY(DependencyGraph());
  // Reachable stages and their ONBUILD triggers: a trigger may read another stage or image, so
  // repeat until nothing new becomes reachable (resolveStages); then dispatch in file order.
  std::set<State*> reachable;
  std::function<void(State*)> add = [&](State* s) {
    if (!reachable.insert(s).second) return;
    if (s->base) add(s->base);
    for (auto& [d, line] : s->deps) add(d);
  };
  for (;;) {
    reachable.clear();
    add(target);
    STRATA_TRY(ResolveImages(reachable));
    size_t before = reachable.size();
    for (auto& sp : states_) {
      if (reachable.count(sp.get())) STRATA_TRY(InitTriggers(sp.get()));
    }
    reachable.clear();
    add(target);
    if (reachable.size() == before) break;
  }
  for (auto& sp : states_) {
    if (reachable.count(sp.get())) STRATA_TRY(Dispatch(sp.get()));
  }

  Plan plan;
  plan.build_platform = build_platform_;
  plan.target_platform = target_platform_;
  plan.global_args = global_args_;
  plan.target = target->index;
  for (auto& sp : states_) {
    State* s = sp.get();
    PlanStage ps;
    ps.index = s->index;
    ps.name = s->stage_name;
    ps.line = s->line;
    ps.needed = reachable.count(s) > 0;
    if (s->base) {
      ps.base.kind = StageBase::Kind::kStage;
      ps.base.stage = s->base->index;
      ps.deps.push_back(s->base->index);
    } else if (s->base_name == "scratch") {
      ps.base.kind = StageBase::Kind::kScratch;
    } else {
      ps.base.kind = StageBase::Kind::kImage;
      ps.base.ref = s->ref;
    }
    ps.base.name = s->base_name;
    ps.platform = s->platform.value_or(target_platform_);
    for (const auto& [d, line] : s->deps) {
      if (d->index >= 0) {
        ps.deps.push_back(d->index);
      } else if (d->base_name != "scratch" && std::find(ps.image_deps.begin(), ps.image_deps.end(),
                                                        d->ref) == ps.image_deps.end()) {
        ps.image_deps.push_back(d->ref);
      }
    }
    std::sort(ps.deps.begin(), ps.deps.end());
    ps.deps.erase(std::unique(ps.deps.begin(), ps.deps.end()), ps.deps.end());
    ps.steps = std::move(s->steps);
    ps.config = std::move(s->config);
    if (ps.needed) plan.order.push_back(ps.index);
    plan.stages.push_back(std::move(ps));
  }
  std::vector<std::string> unused;
  for (const auto& [k, v] : opt_.build_args) {
    if (!declared_args_.count(k) && !IsProxyArg(k)) unused.push_back(k);
  }
  if (!unused.empty()) {
    std::string list;
    for (size_t i = 0; i < unused.size(); ++i) list += (i ? " " : "") + unused[i];
    warnings_.push_back({0, "[Warning] One or more build-args [" + list + "] were not consumed"});
  }
  plan.warnings = std::move(warnings_);
  return plan;
}

// ---- dump ----

std::string Indent(const std::string& text, const std::string& prefix) {
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    size_t nl = text.find('\n', i);
    if (nl == std::string::npos) nl = text.size();
    out += prefix;
    out.append(text, i, nl - i);
    out += '\n';
    i = nl + 1;
  }
  return out;
}

std::string QuoteList(const std::vector<std::string>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out += ", ";
    out += go::Quote(v[i]);
  }
  return out + "]";
}

}  // namespace

std::string Platform::ToString() const {
  std::string s = os + "/" + architecture;
  if (!variant.empty()) s += "/" + variant;
  return s;
}

Result<Platform> ParsePlatform(std::string_view spec) {
  std::string sp(spec);
  auto invalid = [&](const std::string& why) {
    return InvalidArgument(why + ": invalid argument");
  };
  if (sp.find('*') != std::string::npos) {
    return invalid(go::Quote(sp) + ": wildcards not yet supported");
  }
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t sl = sp.find('/', start);
    parts.push_back(sp.substr(start, sl == std::string::npos ? sl : sl - start));
    if (sl == std::string::npos) break;
    start = sl + 1;
  }
  for (const std::string& p : parts) {
    bool ok = !p.empty() && std::all_of(p.begin(), p.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             c == '_' || c == '-';
    });
    if (!ok) {
      return invalid(go::Quote(p) + " is an invalid component of " + go::Quote(sp) +
                     ": platform specifier component must match \"^[A-Za-z0-9_.-]+$\"");
    }
  }
  Platform host = HostPlatform();
  Platform p;
  if (parts.size() == 1) {
    std::string os = NormalizeOS(parts[0]);
    if (KnownOS(os)) {
      p.os = os;
      p.architecture = host.architecture;
      p.variant = host.variant;
      return p;
    }
    std::string arch = parts[0], variant;
    NormalizeArch(&arch, &variant);
    if (KnownArch(arch)) {
      p.os = "linux";
      p.architecture = arch;
      p.variant = variant;
      return p;
    }
    return invalid(go::Quote(sp) + ": unknown operating system or architecture");
  }
  if (parts.size() > 3) return invalid(go::Quote(sp) + ": cannot parse platform specifier");
  p.os = NormalizeOS(parts[0]);
  p.architecture = parts[1];
  if (parts.size() == 3) p.variant = parts[2];
  NormalizeArch(&p.architecture, &p.variant);
  return p;
}

Platform HostPlatform() {
  struct utsname u;
  std::string machine = "x86_64";
  if (uname(&u) == 0) machine = u.machine;
  Platform p{"linux", machine, ""};
  NormalizeArch(&p.architecture, &p.variant);
  return p;
}

Result<Plan> MakePlan(const Dockerfile& df, const PlanOptions& options, PlanError* error_detail) {
  if (df.stages.empty()) {
    return At(0, "dockerfile contains no stages to build", error_detail, options.filename);
  }
  Planner p(df, options, error_detail);
  return p.Run();
}

Result<Plan> PlanDockerfile(std::string_view text, const PlanOptions& options,
                            PlanError* error_detail) {
  ParseError pe;
  auto df = ParseDockerfile(text, &pe);
  if (!df) {
    if (text.empty()) {
      return At(0, "the Dockerfile cannot be empty", error_detail, options.filename);
    }
    return At(pe.line, pe.message, error_detail, options.filename);
  }
  return MakePlan(*df, options, error_detail);
}

std::string DumpPlan(const Plan& plan) {
  std::string out;
  out += "build-platform " + plan.build_platform.ToString() + "\n";
  out += "target-platform " + plan.target_platform.ToString() + "\n";
  const PlanStage& t = plan.stages[plan.target];
  out += "target " + std::to_string(t.index);
  if (!t.name.empty()) out += " " + go::Quote(t.name);
  out += "\n";
  out += "order [";
  for (size_t i = 0; i < plan.order.size(); ++i)
    out += (i ? ", " : "") + std::to_string(plan.order[i]);
  out += "]\n";
  for (const KeyValue& kv : plan.global_args) {
    out += "global-arg " + go::Quote(kv.key) + " = " + go::Quote(kv.value) + "\n";
  }
  for (const PlanWarning& w : plan.warnings) {
    out += "warning";
    if (w.line) out += " L" + std::to_string(w.line);
    out += " " + go::Quote(w.message) + "\n";
  }
  for (const PlanStage& s : plan.stages) {
    out += "stage " + std::to_string(s.index);
    if (!s.name.empty()) out += " " + go::Quote(s.name);
    out += " L" + std::to_string(s.line);
    out += s.needed ? "\n" : " (not needed)\n";
    switch (s.base.kind) {
      case StageBase::Kind::kScratch:
        out += "  base scratch\n";
        break;
      case StageBase::Kind::kImage:
        out += "  base image " + go::Quote(s.base.name) + " ref " + go::Quote(s.base.ref) + "\n";
        break;
      case StageBase::Kind::kStage:
        out += "  base stage " + std::to_string(s.base.stage) + "\n";
        break;
    }
    out += "  platform " + s.platform.ToString() + "\n";
    if (!s.deps.empty() || !s.image_deps.empty()) {
      out += "  deps [";
      for (size_t i = 0; i < s.deps.size(); ++i) out += (i ? ", " : "") + std::to_string(s.deps[i]);
      out += "]";
      if (!s.image_deps.empty()) out += " images " + QuoteList(s.image_deps);
      out += "\n";
    }
    if (!s.needed) continue;
    for (const Step& st : s.steps) {
      std::string head = DumpInstruction(st.instruction);
      if (st.from_onbuild) {
        size_t nl = head.find('\n');
        head.insert(nl, " (onbuild)");
      }
      out += Indent(head, "  ");
      if (!st.args.empty()) out += "    argv: " + QuoteList(st.args) + "\n";
      if (std::holds_alternative<RunCommand>(st.instruction.command)) {
        out += "    env: " + QuoteList(st.env) + "\n";
        if (!st.build_args.empty()) out += "    build-args: " + QuoteList(st.build_args) + "\n";
        if (!st.proxy_env.empty()) out += "    proxy: " + QuoteList(st.proxy_env) + "\n";
        out += "    workdir: " + go::Quote(st.workdir) + " user: " + go::Quote(st.user) + "\n";
      }
      if (!st.used_vars.empty()) {
        out += "    used: " +
               QuoteList(std::vector<std::string>(st.used_vars.begin(), st.used_vars.end())) + "\n";
      }
      for (const Source& so : st.sources) {
        out += "    source: ";
        out += so.stage >= 0 ? "stage " + std::to_string(so.stage) : "image " + go::Quote(so.image);
        out += "\n";
      }
    }
    out += "  config\n";
    out += Indent(ConfigToJson(s.config, 2), "    ");
    if (!s.config.author.empty()) out += "  author " + go::Quote(s.config.author) + "\n";
  }
  return out;
}

}  // namespace strata::dockerfile
