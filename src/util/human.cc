#include "util/human.h"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace strata {
namespace {

constexpr const char* kDecimalAbbrs[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"};
constexpr const char* kBinaryAbbrs[] = {"B",   "KiB", "MiB", "GiB", "TiB",
                                        "PiB", "EiB", "ZiB", "YiB"};

// getSizeAndUnit in go-units: divide while size >= base, up to the largest unit.
template <size_t N>
const char* SizeAndUnit(double* size, double base, const char* const (&units)[N]) {
  size_t i = 0;
  while (*size >= base && i < N - 1) {
    *size /= base;
    ++i;
  }
  return units[i];
}

// Go's %.*g: C's %g prints the same digits and exponent form ("1e+03", trailing zeros removed).
std::string FormatG(double v, int precision) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::isnan(v)) return "NaN";
  char buf[64];
  snprintf(buf, sizeof buf, "%.*g", precision, v);
  return buf;
}

Result<int64_t> ParseSize(std::string_view s, bool binary) {
  auto invalid = [&] { return InvalidArgument("invalid size: '" + std::string(s) + "'"); };
  size_t sep = s.find_last_of("01234567890. ");
  if (sep == std::string_view::npos) return invalid();
  std::string num, sfx;
  if (s[sep] != ' ') {
    num = s.substr(0, sep + 1);
    sfx = s.substr(sep + 1);
  } else {
    num = s.substr(0, sep);
    sfx = s.substr(sep + 1);
  }
  // strconv.ParseFloat: the whole string must be a number.
  if (num.empty() || std::isspace(static_cast<unsigned char>(num[0]))) {
    return InvalidArgument("strconv.ParseFloat: parsing \"" + num + "\": invalid syntax");
  }
  char* end = nullptr;
  double size = std::strtod(num.c_str(), &end);
  if (end != num.c_str() + num.size() || num.find_first_of("xXpPnN") != std::string::npos) {
    return InvalidArgument("strconv.ParseFloat: parsing \"" + num + "\": invalid syntax");
  }
  if (size < 0) return invalid();
  if (sfx.empty()) return static_cast<int64_t>(size);
  auto bad_suffix = [&] { return InvalidArgument("invalid suffix: '" + sfx + "'"); };
  if (sfx.size() > 3) return bad_suffix();
  for (char& c : sfx) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (sfx[0] == 'b') {
    if (sfx.size() > 1) return bad_suffix();
    return static_cast<int64_t>(size);
  }
  const std::string_view units = "kmgtp";
  size_t u = units.find(sfx[0]);
  if (u == std::string_view::npos) return bad_suffix();
  size *= std::pow(binary ? 1024.0 : 1000.0, static_cast<double>(u + 1));
  if (sfx.size() == 2 && sfx[1] != 'b') return bad_suffix();
  if (sfx.size() == 3 && sfx.substr(1) != "ib") return bad_suffix();
  if (size >= 9223372036854775808.0)
    return InvalidArgument("invalid size: '" + std::string(s) + "'");
  return static_cast<int64_t>(size);
}

}  // namespace

std::string HumanSizeWithPrecision(double bytes, int precision) {
  const char* unit = SizeAndUnit(&bytes, 1000.0, kDecimalAbbrs);
  return FormatG(bytes, precision) + unit;
}

std::string BytesSize(double bytes) {
  const char* unit = SizeAndUnit(&bytes, 1024.0, kBinaryAbbrs);
  return FormatG(bytes, 4) + unit;
}

std::string HumanDuration(std::chrono::nanoseconds d) {
  using std::to_string;
  const double ns = static_cast<double>(d.count());
  const int64_t seconds = static_cast<int64_t>(ns / 1e9);
  if (seconds < 1) return "Less than a second";
  if (seconds == 1) return "1 second";
  if (seconds < 60) return to_string(seconds) + " seconds";
  const int64_t minutes = static_cast<int64_t>(ns / 6e10);
  if (minutes == 1) return "About a minute";
  if (minutes < 60) return to_string(minutes) + " minutes";
  const int64_t hours = static_cast<int64_t>(ns / 3.6e12 + 0.5);
  if (hours == 1) return "About an hour";
  if (hours < 48) return to_string(hours) + " hours";
  if (hours < 24 * 7 * 2) return to_string(hours / 24) + " days";
  if (hours < 24 * 30 * 2) return to_string(hours / 24 / 7) + " weeks";
  if (hours < 24 * 365 * 2) return to_string(hours / 24 / 30) + " months";
  return to_string(static_cast<int64_t>(ns / 3.6e12) / 24 / 365) + " years";
}

Result<int64_t> FromHumanSize(std::string_view size) { return ParseSize(size, false); }
Result<int64_t> RAMInBytes(std::string_view size) { return ParseSize(size, true); }

std::string HumanSince(int64_t unix_ns) {
  auto now = std::chrono::system_clock::now().time_since_epoch();
  return HumanDuration(std::chrono::duration_cast<std::chrono::nanoseconds>(
             now - std::chrono::nanoseconds(unix_ns))) +
         " ago";
}

}  // namespace strata
