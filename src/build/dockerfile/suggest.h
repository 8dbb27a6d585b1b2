// "did you mean X?" hints for unknown names, as BuildKit's util/suggest adds them to errors
// (Levenshtein distance below 3 to one of the known names).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace strata::dockerfile {

// Returns message + " (did you mean <match>?)" when a close option exists, else message.
// An exact match of value means the error is unrelated to it: no hint.
std::string WithSuggestion(std::string message, std::string_view value,
                           const std::vector<std::string>& options, bool case_sensitive);

}  // namespace strata::dockerfile
