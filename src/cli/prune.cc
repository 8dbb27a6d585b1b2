#include "cli/prune.h"

#include <cctype>
#include <cstdio>
#include <cstdlib>

#include "engine/timefmt.h"

namespace strata::cli {

Result<std::multimap<std::string, std::string>> ParseFilters(const std::vector<std::string>& in,
                                                             const std::set<std::string>& keys) {
  std::multimap<std::string, std::string> out;
  for (auto& f : in) {
    auto eq = f.find('=');
    if (eq == std::string::npos) {
      return InvalidArgument("bad format of filter (expected name=value)");
    }
    std::string k = f.substr(0, eq);
    if (!keys.count(k)) return InvalidArgument("Invalid filter '" + k + "'");
    out.emplace(k, f.substr(eq + 1));
  }
  return out;
}

Result<int64_t> ParseTimestamp(const std::string& v, int64_t now_ns) {
  if (auto t = engine::ParseRfc3339(v)) return *t;
  if (auto t = engine::ParseRfc3339(v + "Z")) return *t;           // 2006-01-02T15:04:05
  if (auto t = engine::ParseRfc3339(v + "T00:00:00Z")) return *t;  // 2006-01-02
  char* end = nullptr;
  double n = std::strtod(v.c_str(), &end);
  if (end != v.c_str() && *end == '\0') return static_cast<int64_t>(n * 1e9);  // unix seconds
  // Go durations: sequences of number+unit.
  double total_s = 0;
  const char* p = v.c_str();
  if (!*p) return InvalidArgument("invalid timestamp \"\"");
  while (*p) {
    double x = std::strtod(p, &end);
    if (end == p)
      return InvalidArgument("failed to parse value as time or duration: \"" + v + "\"");
    std::string unit;
    while (*end &&
           (std::isalpha(static_cast<unsigned char>(*end)) || *end == '\xc2' || *end == '\xb5'))
      unit += *end++;
    double mult = unit == "h"    ? 3600
                  : unit == "m"  ? 60
                  : unit == "s"  ? 1
                  : unit == "ms" ? 1e-3
                  : unit == "us" ? 1e-6
                  : unit == "ns" ? 1e-9
                                 : -1;
    if (mult < 0)
      return InvalidArgument("failed to parse value as time or duration: \"" + v + "\"");
    total_s += x * mult;
    p = end;
  }
  return now_ns - static_cast<int64_t>(total_s * 1e9);
}

bool Confirm(const char* warning) {
  std::fprintf(stdout, "%s [y/N] ", warning);
  std::fflush(stdout);
  char buf[16] = {0};
  return std::fgets(buf, sizeof buf, stdin) && (buf[0] == 'y' || buf[0] == 'Y');
}

}  // namespace strata::cli
