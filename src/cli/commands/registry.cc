// pull, push, login, logout: image exchange with registries (issue 3).
#include "cli/context.h"

namespace strata::cli {

void RegisterRegistryCommands(CLI::App& /*app*/, Context& /*ctx*/) {}

}  // namespace strata::cli
