// Value checks the planner inherits from BuildKit's Go dependencies: image reference
// normalization (distribution/reference), stop signals (moby/sys/signal), EXPOSE port specs
// (go-connections/nat) and WORKDIR resolution (buildkit util/system).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace strata::dockerfile {

// reference.ParseNormalizedNamed + TagNameOnly: "busybox" -> "docker.io/library/busybox:latest".
// Errors are distribution/reference's ("invalid reference format: repository name must be
// lowercase").
Result<std::string> NormalizeImageReference(std::string_view ref);

// signal.ParseSignal for Linux: a non-zero number or a name with or without "SIG".
Status ValidateStopSignal(std::string_view sig);

// One EXPOSE word ("80", "8000-8002/udp", "127.0.0.1:80:80") -> "80/tcp"... (BuildKit's
// parsePortSpec).
Result<std::vector<std::string>> ParsePortSpec(std::string_view raw);

// system.NormalizeWorkdir for Linux: an absolute path is kept as written, a relative one is
// joined to the current directory and cleaned.
Result<std::string> NormalizeWorkdir(std::string_view current, std::string_view requested);

}  // namespace strata::dockerfile
