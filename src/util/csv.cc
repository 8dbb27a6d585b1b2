#include "util/csv.h"

namespace strata {

Result<std::vector<std::string>> ReadCsvRecord(std::string_view s, std::string_view what) {
  auto fail = [&](size_t column, std::string_view why) -> Error {
    return InvalidArgument("failed to parse " + std::string(what) +
                           ": parse error on line 1, column " + std::to_string(column) + ": " +
                           std::string(why));
  };
  std::vector<std::string> fields;
  size_t i = 0;
  // encoding/csv stops the record at a newline.
  size_t nl = s.find('\n');
  if (nl != std::string_view::npos) s = s.substr(0, nl);
  if (!s.empty() && s.back() == '\r') s.remove_suffix(1);
  for (;;) {
    std::string field;
    if (i < s.size() && s[i] == '"') {
      ++i;
      for (;;) {
        if (i >= s.size()) {
          return fail(s.size() + 1, "extraneous or missing \" in quoted-field");
        }
        if (s[i] == '"') {
          if (i + 1 < s.size() && s[i + 1] == '"') {
            field += '"';
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        field += s[i++];
      }
      if (i < s.size() && s[i] != ',') {
        return fail(i + 1, "extraneous or missing \" in quoted-field");
      }
    } else {
      size_t end = s.find(',', i);
      if (end == std::string_view::npos) end = s.size();
      std::string_view raw = s.substr(i, end - i);
      size_t q = raw.find('"');
      if (q != std::string_view::npos) {
        return fail(i + q + 1, "bare \" in non-quoted-field");
      }
      field = std::string(raw);
      i = end;
    }
    fields.push_back(std::move(field));
    if (i >= s.size()) break;
    ++i;  // the comma
  }
  return fields;
}

}  // namespace strata
