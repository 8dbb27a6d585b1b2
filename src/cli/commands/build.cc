// build and `dockerfile parse`: the Dockerfile front end (issues 4 and 5).
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "build/dockerfile/dump.h"
#include "build/dockerfile/instructions.h"
#include "build/dockerfile/plan.h"
#include "cli/context.h"
#include "cli/help.h"
#include "engine/images.h"

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

}  // namespace

void RegisterBuildCommands(CLI::App& app, Context& ctx) {
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
