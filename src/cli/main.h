// The strata command line: parses docker-compatible commands and calls engine/.
#pragma once

namespace strata::cli {
int Main(int argc, char** argv);
}
