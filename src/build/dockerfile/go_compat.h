// Small pieces of Go's standard library whose exact behaviour BuildKit's Dockerfile frontend
// inherits: unicode.IsSpace, time.ParseDuration, strconv.Quote, encoding/json's decoding of a
// string array (Decoder semantics: the first value only), strconv.ParseBool/ParseInt/ParseUint.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace strata::dockerfile::go {

// unicode.IsSpace for a code point.
bool IsSpaceRune(uint32_t r);
// unicode.IsSpace(rune(b)) for a single byte, as Go code that indexes a string bytewise does.
bool IsSpaceByte(unsigned char b);

// Decodes the UTF-8 sequence at s[pos]: the code point (U+FFFD when invalid) and its width
// (1 for an invalid byte), like utf8.DecodeRuneInString.
uint32_t DecodeRune(std::string_view s, size_t pos, size_t* width);
// The runes of s, invalid bytes as U+FFFD, like []rune(s).
std::u32string ToRunes(std::string_view s);
// utf8.AppendRune (AppendUtf8 in util/utf8.h, under Go's name).
void AppendRune(std::string* out, uint32_t r);

// strings.TrimLeftFunc(s, unicode.IsSpace) / TrimSpace.
std::string_view TrimLeftSpace(std::string_view s);
std::string_view TrimSpace(std::string_view s);

// strconv.Quote: a double-quoted Go string literal.
std::string Quote(std::string_view s);

// time.ParseDuration; the error text is Go's ("time: invalid duration \"x\"").
Result<int64_t> ParseDuration(std::string_view s);
// Formats nanoseconds the way time.Duration.String does ("1m30s", "500ms").
std::string FormatDuration(int64_t ns);

// strconv.ParseInt(s, 10, bits) / ParseUint(s, base, bits), with Go's error text.
Result<int64_t> ParseInt(std::string_view s, int bits);
Result<uint64_t> ParseUint(std::string_view s, int base, int bits);
// strconv.ParseBool.
std::optional<bool> ParseBool(std::string_view s);

// What json.NewDecoder(r).Decode(&[]interface{}) makes of text that starts with '[':
// kStrings with the elements, kNotStrings when it is an array holding a non-string, or kError
// for anything Go rejects (syntax errors, numbers out of float64 range). Only the first value
// is read; what follows the closing bracket is ignored, as the Decoder ignores it.
enum class JsonArrayKind { kStrings, kNotStrings, kError };
JsonArrayKind DecodeJsonStringArray(std::string_view text, std::vector<std::string>* out);

}  // namespace strata::dockerfile::go
