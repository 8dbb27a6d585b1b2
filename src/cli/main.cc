#include "cli/main.h"

#include <unistd.h>

#include <cstdlib>
#include <iostream>

#include "cli/context.h"
#include "cli/help.h"

namespace strata::cli {

Result<engine::Store*> Context::Store() {
  if (!store) {
    auto s = engine::Store::Open(root.empty() ? engine::DefaultRoot() : root);
    if (!s) return std::move(s).error();
    store = std::move(*s);
  }
  return store.get();
}

void Context::Fail(const Error& e) {
  std::fprintf(stderr, "Error response from daemon: %s\n", e.message.c_str());
  exit_code = 1;
}

void Context::FailPlain(const std::string& message, int code) {
  std::fprintf(stderr, "%s\n", message.c_str());
  exit_code = code;
}

namespace {
template <void (*F)(CLI::App&, Context&)>
void Whole(CLI::App& app, Context& ctx, std::string_view) {
  F(app, ctx);
}
}  // namespace

const std::vector<CommandGroup>& CommandGroups() {
  static const std::vector<CommandGroup> groups = {
      {RegisterImageCommands, {"images", "tag", "rmi", "history", "inspect", "image"}},
      {Whole<RegisterArchiveCommands>, {"save", "load", "import"}},
      {Whole<RegisterSystemCommands>, {"version", "info", "system"}},
      {Whole<RegisterRegistryCommands>, {"pull", "push", "login", "logout"}},
      {Whole<RegisterBuildCommands>, {"build", "dockerfile"}},
      {Whole<RegisterBuilderCommands>, {"builder"}},
  };
  return groups;
}

std::string_view CommandWord(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--") return i + 1 < argc ? std::string_view(argv[i + 1]) : std::string_view();
    if (a.empty() || a[0] != '-') return a;
    // Global flags that take a value in the next word.
    if (a == "--root" || a == "-l" || a == "--log-level" || a == "--config") ++i;
  }
  return {};
}

void RegisterCommands(CLI::App& app, Context& ctx, std::string_view command) {
  for (const auto& g : CommandGroups()) {
    for (auto name : g.commands) {
      if (name == command) return g.reg(app, ctx, command);
    }
  }
  for (const auto& g : CommandGroups()) g.reg(app, ctx, {});
}

void Out(const std::string& s) { std::fwrite(s.data(), 1, s.size(), stdout); }

int Main(int argc, char** argv) {
  CLI::App app{"A self-sufficient runtime for containers", "strata"};
  app.require_subcommand(1);
  app.set_help_all_flag("", "");
  Context ctx;
  UseDockerHelp(app);
  app.add_option("--root", ctx.root,
                 "Root directory of the store (default: $STRATA_ROOT or /var/lib/strata)");
  app.add_option("-l,--log-level", ctx.log_level,
                 "Set the logging level (\"debug\"|\"info\"|\"warn\"|\"error\"|\"fatal\")")
      ->check(CLI::IsMember({"debug", "info", "warn", "error", "fatal"}))
      ->type_name("string");
  app.add_option("--config", ctx.config_dir,
                 "Location of client config files (default \"~/.docker\")");
  RegisterCommands(app, ctx, CommandWord(argc, argv));
  // pflag accepts "-H=false" and "-f={{.ID}}"; CLI11 wants the value apart.
  std::vector<std::string> args;
  for (int i = argc - 1; i >= 1; --i) {
    std::string a = argv[i];
    if (a.size() > 3 && a[0] == '-' && a[1] != '-' && a[2] == '=') {
      args.push_back(a.substr(3));
      args.push_back(a.substr(0, 2));
    } else {
      args.push_back(a);
    }
  }
  try {
    app.parse(args);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // docker: flag errors exit 125 with a pointer to --help.
    std::string cmd = "strata";
    for (auto* sub = &app; !sub->get_subcommands().empty();) {
      sub = sub->get_subcommands().front();
      cmd += " " + sub->get_name();
    }
    std::string msg = e.what();
    // pflag's wording for an unknown flag, which scripts match on.
    const std::string extra = "The following argument was not expected: ";
    if (msg.rfind(extra, 0) == 0 && msg.size() > extra.size() && msg[extra.size()] == '-') {
      msg = "unknown flag: " + msg.substr(extra.size());
    }
    std::fprintf(stderr, "%s\nSee '%s --help'.\n", msg.c_str(), cmd.c_str());
    return 125;
  }
  std::fflush(stdout);
  return ctx.exit_code;
}

}  // namespace strata::cli
