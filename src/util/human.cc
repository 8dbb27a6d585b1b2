#include "util/human.h"

#include <cmath>
#include <cstdio>

namespace strata {

std::string HumanSizeWithPrecision(double size, int precision) {
  static const char* kUnits[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"};
  int i = 0;
  while (size >= 1000.0 && i < 8) {
    size /= 1000.0;
    ++i;
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g%s", precision, size, kUnits[i]);
  return buf;
}

std::string HumanSize(double size) { return HumanSizeWithPrecision(size, 4); }

std::string HumanDuration(std::chrono::nanoseconds d) {
  using namespace std::chrono;
  double secs = duration<double>(d).count();
  long long s = static_cast<long long>(secs);
  if (s < 1) return "Less than a second";
  if (s == 1) return "1 second";
  if (s < 60) return std::to_string(s) + " seconds";
  long long m = static_cast<long long>(duration<double>(d).count() / 60);
  if (m == 1) return "About a minute";
  if (m < 60) return std::to_string(m) + " minutes";
  long long h = static_cast<long long>(std::round(duration<double>(d).count() / 3600));
  if (h == 1) return "About an hour";
  if (h < 48) return std::to_string(h) + " hours";
  if (h < 24 * 7 * 2) return std::to_string(h / 24) + " days";
  if (h < 24 * 30 * 2) return std::to_string(h / 24 / 7) + " weeks";
  if (h < 24 * 365 * 2) return std::to_string(h / 24 / 30) + " months";
  return std::to_string(h / 24 / 365) + " years";
}

}  // namespace strata
