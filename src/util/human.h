// Human-readable sizes and durations exactly as docker prints them (github.com/docker/go-units):
// "4.86MB", "1.5KiB", "2 weeks"; and the inverse parsers used by flags ("10MB", "1GiB").
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "util/result.h"

namespace strata {

// Decimal units (kB, MB, GB, ...), Go's "%.*g" with `precision` significant digits.
// docker images uses precision 3 ("7.8MB"); HumanSize uses 4.
std::string HumanSizeWithPrecision(double bytes, int precision);
inline std::string HumanSize(double bytes) { return HumanSizeWithPrecision(bytes, 4); }
// Binary units (KiB, MiB, ...), "%.4g".
std::string BytesSize(double bytes);

// go-units HumanDuration: "Less than a second", "1 second", "About a minute", "3 hours",
// "2 weeks", "3 months", "2 years". docker's CREATED column is HumanDuration(now - t) + " ago".
std::string HumanDuration(std::chrono::nanoseconds d);
template <typename Rep, typename Period>
std::string HumanDuration(std::chrono::duration<Rep, Period> d) {
  return HumanDuration(std::chrono::duration_cast<std::chrono::nanoseconds>(d));
}
// docker's "CREATED" text for a time (Unix nanoseconds): "2 weeks ago".
std::string HumanSince(int64_t unix_ns);

// FromHumanSize: "10MB" -> 10000000 (decimal multiples; "b"/"kb"/"k"/"kib" all accepted).
Result<int64_t> FromHumanSize(std::string_view size);
// RAMInBytes: "1GiB" or "1g" -> 1073741824 (binary multiples), as docker's --memory/--shm-size.
Result<int64_t> RAMInBytes(std::string_view size);

}  // namespace strata
