#include "build/dockerfile/dump.h"

#include "build/dockerfile/go_compat.h"

namespace strata::dockerfile {

namespace {

using go::Quote;

std::string List(const std::vector<std::string>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out += ", ";
    out += Quote(v[i]);
  }
  return out + "]";
}

std::string Lines(int start, int end) {
  std::string s = "L" + std::to_string(start);
  if (end != start) s += "-" + std::to_string(end);
  return s;
}

class Dumper {
 public:
  void Field(std::string_view name, std::string_view value) {
    out_ += "  ";
    out_ += name;
    out_ += ": ";
    out_ += value;
    out_ += '\n';
  }
  void Str(std::string_view name, const std::string& v) { Field(name, Quote(v)); }
  void StrIfSet(std::string_view name, const std::string& v) {
    if (!v.empty()) Str(name, v);
  }
  void Bool(std::string_view name, bool v) {
    if (v) Field(name, "true");
  }

  void CmdLine(const CommandLine& c) {
    Field(c.prepend_shell ? "shell" : "exec", List(c.args));
    Heredocs(c.files);
  }

  void Heredocs(const std::vector<Heredoc>& docs) {
    for (const Heredoc& h : docs) {
      std::string head = Quote(h.name) + " expand=" + (h.expand ? "true" : "false") +
                         " chomp=" + (h.chomp ? "true" : "false");
      if (h.fd) head += " fd=" + std::to_string(h.fd);
      Field("heredoc", head);
      Field("  content", Quote(h.content));
    }
  }

  void Files(const SourcesAndDest& f) {
    if (!f.source_paths.empty()) Field("sources", List(f.source_paths));
    for (const SourceContent& c : f.source_contents) {
      Field("inline",
            Quote(c.path) + " expand=" + (c.expand ? "true" : "false") + " data=" + Quote(c.data));
    }
    Str("dest", f.dest);
  }

  void Mount(const dockerfile::Mount& m) {
    std::string s = "type=" + std::string(MountTypeName(m.type));
    auto kv = [&](std::string_view k, const std::string& v) {
      if (!v.empty()) s += " " + std::string(k) + "=" + Quote(v);
    };
    kv("from", m.from);
    kv("source", m.source);
    kv("target", m.target);
    kv("id", m.cache_id);
    kv("sharing", m.sharing);
    s += m.read_only ? " ro" : " rw";
    if (m.required) s += " required";
    if (m.size_limit) s += " size=" + std::to_string(*m.size_limit);
    if (m.mode) {
      char buf[32];
      snprintf(buf, sizeof buf, " mode=0%llo", static_cast<unsigned long long>(*m.mode));
      s += buf;
    }
    if (m.uid) s += " uid=" + std::to_string(*m.uid);
    if (m.gid) s += " gid=" + std::to_string(*m.gid);
    if (m.env) s += " env=" + Quote(*m.env);
    Field("mount", s);
    if (m.spec.find('$') != std::string::npos) Field("  spec", Quote(m.spec));
  }

  void Pairs(std::string_view name, const std::vector<KeyValue>& kvs) {
    for (const KeyValue& kv : kvs) Field(name, Quote(kv.key) + " = " + Quote(kv.value));
  }

  void Instruction(const dockerfile::Instruction& ins) {
    out_ += Lines(ins.start_line, ins.end_line) + " " + ins.name;
    if (ins.expands) out_ += " (expands)";
    out_ += '\n';
    std::visit([&](const auto& c) { Body(c); }, ins.command);
  }

