#include "build/dockerfile/suggest.h"

#include <algorithm>

namespace strata::dockerfile {

namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

// Levenshtein distance over bytes, unit costs (agext/levenshtein's defaults).
size_t Distance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

}  // namespace

std::string WithSuggestion(std::string message, std::string_view value,
                           const std::vector<std::string>& options, bool case_sensitive) {
  // Long inputs cannot be within distance 2 of a short name; skip the quadratic work.
  if (value.size() > 64) return message;
  std::string val = case_sensitive ? std::string(value) : Lower(value);
  std::string match;
  size_t best = 3;
  for (const std::string& o : options) {
    std::string opt = case_sensitive ? o : Lower(o);
    if (val == opt) return message;
    size_t d = Distance(val, opt);
    if (d < best) {
      best = d;
      if (case_sensitive) {
        match = opt;
      } else if (std::string(value) == Lower(value)) {
        match = Lower(opt);
      } else if (std::string(value) == Upper(value)) {
        match = Upper(opt);
      } else {
        match = opt;
      }
    }
  }
  if (match.empty()) return message;
  return message + " (did you mean " + match + "?)";
}

}  // namespace strata::dockerfile
