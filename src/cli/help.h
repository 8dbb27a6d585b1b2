// docker-style help: "Usage:  strata images [OPTIONS] [REPOSITORY[:TAG]]",
// the description, aliases, and an aligned option list with pflag's
// "-f, --filter filter" spelling.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace strata::cli {

// docker's --format help texts, for commands with table output and without.
inline constexpr const char* kFormatHelpTable =
    "Format output using a custom template:\n"
    "'table':            Print output in table format with column headers (default)\n"
    "'table TEMPLATE':   Print output in table format using the given Go template\n"
    "'json':             Print in JSON format\n"
    "'TEMPLATE':         Print output using the given Go template.\n"
    "Refer to https://docs.docker.com/go/formatting/ for more information about formatting "
    "output with templates";
inline constexpr const char* kFormatHelp =
    "Format output using a custom template:\n"
    "'json':             Print in JSON format\n"
    "'TEMPLATE':         Print output using the given Go template.\n"
    "Refer to https://docs.docker.com/go/formatting/ for more information about formatting "
    "output with templates";

// Installs the docker-style formatter on app (subcommands inherit it).
void UseDockerHelp(CLI::App& app);
// Records the usage text after the command path ("[OPTIONS] IMAGE [IMAGE...]")
// and the aliases line for a command.
void SetUsage(CLI::App* cmd, std::string usage, std::string aliases = "");

}  // namespace strata::cli
