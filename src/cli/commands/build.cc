// build and `dockerfile parse`: the Dockerfile front end (issues 4 and 5).
#include "engine/build.h"

#include <arpa/inet.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "build/dockerfile/dump.h"
#include "build/dockerfile/instructions.h"
#include "build/dockerfile/plan.h"
#include "cli/build_progress.h"
#include "cli/context.h"
#include "cli/help.h"
#include "engine/images.h"
#include "image/reference.h"
#include "util/fs.h"

namespace strata::cli {
namespace {

namespace df = strata::dockerfile;

struct ParseOptions {
  std::string file;
  std::string file_flag;
  bool plan = false;
  std::vector<std::string> build_args;
  std::string target;
  std::string platform;
};

// A base image's config from the local store when it is there; otherwise an empty config, as
// the debug command must work without pulling.
df::ImageResolver LocalResolver(Context& ctx) {
  return [&ctx](const std::string& ref, const df::Platform& platform) -> Result<df::BaseImage> {
    df::BaseImage img;
    img.ref = ref;
    img.platform = platform;
    if (ctx.root.empty() && std::getenv("STRATA_ROOT") == nullptr) return img;
    auto store = ctx.Store();
    if (!store) return img;
    auto id = engine::ResolveImage(**store, ref);
    if (!id) return img;
    auto bytes = engine::ImageConfigBytes(**store, *id);
    if (!bytes) return img;
    auto j = nlohmann::json::parse(*bytes, nullptr, /*allow_exceptions=*/false);
    if (j.is_object() && j.contains("config") && j["config"].is_object()) {
      if (auto c = df::ConfigFromJson(j["config"].dump())) img.config = *c;
    }
    return img;
  };
}

void RunParse(const ParseOptions& o, Context& ctx) {
  std::string path = !o.file_flag.empty() ? o.file_flag : o.file;
  if (path.empty())
    return ctx.FailPlain("\"strata dockerfile parse\" requires exactly 1 argument.");
  std::string text;
  if (path == "-") {
    std::stringstream ss;
    ss << std::cin.rdbuf();
    text = ss.str();
  } else {
    std::ifstream f(path, std::ios::binary);
    if (!f) return ctx.FailPlain("open " + path + ": no such file or directory");
    std::stringstream ss;
    ss << f.rdbuf();
    text = ss.str();
  }
  std::string name = path == "-" ? "Dockerfile" : path.substr(path.rfind('/') + 1);
  if (!o.plan) {
    df::ParseError pe;
    auto parsed = df::ParseDockerfile(text, &pe);
    if (!parsed) {
      std::string loc = pe.line > 0 ? name + ":" + std::to_string(pe.line) + ": " : "";
      return ctx.FailPlain(loc + pe.message);
    }
    Out(df::Dump(*parsed));
    return;
  }
  df::PlanOptions opts;
  opts.filename = name;
  opts.target = o.target;
  for (const std::string& kv : o.build_args) {
    size_t eq = kv.find('=');
    if (eq == std::string::npos) {
      // docker takes the value from the environment when only a name is given.
      if (const char* v = std::getenv(kv.c_str())) opts.build_args[kv] = v;
      continue;
    }
    opts.build_args[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  if (!o.platform.empty()) {
    auto p = df::ParsePlatform(o.platform);
    if (!p) return ctx.FailPlain("invalid platform " + o.platform + ": " + p.error().message);
    opts.target_platform = *p;
  }
  opts.resolve_image = LocalResolver(ctx);
  df::PlanError pe;
  auto plan = df::PlanDockerfile(text, opts, &pe);
  if (!plan) {
    if (pe.line > 0) return ctx.FailPlain(plan.error().message);
    return ctx.FailPlain("failed to solve: " + plan.error().message);
  }
  for (const df::PlanWarning& w : plan->warnings) std::fprintf(stderr, "%s\n", w.message.c_str());
  Out(df::DumpPlan(*plan));
}

struct BuildFlags {
  std::string context;
  std::string file;
  std::vector<std::string> tags, build_args, labels, secrets, outputs, cache_from, cache_to,
      add_hosts;
  std::vector<std::string> no_cache_filter;
  std::string target, network = "default", platform, progress = "auto", iidfile;
  bool no_cache = false, pull = false, quiet = false, disable_trust = true;
};

std::atomic<bool> g_cancel{false};
void OnSignal(int) { g_cancel.store(true); }

// KEY=VALUE (or KEY, taken from the environment as docker does) into a map.
void AddKeyValues(const std::vector<std::string>& in, std::map<std::string, std::string>& out) {
  for (const std::string& kv : in) {
    size_t eq = kv.find('=');
    if (eq == std::string::npos) {
      if (const char* v = std::getenv(kv.c_str())) out[kv] = v;
      continue;
    }
    out[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
}

void RunBuild(const BuildFlags& f, Context& ctx) {
  if (f.context.empty()) {
    return ctx.FailPlain(
        "\"strata build\" requires exactly 1 argument.\nSee 'strata build --help'.\n\n"
        "Usage:  strata build [OPTIONS] PATH | URL | -\n\nBuild an image from a Dockerfile");
  }
  if (f.progress != "auto" && f.progress != "plain" && f.progress != "tty" &&
      f.progress != "quiet") {
    return ctx.FailPlain("invalid progress mode " + f.progress);
  }
  engine::BuildOptions o;
  FdReader stdin_reader(0);
  if (f.context == "-") {
    if (f.file == "-") {
      return ctx.FailPlain(
          "invalid argument: can't use stdin for both build context and dockerfile");
    }
    o.context_stream = &stdin_reader;
  } else {
    o.context_dir = f.context;
  }
  if (f.file == "-") {
    std::stringstream ss;
    ss << std::cin.rdbuf();
    o.dockerfile_text = ss.str();
  } else if (!f.file.empty()) {
    o.dockerfile_path = f.file;
  }
  AddKeyValues(f.build_args, o.build_args);
  AddKeyValues(f.labels, o.labels);
  o.target = f.target;
  o.tags = f.tags;
  for (const auto& t : f.tags) {
    auto r = image::ParseNormalizedNamed(t);
    if (!r)
      return ctx.FailPlain("invalid argument \"" + t +
                           "\" for \"-t, --tag\" flag: " + r.error().message);
  }
  o.no_cache = f.no_cache;
  o.no_cache_filter = f.no_cache_filter;
  o.pull = f.pull;
  o.network = f.network;
  if (o.network != "default" && o.network != "none" && o.network != "host") {
    return ctx.FailPlain("network mode \"" + o.network + "\" not supported by buildkit");
  }
  for (const std::string& h : f.add_hosts) {
    // docker's ValidateExtraHost: split at the first ':' (IPv6 addresses keep theirs).
    size_t colon = h.find(':');
    std::string flag_error = "invalid argument \"" + h + "\" for \"--add-host\" flag: ";
    if (colon == std::string::npos || colon == 0) {
      return ctx.FailPlain(flag_error + "bad format for add-host: \"" + h +
                           "\"\nSee 'strata build --help'.");
    }
    std::string ip = h.substr(colon + 1);
    if (ip == "host-gateway") {
      return ctx.FailPlain("strata build: --add-host " + h +
                           ": host-gateway needs a daemon bridge, which strata does not have");
    }
    unsigned char buf[16];
    if (::inet_pton(AF_INET, ip.c_str(), buf) != 1 && ::inet_pton(AF_INET6, ip.c_str(), buf) != 1) {
      return ctx.FailPlain(flag_error + "invalid IP address in add-host: \"" + ip +
                           "\"\nSee 'strata build --help'.");
    }
  }
  o.add_hosts = f.add_hosts;
  o.platform = f.platform;
  o.config_dir = ctx.config_dir;
  auto exporter = engine::ParseBuildOutputs(f.outputs);
  if (!exporter) {
    if (exporter.error().code == ErrorCode::kNotFound) return ctx.Fail(exporter.error());
    return ctx.FailPlain(exporter.error().message);
  }
  o.exporter = *exporter;
  auto cache_to = engine::ParseCacheTo(f.cache_to);
  if (!cache_to)
    return ctx.FailPlain("invalid argument for --cache-to: " + cache_to.error().message);
  o.cache_to = *cache_to;
  auto cache_from = engine::ParseCacheFrom(f.cache_from);
  if (!cache_from) {
    return ctx.FailPlain("invalid argument for --cache-from: " + cache_from.error().message);
  }
  o.cache_from = *cache_from;
  FdWriter stdout_writer(1);
  if (o.exporter.type != engine::BuildExport::Type::kLocal && o.exporter.ToStream()) {
    if (::isatty(1)) return ctx.FailPlain("refusing to write output to console");
    o.exporter.stream = &stdout_writer;
  }
  for (const std::string& spec : f.secrets) {
    std::string id, src;
    std::stringstream ss(spec);
    std::string field;
    while (std::getline(ss, field, ',')) {
      size_t eq = field.find('=');
      std::string k = field.substr(0, eq), v = eq == std::string::npos ? "" : field.substr(eq + 1);
      if (k == "id")
        id = v;
      else if (k == "src" || k == "source")
        src = v;
      else if (k == "env" && src.empty()) {
        if (const char* e = std::getenv(v.c_str())) src = e;  // not a file: unsupported below
      }
    }
    if (id.empty() || src.empty()) return ctx.FailPlain("invalid secret " + spec);
    o.secrets[id] = src;
  }
  if (const char* e = std::getenv("SOURCE_DATE_EPOCH")) o.source_date_epoch = std::atoll(e);
  if (auto it = o.build_args.find("SOURCE_DATE_EPOCH"); it != o.build_args.end()) {
    o.source_date_epoch = std::atoll(it->second.c_str());
  }
  bool quiet = f.quiet || f.progress == "quiet";
  // docker's CLI: tty and auto draw the live view when stderr is a terminal, else plain.
  bool tty = !quiet && (f.progress == "tty" || f.progress == "auto") && ::isatty(2) == 1;
  FdWriter stderr_writer(2);
  std::optional<TtyProgress> view;
  if (tty) {
    view.emplace(
        stderr_writer, [] { return std::chrono::steady_clock::now(); },
        [] { return TerminalSize(2); });
    o.output = [&view](const std::string& line) { view->Line(line); };
  } else if (!quiet) {
    o.output = [](const std::string& line) {
      std::string l = line + "\n";
      (void)!::write(2, l.data(), l.size());
    };
  }
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  o.cancel = &g_cancel;
  auto s = ctx.Store();
  if (!s) return ctx.Fail(s.error());
  auto res = [&] {
    std::optional<Ticker> ticker;
    if (view) ticker.emplace(TtyProgress::kMinRedraw, [&view] { view->Tick(); });
    return engine::Build(**s, o);
  }();  // the ticker is joined here, before the final frame
  // Also after Ctrl-C: the cancelled steps end the view, the cursor is shown again.
  if (view) view->Finish();
  if (!res) {
    if (g_cancel.load()) return ctx.FailPlain("ERROR: failed to solve: context canceled", 1);
    return ctx.FailPlain("ERROR: failed to solve: " + res.error().message);
  }
  if (!f.iidfile.empty() && !res->image_id.empty()) {
    auto st = WriteFileAtomic(f.iidfile, res->image_id, 0644);
    if (!st) return ctx.Fail(st.error());
  }
  // docker: `-q -o -` leaves stdout to the archive; `-q -o dir` prints an empty line.
  if (quiet && !o.exporter.stream) Out(res->image_id + "\n");
}

}  // namespace

void RegisterBuildCommands(CLI::App& app, Context& ctx) {
  {
    auto f = std::make_shared<BuildFlags>();
    auto* c = app.add_subcommand("build", "Build an image from a Dockerfile");
    SetUsage(c, "[OPTIONS] PATH | URL | -",
             "strata image build, strata build, strata builder build");
    auto list = [&](const char* name, std::vector<std::string>& v, const char* help,
                    const char* type) {
      c->add_option(name, v, help)
          ->type_name(type)
          ->allow_extra_args(false)
          ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    };
    list("--add-host", f->add_hosts, "Add a custom host-to-IP mapping (host:ip)", "list");
    list("--build-arg", f->build_args, "Set build-time variables", "list");
    list("--cache-from", f->cache_from,
         "External cache sources (e.g., \"user/app:cache\", \"type=registry,ref=user/app\")",
         "strings");
    list("--cache-to", f->cache_to,
         "Cache export destinations (e.g., \"user/app:cache\", \"type=inline\")", "stringArray");
    c->add_flag("--disable-content-trust", f->disable_trust, "Skip image verification")
        ->default_str("true");
    c->add_option("-f,--file", f->file, "Name of the Dockerfile (Default is 'PATH/Dockerfile')")
        ->type_name("string");
    c->add_option("--iidfile", f->iidfile, "Write the image ID to the file")->type_name("string");
    list("--label", f->labels, "Set metadata for an image", "list");
    c->add_option("--network", f->network,
                  "Set the networking mode for the RUN instructions during build")
        ->type_name("string")
        ->default_str("default");
    c->add_flag("--no-cache", f->no_cache, "Do not use cache when building the image");
    list("--no-cache-filter", f->no_cache_filter, "Do not cache specified stages", "stringArray");
    list("-o,--output", f->outputs, "Output destination (format: type=local,dest=path)",
         "stringArray");
    c->add_option("--platform", f->platform, "Set platform if server is multi-platform capable")
        ->type_name("string");
    c->add_option("--progress", f->progress,
                  "Set type of progress output (auto, plain, tty, quiet). Use plain to show "
                  "container output")
        ->type_name("string")
        ->default_str("auto");
    c->add_flag("--pull", f->pull, "Always attempt to pull a newer version of the image");
    c->add_flag("-q,--quiet", f->quiet, "Suppress the build output and print image ID on success");
    list("--secret", f->secrets,
         "Secret file to expose to the build: id=mysecret,src=/local/secret", "stringArray");
    list("-t,--tag", f->tags, "Name and optionally a tag in the 'name:tag' format", "list");
    c->add_option("--target", f->target, "Set the target build stage to build.")
        ->type_name("string");
    c->add_option("PATH", f->context, "Build context directory");
    c->callback([f, &ctx] { RunBuild(*f, ctx); });
  }
  auto* group = app.add_subcommand("dockerfile", "Inspect how strata reads a Dockerfile");
  SetUsage(group, "COMMAND");
  group->require_subcommand(1);
  auto o = std::make_shared<ParseOptions>();
  auto* c = group->add_subcommand("parse", "Print the parsed instructions or the build plan");
  SetUsage(c, "[OPTIONS] FILE");
  c->add_option("FILE", o->file, "Dockerfile path, or - for stdin");
  c->add_option("-f,--file", o->file_flag, "Name of the Dockerfile (same as FILE)")
      ->type_name("string");
  c->add_flag("--plan", o->plan, "Print the build plan (stages, expanded steps, image config)");
  c->add_option("--build-arg", o->build_args, "Set build-time variables")
      ->type_name("list")
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  c->add_option("--target", o->target, "Set the target build stage to build")->type_name("string");
  c->add_option("--platform", o->platform, "Set platform if server is multi-platform capable")
      ->type_name("string");
  c->callback([o, &ctx] { RunParse(*o, ctx); });
}

}  // namespace strata::cli
