// docker import: a root filesystem tar (plain or compressed) becomes a
// one-layer image, with -c changes applied to its config.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "engine/store.h"
#include "util/io.h"

namespace strata::engine {

struct ImportOptions {
  std::vector<std::string> changes;  // "CMD [\"/bin/sh\"]", "ENV A=b", …
  std::string message;               // -m; default "Imported from <source>"
  std::string source = "-";          // what docker names the source in the comment
  std::string platform;              // os/arch[/variant]; default: the host's
  std::optional<std::string> tag;    // repository[:tag]
};

// Streams `in` once: decompress, hash (diff ID), keep the tar blob, unpack.
// Returns the new image's ID.
Result<std::string> ImportImage(Store& s, Reader& in, const ImportOptions& opts);

// Applies Dockerfile-style change lines to a container.Config JSON object,
// accepting docker's commit/import set (CMD, ENTRYPOINT, ENV, EXPOSE,
// HEALTHCHECK, LABEL, ONBUILD, USER, VOLUME, WORKDIR).
Status ApplyChanges(nlohmann::ordered_json& config, const std::vector<std::string>& changes);

// A zero container.Config in dockerd's field order.
nlohmann::ordered_json EmptyContainerConfig();

}  // namespace strata::engine