  void Body(const FromCommand& c) {
    Str("image", c.base_name);
    StrIfSet("as", c.stage_name);
    StrIfSet("platform", c.platform);
    StrIfSet("comment", c.comment);
  }
  void Body(const RunCommand& c) {
    for (const auto& m : c.mounts) Mount(m);
    if (c.network != "default") Field("network", c.network);
    if (c.security != "sandbox") Field("security", c.security);
    CmdLine(c.cmdline);
  }
  void Body(const CmdCommand& c) { CmdLine(c.cmdline); }
  void Body(const EntrypointCommand& c) { CmdLine(c.cmdline); }
  void Body(const LabelCommand& c) { Pairs("label", c.labels); }
  void Body(const MaintainerCommand& c) { Str("maintainer", c.maintainer); }
  void Body(const ExposeCommand& c) { Field("ports", List(c.ports)); }
  void Body(const EnvCommand& c) { Pairs("env", c.env); }
  void Body(const AddCommand& c) {
    for (const auto& e : c.excludes) Str("exclude", e);
    StrIfSet("chown", c.chown);
    StrIfSet("chmod", c.chmod);
    StrIfSet("checksum", c.checksum);
    Bool("link", c.link);
    Bool("keep-git-dir", c.keep_git_dir);
    if (c.unpack) Field("unpack", *c.unpack ? "true" : "false");
    Files(c.files);
  }
  void Body(const CopyCommand& c) {
    StrIfSet("from", c.from);
    for (const auto& e : c.excludes) Str("exclude", e);
    StrIfSet("chown", c.chown);
    StrIfSet("chmod", c.chmod);
    Bool("link", c.link);
    Bool("parents", c.parents);
    Files(c.files);
  }
  void Body(const VolumeCommand& c) { Field("volumes", List(c.volumes)); }
  void Body(const UserCommand& c) { Str("user", c.user); }
  void Body(const WorkdirCommand& c) { Str("path", c.path); }
  void Body(const ArgCommand& c) {
    for (const ArgDef& a : c.args) {
      std::string s = Quote(a.key);
      if (a.value) s += " = " + Quote(*a.value);
      if (!a.comment.empty()) s += " comment=" + Quote(a.comment);
      Field("arg", s);
    }
  }
  void Body(const OnbuildCommand& c) {
    Str("expression", c.expression);
    if (c.trigger) {
      Field("trigger",
            c.trigger->instruction + (c.trigger->json ? " json " : " ") + List(c.trigger->args));
    }
  }
  void Body(const StopSignalCommand& c) { Str("signal", c.signal); }
  void Body(const HealthcheckCommand& c) {
    Field("test", List(c.test));
    if (c.interval_ns) Field("interval", go::FormatDuration(c.interval_ns));
    if (c.timeout_ns) Field("timeout", go::FormatDuration(c.timeout_ns));
    if (c.start_period_ns) Field("start-period", go::FormatDuration(c.start_period_ns));
    if (c.start_interval_ns) Field("start-interval", go::FormatDuration(c.start_interval_ns));
    if (c.retries) Field("retries", std::to_string(c.retries));
  }
  void Body(const ShellCommand& c) { Field("shell", List(c.shell)); }

  std::string out_;
};

}  // namespace

std::string Dump(const Dockerfile& df) {
  Dumper d;
  std::string& out = d.out_;
  for (const Directive& dir : df.directives) {
    out +=
        "directive L" + std::to_string(dir.line) + " " + dir.name + " = " + Quote(dir.value) + "\n";
  }
  for (const Warning& w : df.warnings) {
    out += "warning L" + std::to_string(w.line) + " " + Quote(w.message) + "\n";
  }
  for (const auto& ins : df.meta_args) d.Instruction(ins);
  for (size_t i = 0; i < df.stages.size(); ++i) {
    const Stage& st = df.stages[i];
    out += "stage " + std::to_string(i);
    if (!st.From().stage_name.empty()) out += " " + Quote(st.From().stage_name);
    out += "\n";
    d.Instruction(st.from);
    for (const auto& ins : st.commands) d.Instruction(ins);
  }
  return out;
}

std::string DumpInstruction(const Instruction& ins) {
  Dumper d;
  d.Instruction(ins);
  return std::move(d.out_);
}

std::string DumpNodes(const ParseResult& parsed) {
  std::string out;
  for (const Node& n : parsed.nodes) {
    out += Lines(n.start_line, n.end_line) + " " + n.instruction;
    if (!n.flags.empty()) out += " flags=" + List(n.flags);
    if (n.json) out += " json";
    out += " " + List(n.args) + "\n";
    for (const Heredoc& h : n.heredocs) {
      out += "  heredoc " + Quote(h.name) + " " + Quote(h.content) + "\n";
    }
  }
  return out;
}

}  // namespace strata::dockerfile
