// What the prune and filter-taking commands share: docker's --filter parsing, its timestamps,
// and the confirmation prompt.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "util/result.h"

namespace strata::cli {

// --filter key=value pairs, validated against the keys a command accepts:
// "Invalid filter 'k'" for any other key, as dockerd words it.
Result<std::multimap<std::string, std::string>> ParseFilters(const std::vector<std::string>& in,
                                                             const std::set<std::string>& keys);

// docker's filter timestamps (api/types/time.GetTimestamp): a Go duration ("90m", "1.5h")
// counted back from now, RFC 3339, a date, or unix seconds. Unix nanoseconds.
Result<int64_t> ParseTimestamp(const std::string& v, int64_t now_ns);

// docker's PromptForConfirmation: prints "<warning> [y/N] " and reads a line; true for y/Y.
bool Confirm(const char* warning);

}  // namespace strata::cli
