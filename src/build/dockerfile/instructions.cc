#include "build/dockerfile/instructions.h"

#include <algorithm>
#include <map>

#include "build/dockerfile/go_compat.h"
#include "build/dockerfile/suggest.h"
#include "util/csv.h"
#include "util/human.h"

namespace strata::dockerfile {

namespace {

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool EqualFold(std::string_view a, std::string_view b) { return Lower(a) == Lower(b); }

// BuildKit's BFlags: the flags an instruction accepts, declared before Parse() reads the
// node's `--name[=value]` words.
class Flags {
 public:
  explicit Flags(const std::vector<std::string>& args) : args_(args) {}

  enum class Type { kBool, kString, kStrings };
  struct Flag {
    Type type;
    std::string value;
    std::vector<std::string> values;
    bool used = false;
  };

  Flag* AddBool(const std::string& name, bool def) {
    Flag* f = Add(name, Type::kBool);
    f->value = def ? "true" : "false";
    return f;
  }
  Flag* AddString(const std::string& name, std::string def) {
    Flag* f = Add(name, Type::kString);
    f->value = std::move(def);
    return f;
  }
  Flag* AddStrings(const std::string& name) { return Add(name, Type::kStrings); }

  Status Parse() {
    for (const std::string& a : args_) {
      if (a == "--") return Ok();
      if (a.rfind("--", 0) != 0) return InvalidArgument("arg should start with -- : " + a);
      size_t eq = a.find('=');
      bool has_value = eq != std::string::npos;
      std::string flag_name = a.substr(0, eq);
      std::string value = has_value ? a.substr(eq + 1) : "";
      std::string name = flag_name.substr(2);
      auto it = std::find_if(flags_.begin(), flags_.end(),
                             [&](const auto& p) { return p.first == name; });
      if (it == flags_.end()) {
        std::vector<std::string> names;
        for (const auto& p : flags_) names.push_back(p.first);
        return InvalidArgument(
            WithSuggestion("unknown flag: " + flag_name, name, names, /*case_sensitive=*/true));
      }
      Flag& f = *it->second;
      if (f.used && f.type != Type::kStrings) {
        return InvalidArgument("duplicate flag specified: " + flag_name);
      }
      f.used = true;
      switch (f.type) {
        case Type::kBool: {
          if (has_value && value.empty()) {
            return InvalidArgument("missing a value on flag: " + flag_name);
          }
          std::string lower = Lower(value);
          if (lower == "true" || lower.empty()) {
            f.value = "true";
          } else if (lower == "false") {
            f.value = "false";
          } else {
            return InvalidArgument("expecting boolean value for flag " + flag_name +
                                   ", not: " + value);
          }
          break;
        }
        case Type::kString:
          if (!has_value) return InvalidArgument("missing a value on flag: " + flag_name);
          f.value = value;
          break;
        case Type::kStrings:
          if (!has_value) return InvalidArgument("missing a value on flag: " + flag_name);
          f.values.push_back(value);
          break;
      }
    }
    return Ok();
  }

  std::vector<std::string> Used() const {
    std::vector<std::string> out;
    for (const auto& p : flags_) {
      if (p.second->used) out.push_back(p.first);
    }
    return out;
  }

 private:
  Flag* Add(const std::string& name, Type type) {
    flags_.emplace_back(name, std::make_unique<Flag>());
    flags_.back().second->type = type;
    return flags_.back().second.get();
  }

