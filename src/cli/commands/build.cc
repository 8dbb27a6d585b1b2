// build and `dockerfile parse`: the Dockerfile front end (issues 4 and 5).
#include "cli/context.h"

namespace strata::cli {

void RegisterBuildCommands(CLI::App& /*app*/, Context& /*ctx*/) {}

}  // namespace strata::cli
