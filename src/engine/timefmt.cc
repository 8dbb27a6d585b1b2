#include "engine/timefmt.h"

#include <chrono>
#include <climits>
#include <cstdio>
#include <ctime>

namespace strata::engine {

std::string FormatRfc3339Nano(int64_t unix_ns) {
  if (unix_ns == INT64_MIN) return "0001-01-01T00:00:00Z";
  int64_t secs = unix_ns / 1000000000;
  int64_t frac = unix_ns % 1000000000;
  if (frac < 0) {
    frac += 1000000000;
    secs -= 1;
  }
  time_t t = static_cast<time_t>(secs);
  struct tm tm;
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::string out = buf;
  if (frac != 0) {
    char f[16];
    std::snprintf(f, sizeof f, ".%09lld", static_cast<long long>(frac));
    std::string fs = f;
    while (fs.back() == '0') fs.pop_back();
    out += fs;
  }
  return out + "Z";
}

std::optional<int64_t> ParseRfc3339(std::string_view s) {
  if (s.size() < 20) return std::nullopt;
  auto num = [&](size_t pos, size_t len) -> int {
    int v = 0;
    for (size_t i = pos; i < pos + len; ++i) {
      if (s[i] < '0' || s[i] > '9') return -1;
      v = v * 10 + (s[i] - '0');
    }
    return v;
  };
  int Y = num(0, 4), M = num(5, 2), D = num(8, 2), h = num(11, 2), m = num(14, 2), sec = num(17, 2);
  if (Y < 0 || M < 1 || D < 1 || h < 0 || m < 0 || sec < 0 || s[4] != '-' || s[7] != '-' ||
      (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || s[13] != ':' || s[16] != ':') {
    return std::nullopt;
  }
  size_t i = 19;
  int64_t frac = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    int digits = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      if (digits < 9) {
        frac = frac * 10 + (s[i] - '0');
        ++digits;
      }
      ++i;
    }
    while (digits++ < 9) frac *= 10;
  }
  int64_t offset = 0;
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
    ++i;
  } else if (i + 6 == s.size() && (s[i] == '+' || s[i] == '-')) {
    int oh = num(i + 1, 2), om = num(i + 4, 2);
    if (oh < 0 || om < 0) return std::nullopt;
    offset = (oh * 3600 + om * 60) * (s[i] == '-' ? -1 : 1);
    i += 6;
  } else {
    return std::nullopt;
  }
  if (i != s.size()) return std::nullopt;
  using namespace std::chrono;
  auto days = sys_days(
      year_month_day(year(Y), month(static_cast<unsigned>(M)), day(static_cast<unsigned>(D))));
  int64_t secs =
      duration_cast<seconds>(days.time_since_epoch()).count() + h * 3600 + m * 60 + sec - offset;
  return secs * 1000000000 + frac;
}

int64_t NowUnixNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace strata::engine