  const std::vector<std::string>& args_;
  std::vector<std::pair<std::string, std::unique_ptr<Flag>>> flags_;
};

Error Err(std::string m) { return InvalidArgument(std::move(m)); }
Error AtLeastOne(std::string_view cmd) {
  return Err(std::string(cmd) + " requires at least one argument");
}
Error ExactlyOne(std::string_view cmd) {
  return Err(std::string(cmd) + " requires exactly one argument");
}
Error NoDestination(std::string_view cmd) {
  return Err(std::string(cmd) +
             " requires at least two arguments, but only one was provided. Destination could "
             "not be determined");
}

// BuildKit's handleJSONArgs: exec form keeps the elements, shell form joins them with spaces.
std::vector<std::string> JsonArgs(const std::vector<std::string>& args, bool json) {
  if (args.empty()) return {};
  if (json) return args;
  std::string joined;
  for (size_t i = 0; i < args.size(); ++i) {
    if (i) joined += ' ';
    joined += args[i];
  }
  return {joined};
}

CommandLine ShellDependent(const Node& node) {
  CommandLine c;
  c.args = JsonArgs(node.args, node.json);
  c.prepend_shell = !node.json;
  c.files = node.heredocs;
  return c;
}

Result<std::vector<KeyValue>> Kvps(const std::vector<std::string>& args, std::string_view cmd) {
  if (args.empty()) return AtLeastOne(cmd);
  if (args.size() % 2 != 0) return Err("Bad input to " + std::string(cmd) + ", too many arguments");
  std::vector<KeyValue> out;
  for (size_t i = 0; i < args.size(); i += 2) {
    if (args[i].empty()) return Err(std::string(cmd) + " names can not be blank");
    out.push_back({args[i], args[i + 1]});
  }
  return out;
}

std::string GetComment(const std::vector<std::string>& comments, const std::string& name) {
  if (name.empty()) return "";
  for (const std::string& line : comments) {
    if (line.rfind(name + " ", 0) == 0) return line.substr(name.size() + 1);
  }
  return "";
}

Result<SourcesAndDest> ParseSourcesAndDest(const Node& node, std::string_view cmd) {
  SourcesAndDest sd;
  sd.dest = node.args.back();
  Heredoc marker;
  if (ParseHeredocMarker(sd.dest, &marker)) {
    return Err(std::string(cmd) + " cannot accept a heredoc as a destination");
  }
  for (size_t i = 0; i + 1 < node.args.size(); ++i) {
    const std::string& src = node.args[i];
    if (ParseHeredocMarker(src, &marker)) {
      SourceContent sc;
      // BuildKit looks the body up by name; a marker with no body (a JSON-form source, or a
      // name given twice) gets the last body of that name or an empty one.
      const Heredoc* body = nullptr;
      for (const Heredoc& h : node.heredocs) {
        if (h.name == marker.name) body = &h;
      }
      if (body) {
        sc.data = body->content;
        if (marker.chomp) {
          Heredoc tmp = *body;
          tmp.chomp = true;
          sc.data = tmp.Data();
        }
      }
      sc.path = marker.name;
      sc.expand = marker.expand;
      sd.source_contents.push_back(std::move(sc));
    } else {
      sd.source_paths.push_back(src);
    }
  }
  return sd;
}

bool ValidStageName(std::string_view s) {
  // ^[a-z][a-z0-9-_.]*$
  if (s.empty() || !(s[0] >= 'a' && s[0] <= 'z')) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

Result<Command> ParseFrom(const Node& node, Flags& flags) {
  FromCommand c;
  const auto& a = node.args;
  if (a.size() == 3 && EqualFold(a[1], "as")) {
    c.stage_name = Lower(a[2]);
    if (!ValidStageName(c.stage_name)) {
      return Err("invalid name for build stage: " + go::Quote(a[2]) +
                 ", name can't start with a number or contain symbols");
    }
  } else if (a.size() != 1) {
    return Err("FROM requires either one or three arguments");
  }
  auto* platform = flags.AddString("platform", "");
  STRATA_TRY(flags.Parse());
  c.base_name = a[0];
  c.platform = platform->value;
  c.comment = GetComment(node.comments, c.stage_name);
  return Command(std::move(c));
}

Result<int64_t> OptInterval(const Flags::Flag* f, std::string_view name) {
  if (f->value.empty()) return int64_t{0};
  STRATA_ASSIGN_OR_RETURN(int64_t d, go::ParseDuration(f->value));
  if (d == 0) return int64_t{0};
  if (d < 1000000) {  // container.MinimumDuration = 1ms
    return Err("Interval " + go::Quote(name) + " cannot be less than 1ms");
  }
  return d;
}

Result<Command> ParseHealthcheck(const Node& node, Flags& flags) {
  if (node.args.empty()) return AtLeastOne("HEALTHCHECK");
  HealthcheckCommand c;
  std::string type = Upper(node.args[0]);
  std::vector<std::string> args(node.args.begin() + 1, node.args.end());
  if (type == "NONE") {
    // BuildKit does not parse the flags of HEALTHCHECK NONE.
    if (!args.empty()) return Err("HEALTHCHECK NONE takes no arguments");
    c.test = {type};
    return Command(std::move(c));
  }
  auto* interval = flags.AddString("interval", "");
  auto* timeout = flags.AddString("timeout", "");
  auto* start_period = flags.AddString("start-period", "");
  auto* start_interval = flags.AddString("start-interval", "");
  auto* retries = flags.AddString("retries", "");
  STRATA_TRY(flags.Parse());
  if (type != "CMD") return Err("Unknown type " + go::Quote(type) + " in HEALTHCHECK (try CMD)");
  std::vector<std::string> cmd = JsonArgs(args, node.json);
  if (cmd.empty()) return Err("Missing command after HEALTHCHECK CMD");
  c.test.push_back(node.json ? "CMD" : "CMD-SHELL");
  c.test.insert(c.test.end(), cmd.begin(), cmd.end());
  STRATA_ASSIGN_OR_RETURN(c.interval_ns, OptInterval(interval, "interval"));
  STRATA_ASSIGN_OR_RETURN(c.timeout_ns, OptInterval(timeout, "timeout"));
  STRATA_ASSIGN_OR_RETURN(c.start_period_ns, OptInterval(start_period, "start-period"));
  STRATA_ASSIGN_OR_RETURN(c.start_interval_ns, OptInterval(start_interval, "start-interval"));
  if (!retries->value.empty()) {
    STRATA_ASSIGN_OR_RETURN(int64_t r, go::ParseInt(retries->value, 32));
    if (r < 0) return Err("--retries cannot be negative (" + std::to_string(r) + ")");
    c.retries = static_cast<int>(r);
  }
  return Command(std::move(c));
}

Result<Command> ParseRun(const Node& node, Flags& flags) {
  RunCommand c;
  auto* mounts = flags.AddStrings("mount");
  auto* network = flags.AddString("network", "default");
  auto* security = flags.AddString("security", "sandbox");
  STRATA_TRY(flags.Parse());
  c.flags_used = flags.Used();
  c.cmdline = ShellDependent(node);
  for (const std::string& m : mounts->values) {
    STRATA_ASSIGN_OR_RETURN(Mount mount, ParseMount(m));
    c.mounts.push_back(std::move(mount));
  }
  if (network->value != "default" && network->value != "none" && network->value != "host") {
    return Err("unsupported network mode " + go::Quote(network->value));
  }
  c.network = network->value;
  if (security->value != "sandbox" && security->value != "insecure") {
    return Err("unsupported security mode " + go::Quote(security->value));
  }
  c.security = security->value;
  return Command(std::move(c));
}

Result<Command> ParseAdd(const Node& node, Flags& flags) {
  if (node.args.size() < 2) return NoDestination("ADD");
  auto* exclude = flags.AddStrings("exclude");
  auto* chown = flags.AddString("chown", "");
  auto* chmod = flags.AddString("chmod", "");
  auto* link = flags.AddBool("link", false);
  auto* keep_git_dir = flags.AddBool("keep-git-dir", false);
  auto* checksum = flags.AddString("checksum", "");
  auto* unpack = flags.AddBool("unpack", false);
  STRATA_TRY(flags.Parse());
  AddCommand c;
  STRATA_ASSIGN_OR_RETURN(c.files, ParseSourcesAndDest(node, "ADD"));
  c.chown = chown->value;
  c.chmod = chmod->value;
  c.checksum = checksum->value;
  c.link = link->value == "true";
  c.keep_git_dir = keep_git_dir->value == "true";
  if (unpack->used) c.unpack = unpack->value == "true";
  c.excludes = exclude->values;
  return Command(std::move(c));
}

Result<Command> ParseCopy(const Node& node, Flags& flags) {
  if (node.args.size() < 2) return NoDestination("COPY");
  auto* exclude = flags.AddStrings("exclude");
  auto* parents = flags.AddBool("parents", false);
  auto* chown = flags.AddString("chown", "");
  auto* from = flags.AddString("from", "");
  auto* chmod = flags.AddString("chmod", "");
  auto* link = flags.AddBool("link", false);
  STRATA_TRY(flags.Parse());
  CopyCommand c;
  STRATA_ASSIGN_OR_RETURN(c.files, ParseSourcesAndDest(node, "COPY"));
  c.from = from->value;
  c.chown = chown->value;
  c.chmod = chmod->value;
  c.link = link->value == "true";
  c.parents = parents->value == "true";
  c.excludes = exclude->values;
  return Command(std::move(c));
}

Result<Command> ParseOnbuild(const Node& node, Flags& flags) {
  if (node.args.empty()) return AtLeastOne("ONBUILD");
  STRATA_TRY(flags.Parse());
  std::string trigger = Upper(go::TrimSpace(node.args[0]));
  if (trigger == "ONBUILD") return Err("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
  if (trigger == "MAINTAINER" || trigger == "FROM") {
    return Err(trigger + " isn't allowed as an ONBUILD trigger");
  }
  OnbuildCommand c;
  // (?i)^\s*ONBUILD\s* removed from the original line; heredoc bodies are appended so the
  // trigger can be parsed again in the child build.
  std::string_view orig = node.original;
  auto re_space = [](char ch) {
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\f' || ch == '\r';
  };
  size_t i = 0;
  while (i < orig.size() && re_space(orig[i])) ++i;
  if (EqualFold(orig.substr(i, 7), "onbuild")) {
    i += 7;
    while (i < orig.size() && re_space(orig[i])) ++i;
    orig = orig.substr(i);
  }
  c.expression = std::string(orig);
  for (const Heredoc& h : node.heredocs) c.expression += "\n" + h.content + h.name;
  c.trigger = node.trigger;
  return Command(std::move(c));
}

Result<Command> ParseArg(const Node& node, Flags& flags) {
  if (node.args.empty()) return AtLeastOne("ARG");
  STRATA_TRY(flags.Parse());
  ArgCommand c;
  for (const std::string& a : node.args) {
    ArgDef def;
    size_t eq = a.find('=');
    if (eq != std::string::npos) {
      if (eq == 0) return Err("ARG names can not be blank");
      def.key = a.substr(0, eq);
      def.value = a.substr(eq + 1);
    } else {
      def.key = a;
    }
    def.comment = GetComment(node.comments, def.key);
    c.args.push_back(std::move(def));
  }
  return Command(std::move(c));
}

Result<Command> Dispatch(const Node& node, Flags& flags, bool* expands) {
  const std::string& n = node.instruction;
  *expands = false;
  if (n == "env") {
    *expands = true;
    STRATA_TRY(flags.Parse());
    STRATA_ASSIGN_OR_RETURN(auto env, Kvps(node.args, "ENV"));
    return Command(EnvCommand{std::move(env)});
  }
  if (n == "maintainer") {
    if (node.args.size() != 1) return ExactlyOne("MAINTAINER");
    STRATA_TRY(flags.Parse());
    return Command(MaintainerCommand{node.args[0]});
  }
  if (n == "label") {
    *expands = true;
    STRATA_TRY(flags.Parse());
    STRATA_ASSIGN_OR_RETURN(auto labels, Kvps(node.args, "LABEL"));
    return Command(LabelCommand{std::move(labels)});
  }
  if (n == "add") {
    *expands = true;
    return ParseAdd(node, flags);
  }
  if (n == "copy") {
    *expands = true;
    return ParseCopy(node, flags);
  }
  if (n == "from") {
    *expands = true;
    return ParseFrom(node, flags);
  }
  if (n == "onbuild") return ParseOnbuild(node, flags);
  if (n == "workdir") {
    *expands = true;
    if (node.args.size() != 1) return ExactlyOne("WORKDIR");
    STRATA_TRY(flags.Parse());
    return Command(WorkdirCommand{node.args[0]});
  }
  if (n == "run") return ParseRun(node, flags);
  if (n == "cmd") {
    STRATA_TRY(flags.Parse());
    return Command(CmdCommand{ShellDependent(node)});
  }
  if (n == "healthcheck") return ParseHealthcheck(node, flags);
  if (n == "entrypoint") {
    STRATA_TRY(flags.Parse());
    return Command(EntrypointCommand{ShellDependent(node)});
  }
  if (n == "expose") {
    *expands = true;
    if (node.args.empty()) return AtLeastOne("EXPOSE");
    STRATA_TRY(flags.Parse());
    ExposeCommand c{node.args};
    std::sort(c.ports.begin(), c.ports.end());
    return Command(std::move(c));
  }
  if (n == "user") {
    *expands = true;
    if (node.args.size() != 1) return ExactlyOne("USER");
    STRATA_TRY(flags.Parse());
    return Command(UserCommand{node.args[0]});
  }
  if (n == "volume") {
    *expands = true;
    if (node.args.empty()) return AtLeastOne("VOLUME");
    STRATA_TRY(flags.Parse());
    VolumeCommand c;
    for (const std::string& v : node.args) {
      std::string_view t = go::TrimSpace(v);
      if (t.empty()) return Err("VOLUME specified can not be an empty string");
      c.volumes.emplace_back(t);
    }
    return Command(std::move(c));
  }
  if (n == "stopsignal") {
    *expands = true;
    // BuildKit does not parse STOPSIGNAL's flags.
    if (node.args.size() != 1) return ExactlyOne("STOPSIGNAL");
    return Command(StopSignalCommand{node.args[0]});
  }
  if (n == "arg") {
    *expands = true;
    return ParseArg(node, flags);
  }
  if (n == "shell") {
    STRATA_TRY(flags.Parse());
    std::vector<std::string> shell = JsonArgs(node.args, node.json);
    if (shell.empty()) return AtLeastOne("SHELL");
    if (!node.json) return Err("SHELL requires the arguments to be in JSON form");
    return Command(ShellCommand{std::move(shell)});
  }
  static const std::vector<std::string> kNames = {
      "ADD",    "ARG",   "CMD",         "COPY",  "ENTRYPOINT", "ENV",
      "EXPOSE", "FROM",  "HEALTHCHECK", "LABEL", "MAINTAINER", "ONBUILD",
      "RUN",    "SHELL", "STOPSIGNAL",  "USER",  "VOLUME",     "WORKDIR"};
  return Err(WithSuggestion("unknown instruction: " + node.keyword, node.keyword, kNames,
                            /*case_sensitive=*/false));
}

Error Located(const Node& node, Error e, ParseError* detail) {
  ParseError pe{node.start_line, node.end_line, std::move(e.message)};
  Error out{e.code, FormatParseError(pe)};
  if (detail) *detail = std::move(pe);
  return out;
}

}  // namespace

std::string_view MountTypeName(MountType t) {
  switch (t) {
    case MountType::kBind:
      return "bind";
    case MountType::kCache:
      return "cache";
    case MountType::kTmpfs:
      return "tmpfs";
    case MountType::kSecret:
      return "secret";
    case MountType::kSsh:
      return "ssh";
  }
  return "bind";
}

Result<Mount> ParseMount(std::string_view spec, const WordExpander* expand) {
  STRATA_ASSIGN_OR_RETURN(std::vector<std::string> fields, ReadCsvRecord(spec, "csv mounts"));
  Mount m;
  m.spec = std::string(spec);
  bool ro_auto = true;
  auto unexpected = [&](const std::string& key) {
    return Err("unexpected key '" + key + "' for mount type '" +
               std::string(MountTypeName(m.type)) + "'");
  };
  auto invalid = [](const std::string& key, const std::string& value) {
    return Err("invalid value for " + key + ": " + value);
  };
  for (const std::string& field : fields) {
    size_t eq = field.find('=');
    std::string key = Lower(field.substr(0, eq));
    if (eq == std::string::npos) {
      if (key == "readonly" || key == "ro") {
        m.read_only = true;
        ro_auto = false;
        continue;
      }
      if (key == "readwrite" || key == "rw") {
        m.read_only = false;
        ro_auto = false;
        continue;
      }
      if (key == "required") {
        if (m.type != MountType::kSecret && m.type != MountType::kSsh) return unexpected(key);
        m.required = true;
        continue;
      }
      return Err("invalid field '" + field + "' must be a key=value pair");
    }
    std::string value = field.substr(eq + 1);
    if (expand) {
      STRATA_ASSIGN_OR_RETURN(value, (*expand)(value));
    } else if (key == "from") {
      // `\$.`: a variable here cannot be resolved when the stage graph is built.
      size_t d = value.find('$');
      if (d != std::string::npos && d + 1 < value.size()) {
        return Err("'from' doesn't support variable expansion, define alias stage instead");
      }
    } else if (value.find('$') != std::string::npos) {
      // Left for the plan step, which expands and calls ParseMount again.
      continue;
    }
    if (key == "type") {
      std::string v = Lower(value);
      if (v == "bind") {
        m.type = MountType::kBind;
      } else if (v == "cache") {
        m.type = MountType::kCache;
      } else if (v == "tmpfs") {
        m.type = MountType::kTmpfs;
      } else if (v == "secret") {
        m.type = MountType::kSecret;
      } else if (v == "ssh") {
        m.type = MountType::kSsh;
      } else {
        return Err(WithSuggestion("unsupported mount type " + go::Quote(value), value,
                                  {"bind", "cache", "tmpfs", "secret", "ssh"}, true));
      }
    } else if (key == "from") {
      m.from = value;
    } else if (key == "source" || key == "src") {
      m.source = value;
    } else if (key == "target" || key == "dst" || key == "destination") {
      m.target = value;
    } else if (key == "readonly" || key == "ro") {
      auto b = go::ParseBool(value);
      if (!b) return invalid(key, value);
      m.read_only = *b;
      ro_auto = false;
    } else if (key == "readwrite" || key == "rw") {
      auto b = go::ParseBool(value);
      if (!b) return invalid(key, value);
      m.read_only = !*b;
      ro_auto = false;
    } else if (key == "required") {
      if (m.type != MountType::kSecret && m.type != MountType::kSsh) return unexpected(key);
      auto b = go::ParseBool(value);
      if (!b) return invalid(key, value);
      m.required = *b;
    } else if (key == "size") {
      if (m.type != MountType::kTmpfs) return unexpected(key);
      auto size = RAMInBytes(value);
      if (!size) return invalid(key, value);
      m.size_limit = *size;
    } else if (key == "id") {
      m.cache_id = value;
    } else if (key == "sharing") {
      std::string v = Lower(value);
      if (v != "shared" && v != "private" && v != "locked") {
        return Err(WithSuggestion("unsupported sharing value " + go::Quote(value), value,
                                  {"shared", "private", "locked"}, true));
      }
      m.sharing = v;
    } else if (key == "mode") {
      auto mode = go::ParseUint(value, 8, 32);
      if (!mode) return Err("invalid value " + value + " for mode");
      m.mode = *mode;
    } else if (key == "uid" || key == "gid") {
      auto id = go::ParseUint(value, 10, 32);
      if (!id) return Err("invalid value " + value + " for " + key);
      (key == "uid" ? m.uid : m.gid) = *id;
    } else if (key == "env") {
      if (m.type != MountType::kSecret) return unexpected(key);
      m.env = value;
    } else {
      return Err(WithSuggestion(
          "unexpected key '" + key + "' in '" + field + "'", key,
          {"type", "from", "source", "target", "readonly", "id", "sharing", "required", "size",
           "mode", "uid", "gid", "src", "dst", "destination", "ro", "rw", "readwrite", "env"},
          true));
    }
  }
  bool file_info_allowed =
      m.type == MountType::kSecret || m.type == MountType::kSsh || m.type == MountType::kCache;
  std::string quoted_type = "\"" + std::string(MountTypeName(m.type)) + "\"";
  if (!file_info_allowed) {
    if (m.mode) return Err("mode not allowed for " + quoted_type + " type mounts");
    if (m.uid) return Err("uid not allowed for " + quoted_type + " type mounts");
    if (m.gid) return Err("gid not allowed for " + quoted_type + " type mounts");
  }
  if (ro_auto) m.read_only = !(m.type == MountType::kCache || m.type == MountType::kTmpfs);
  if (m.type == MountType::kSecret) {
    if (!m.from.empty()) return Err("secret mount should not have a from");
    if (!m.sharing.empty()) return Err("secret mount should not define sharing");
    // Without an expander, fields holding variables are not known yet.
    bool deferred = !expand && spec.find('$') != std::string_view::npos;
    if (!deferred && m.source.empty() && m.target.empty() && m.cache_id.empty() && !m.env) {
      return Err("invalid secret mount. one of source, target required");
    }
    if (!m.source.empty() && !m.cache_id.empty()) return Err("both source and id can't be set");
  }
  if (!m.sharing.empty() && m.type != MountType::kCache) {
    return Err("invalid cache sharing set for " + std::string(MountTypeName(m.type)) + " mount");
  }
  return m;
}

Result<Instruction> ParseInstruction(const Node& node, ParseError* error_detail) {
  Flags flags(node.flags);
  Instruction ins;
  ins.name = Upper(node.instruction);
  ins.original = node.original;
  ins.start_line = node.start_line;
  ins.end_line = node.end_line;
  auto cmd = Dispatch(node, flags, &ins.expands);
  if (!cmd) return Located(node, std::move(cmd).error(), error_detail);
  ins.command = std::move(cmd).value();
  return ins;
}

Result<Dockerfile> ParseInstructions(const ParseResult& parsed, ParseError* error_detail) {
  Dockerfile df;
  df.directives = parsed.directives;
  df.warnings = parsed.warnings;
  df.escape_token = parsed.escape_token;
  for (const Node& node : parsed.nodes) {
    STRATA_ASSIGN_OR_RETURN(Instruction ins, ParseInstruction(node, error_detail));
    if (std::holds_alternative<FromCommand>(ins.command)) {
      df.stages.push_back(Stage{std::move(ins), {}});
      // Instructions are large variants: size the stage once instead of regrowing it.
      size_t i = static_cast<size_t>(&node - parsed.nodes.data()) + 1;
      size_t n = 0;
      while (i + n < parsed.nodes.size() && parsed.nodes[i + n].instruction != "from") ++n;
      df.stages.back().commands.reserve(n);
      continue;
    }
    if (df.stages.empty()) {
      if (std::holds_alternative<ArgCommand>(ins.command)) {
        df.meta_args.push_back(std::move(ins));
        continue;
      }
      return Located(node, Err("no build stage in current context"), error_detail);
    }
    df.stages.back().commands.push_back(std::move(ins));
  }
  if (df.stages.empty()) {
    ParseError pe{0, 0, "dockerfile contains no stages to build"};
    Error err = Err(FormatParseError(pe));
    if (error_detail) *error_detail = std::move(pe);
    return err;
  }
  return df;
}

Result<Dockerfile> ParseDockerfile(std::string_view text, ParseError* error_detail) {
  STRATA_ASSIGN_OR_RETURN(ParseResult parsed, Parse(text, error_detail));
  return ParseInstructions(parsed, error_detail);
}

}  // namespace strata::dockerfile
