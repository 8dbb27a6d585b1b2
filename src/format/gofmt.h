// Go's fmt printing (%v, Sprint, Sprintf) over JSON values viewed as the Go values that
// encoding/json would decode them into, so templates print exactly what docker prints.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace strata::format {

using Json = nlohmann::json;

// The Go type a JSON value stands for: "string", "int", "float64", "bool", "<nil>",
// "[]interface {}", "map[string]interface {}".
std::string GoTypeName(const Json& v);

// fmt.Sprint(v): what `{{.}}` prints. Integral JSON numbers print as integers, floats as Go's
// %v (shortest digits, exponent form below 1e-4 and from 1e6 up), null as <nil>, arrays
// [a b], objects map[k:v].
std::string FormatValue(const Json& v);

// Go's strconv.FormatFloat(f, fmt, prec, 64) for fmt in 'e', 'f', 'g' (prec -1 = shortest).
std::string FormatFloat(double f, char fmt, int prec);

// Go's strconv.Quote: double-quoted with Go escapes.
std::string GoQuote(std::string_view s);

// fmt.Sprint(args...): spaces between operands when neither side is a string.
std::string Sprint(const std::vector<Json>& args);
// fmt.Sprintln(args...): always spaces, newline at the end.
std::string Sprintln(const std::vector<Json>& args);
// fmt.Sprintf(format, args...) for the verbs templates use (%v %s %d %q %t %x %X %o %b %c %e
// %f %g %%), flags (- + # 0 space), width and precision; bad verbs and missing/extra arguments
// are rendered the way Go does (%!d(string=x), %!s(MISSING), %!(EXTRA int=1)).
// Formatting stops early once the output exceeds max_size (callers treat that as an error).
std::string Sprintf(std::string_view format, const std::vector<Json>& args,
                    size_t max_size = static_cast<size_t>(-1));

}  // namespace strata::format
