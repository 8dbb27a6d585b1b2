// libFuzzer entry: WWW-Authenticate parsing takes bytes from any server, so it must never
// crash or hang, must only yield well-formed challenges, and what it yields must survive a
// round trip through a canonical header. Scopes and token responses ride along.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "registry/auth.h"

namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

bool IsLowerToken(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c >= 'A' && c <= 'Z') return false;
    if (c == ' ' || c == ',' || c == '=' || c == '"') return false;
  }
  return true;
}

std::string Quote(const std::string& v) {
  std::string out = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace strata::registry;
  std::string_view s(reinterpret_cast<const char*>(data), size);

  // Newlines separate header fields, as several WWW-Authenticate lines would.
  std::vector<std::string> values;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == '\n') {
      values.emplace_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  std::vector<Challenge> cs = ParseChallenges(values);

  std::string canonical;
  for (const auto& c : cs) {
    Check(IsLowerToken(c.scheme));
    if (!canonical.empty()) canonical += ", ";
    canonical += c.scheme;
    bool first = true;
    for (const auto& [k, v] : c.params) {
      Check(IsLowerToken(k));
      canonical += first ? " " : ", ";
      canonical += k + "=" + Quote(v);
      first = false;
    }
    if (auto it = c.params.find("scope"); it != c.params.end()) {
      if (auto sc = ParseScope(it->second)) {
        auto again = ParseScope(sc->String());
        Check(again.has_value() && again->String() == sc->String());
      }
    }
  }
  Check(ParseChallenges({canonical}) == cs);

  auto t = ParseTokenResponse(s, std::chrono::system_clock::time_point{});
  if (t) Check(!t->token.empty());
  return 0;
}
