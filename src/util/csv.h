// One CSV record as Go's encoding/csv reads it: docker and BuildKit parse their
// key=value option lists (--mount, --output, --secret) this way, quotes included.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace strata {

// Comma separated, RFC 4180 quotes, strict; the record ends at a newline. Errors read
// `failed to parse <what>: parse error on line 1, column N: …` as Go's callers print them.
Result<std::vector<std::string>> ReadCsvRecord(std::string_view s, std::string_view what);

}  // namespace strata
