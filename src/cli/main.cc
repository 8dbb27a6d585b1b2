#include "cli/main.h"

#include <cstdio>

namespace strata::cli {
int Main(int, char**) {
  std::puts("strata");
  return 0;
}
}  // namespace strata::cli
