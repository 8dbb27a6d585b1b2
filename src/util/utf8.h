// UTF-8 encoding of one code point, as Go's utf8.AppendRune: the Go-compatible parts of the
// Dockerfile frontend and of the format templates both build strings rune by rune.
#pragma once

#include <cstdint>
#include <string>

namespace strata {

// Appends the UTF-8 encoding of `r`; a surrogate or a value past U+10FFFF becomes U+FFFD.
void AppendUtf8(std::string* out, uint32_t r);

}  // namespace strata
