// What every command shares: global flags, the lazily opened store, output
// streams, and the one place where errors become docker's messages and exit
// codes.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include <string>

#include "engine/store.h"
#include "util/result.h"

namespace strata::cli {

struct Context {
  std::string root;
  std::string log_level = "info";
  std::string config_dir;
  int exit_code = 0;
  std::unique_ptr<engine::Store> store;

  // Opens the store on first use.
  Result<engine::Store*> Store();
  // Prints "Error response from daemon: <message>" as docker does for errors
  // that come from the engine, and records exit status 1.
  void Fail(const Error& e);
  // Prints a message verbatim (docker's client-side errors).
  void FailPlain(const std::string& message, int code = 1);
};

// Registration of each command group on the root app. Every strata run is a
// fresh process that needs one command: main registers only the group of the
// command named on the line (all of them for help or an unknown word), and the
// image group only that command (`only`; empty = all).
void RegisterImageCommands(CLI::App& app, Context& ctx, std::string_view only = {});
void RegisterArchiveCommands(CLI::App& app, Context& ctx);
void RegisterSystemCommands(CLI::App& app, Context& ctx);
// pull, push, login, logout (commands/registry.cc).
void RegisterRegistryCommands(CLI::App& app, Context& ctx);
// build and the Dockerfile debug commands (commands/build.cc).
void RegisterBuildCommands(CLI::App& app, Context& ctx);
// builder prune (commands/builder.cc).
void RegisterBuilderCommands(CLI::App& app, Context& ctx);

// The command groups and the top-level commands each registers; main picks the
// group of the command named on the line. Tested against the registrations.
struct CommandGroup {
  void (*reg)(CLI::App& app, Context& ctx, std::string_view only);
  std::vector<std::string_view> commands;
};
const std::vector<CommandGroup>& CommandGroups();
// The first word of argv (without the program) that is not a global flag or
// its value: the command; empty when there is none.
std::string_view CommandWord(int argc, char** argv);
// Registers the group that has `command`, or every group when none has it.
void RegisterCommands(CLI::App& app, Context& ctx, std::string_view command);

// Writes a whole string to stdout.
void Out(const std::string& s);

}  // namespace strata::cli
