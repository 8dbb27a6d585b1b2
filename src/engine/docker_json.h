// docker's JSON shapes: the container.Config struct as dockerd encodes it
// (field order, omitempty rules) and Go's encoding/json output style.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "engine/store.h"
#include "store/metadata.h"

namespace strata::engine {

// Re-encodes an image config's "config"/"container_config" object the way
// dockerd's container.Config marshals: every field in struct order, absent
// ones as their zero value, omitempty fields left out when empty.
nlohmann::ordered_json ContainerConfigForInspect(const nlohmann::ordered_json& c);

// GraphDriver of docker's image inspect, from the image's snapshots.
nlohmann::ordered_json GraphDriverForInspect(Store& s, const store::ImageRecord& img);

// Go's json.Marshal/MarshalIndent output: HTML characters escaped as
// \u003c \u003e \u0026, U+2028/2029 escaped, indent (0 = compact).
std::string GoJson(const nlohmann::ordered_json& j, int indent = 0);

}  // namespace strata::engine
