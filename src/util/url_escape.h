// Go's url.PathUnescape, which docker and BuildKit apply to URL paths and platform options.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace strata {

// "%2B" -> "+"; nullopt for a malformed escape ("%", "%2", "%zz"). '+' stays '+'.
std::optional<std::string> PathUnescape(std::string_view s);

}  // namespace strata
