// Timestamps as Go formats and parses them (time.RFC3339Nano), since image
// configs and docker's JSON carry Go-formatted times.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace strata::engine {

// UTC, trailing zeros of the fraction trimmed: "2024-05-01T10:00:00.5Z".
// ns == INT64_MIN formats Go's zero time "0001-01-01T00:00:00Z".
std::string FormatRfc3339Nano(int64_t unix_ns);
// Parses RFC 3339 with optional fraction and Z or ±hh:mm offset.
std::optional<int64_t> ParseRfc3339(std::string_view s);
int64_t NowUnixNanos();

}  // namespace strata::engine
