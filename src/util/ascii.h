// ASCII case folding for the names the specs define as ASCII (OS and architecture names,
// registry hosts, URL schemes, references): the same result in any locale, and bytes of
// UTF-8 sequences left as they are.
#pragma once

#include <string>
#include <string_view>

namespace strata {

// `s` with A-Z turned into a-z.
inline std::string AsciiLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace strata
