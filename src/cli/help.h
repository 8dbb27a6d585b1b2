// docker-style help: "Usage:  strata images [OPTIONS] [REPOSITORY[:TAG]]",
// the description, aliases, and an aligned option list with pflag's
// "-f, --filter filter" spelling.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace strata::cli {

// Installs the docker-style formatter on app (subcommands inherit it).
void UseDockerHelp(CLI::App& app);
// Records the usage text after the command path ("[OPTIONS] IMAGE [IMAGE...]")
// and the aliases line for a command.
void SetUsage(CLI::App* cmd, std::string usage, std::string aliases = "");

}  // namespace strata::cli
