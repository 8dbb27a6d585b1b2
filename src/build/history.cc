#include "build/history.h"

#include <map>
#include <type_traits>
#include <variant>

#include "build/dockerfile/go_compat.h"
#include "build/dockerfile/plan_values.h"

namespace strata::build {
namespace {

using namespace dockerfile;

// fmt's %q of a []string: ["a" "b"].
std::string QuotedList(const std::vector<std::string>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out += ' ';
    out += go::Quote(v[i]);
  }
  return out + "]";
}

// fmt's %v of a []string: [a b].
std::string PlainList(const std::vector<std::string>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out += ' ';
    out += v[i];
  }
  return out + "]";
}

// fmt's %q of an int is strconv.QuoteRune: 'A', '\x04', '\n'.
std::string QuoteRune(int r) {
  switch (r) {
    case '\a':
      return "'\\a'";
    case '\b':
      return "'\\b'";
    case '\f':
      return "'\\f'";
    case '\n':
      return "'\\n'";
    case '\r':
      return "'\\r'";
    case '\t':
      return "'\\t'";
    case '\v':
      return "'\\v'";
    case '\\':
      return "'\\\\'";
    case '\'':
      return "'\\''";
    default:
      break;
  }
  char buf[16];
  if (r >= 0x20 && r < 0x7f) {
    snprintf(buf, sizeof buf, "'%c'", r);
  } else if (r < 0x80) {
    snprintf(buf, sizeof buf, "'\\x%02x'", r);
  } else {
    std::string s = "'";
    go::AppendRune(&s, static_cast<uint32_t>(r));
    return s + "'";
  }
  return buf;
}

std::string SourcesAndDest(const dockerfile::SourcesAndDest& f) {
  std::string out;
  for (const auto& s : f.source_paths) out += s + " ";
  for (const auto& c : f.source_contents) out += c.path + " ";
  return out + f.dest;
}

}  // namespace

std::string WorkdirAfter(const Step& step) {
  const auto* w = std::get_if<WorkdirCommand>(&step.instruction.command);
  if (!w) return step.workdir;
  auto r = NormalizeWorkdir(step.workdir.empty() ? "/" : step.workdir, w->path);
  return r ? *r : w->path;
}

bool ChangesFilesystem(const Step& step) {
  return std::holds_alternative<RunCommand>(step.instruction.command) ||
         std::holds_alternative<CopyCommand>(step.instruction.command) ||
         std::holds_alternative<AddCommand>(step.instruction.command) ||
         std::holds_alternative<WorkdirCommand>(step.instruction.command);
}

std::string CreatedBy(const Step& step) {
  return std::visit(
      [&](const auto& c) -> std::string {
        using T = std::decay_t<decltype(c)>;
        if constexpr (std::is_same_v<T, RunCommand>) {
          std::string out = "RUN ";
          if (!step.build_args.empty()) {
            out += "|" + std::to_string(step.build_args.size()) + " ";
            for (const auto& a : step.build_args) out += a + " ";
          }
          for (size_t i = 0; i < step.args.size(); ++i) out += (i ? " " : "") + step.args[i];
          return out + " # buildkit";
        } else if constexpr (std::is_same_v<T, CopyCommand>) {
          return "COPY " + SourcesAndDest(c.files) + " # buildkit";
        } else if constexpr (std::is_same_v<T, AddCommand>) {
          return "ADD " + SourcesAndDest(c.files) + " # buildkit";
        } else if constexpr (std::is_same_v<T, WorkdirCommand>) {
          return "WORKDIR " + WorkdirAfter(step);
        } else if constexpr (std::is_same_v<T, EnvCommand>) {
          std::string out = "ENV";
          for (const auto& kv : c.env) out += " " + kv.key + "=" + kv.value;
          return out;
        } else if constexpr (std::is_same_v<T, LabelCommand>) {
          std::string out = "LABEL";
          for (const auto& kv : c.labels) out += " " + kv.key + "=" + kv.value;
          return out;
        } else if constexpr (std::is_same_v<T, MaintainerCommand>) {
          return "MAINTAINER " + c.maintainer;
        } else if constexpr (std::is_same_v<T, ExposeCommand>) {
          // A Go map[nat.Port]struct{} printed with %v: keys sorted, "k:{}".
          std::map<std::string, bool> ports;
          for (const auto& p : c.ports) {
            if (auto expanded = ParsePortSpec(p)) {
              for (const auto& e : *expanded) ports[e] = true;
            } else {
              ports[p] = true;
            }
          }
          std::string out = "EXPOSE map[";
          bool first = true;
          for (const auto& [p, _] : ports) {
            out += (first ? "" : " ") + p + ":{}";
            first = false;
          }
          return out + "]";
        } else if constexpr (std::is_same_v<T, UserCommand>) {
          return "USER " + c.user;
        } else if constexpr (std::is_same_v<T, VolumeCommand>) {
          return "VOLUME " + PlainList(c.volumes);
        } else if constexpr (std::is_same_v<T, StopSignalCommand>) {
          return "STOPSIGNAL " + c.signal;
        } else if constexpr (std::is_same_v<T, ShellCommand>) {
          return "SHELL " + PlainList(c.shell);
        } else if constexpr (std::is_same_v<T, CmdCommand> ||
                             std::is_same_v<T, EntrypointCommand>) {
          std::vector<std::string> args = step.args;
          return std::string(std::is_same_v<T, CmdCommand> ? "CMD " : "ENTRYPOINT ") +
                 QuotedList(args);
        } else if constexpr (std::is_same_v<T, HealthcheckCommand>) {
          // %q of a *container.HealthConfig{Test, Interval, Timeout, StartPeriod, Retries}.
          return "HEALTHCHECK &{" + QuotedList(c.test) + " " +
                 go::Quote(go::FormatDuration(c.interval_ns)) + " " +
                 go::Quote(go::FormatDuration(c.timeout_ns)) + " " +
                 go::Quote(go::FormatDuration(c.start_period_ns)) + " " + QuoteRune(c.retries) +
                 "}";
        } else if constexpr (std::is_same_v<T, ArgCommand>) {
          std::string out = "ARG";
          for (const auto& a : c.args) out += " " + a.key + (a.value ? "=" + *a.value : "");
          return out;
        } else if constexpr (std::is_same_v<T, OnbuildCommand>) {
          return "ONBUILD " + c.expression;
        } else {
          return step.instruction.original;
        }
      },
      step.instruction.command);
}

}  // namespace strata::build
