#include "format/table.h"

#include "format/tabwriter.h"

namespace strata::format {

std::string ExpandEscapes(std::string_view format) {
  std::string out;
  out.reserve(format.size());
  for (size_t i = 0; i < format.size(); ++i) {
    if (format[i] == '\\' && i + 1 < format.size() &&
        (format[i + 1] == 't' || format[i + 1] == 'n')) {
      out.push_back(format[i + 1] == 't' ? '\t' : '\n');
      ++i;
    } else {
      out.push_back(format[i]);
    }
  }
  return out;
}

std::string AlignTable(std::string_view text) {
  TabWriter tw(10, 1, 3, ' ', 0);
  tw.Write(text);
  tw.Flush();
  return tw.Take();
}

Result<std::string> RenderRows(std::string_view format, const Json& header,
                               const std::vector<Json>& rows, std::string_view default_table,
                               const ExecuteOptions& options) {
  const Limits& limits = options.limits;
  if ((format.empty() || format == "table") && !default_table.empty()) format = default_table;
  bool table = format.starts_with("table");
  std::string final_format;
  if (table) {
    final_format = format.substr(5);
  } else if (format == "json") {
    final_format = "{{json .}}";
  } else {
    final_format = format;
  }
  // strings.Trim(format, " ")
  size_t b = final_format.find_first_not_of(' ');
  if (b == std::string::npos) {
    final_format.clear();
  } else {
    final_format = final_format.substr(b, final_format.find_last_not_of(' ') - b + 1);
  }
  final_format = ExpandEscapes(final_format);

  auto tmpl = Template::Parse(final_format, limits);
  ExecuteOptions row_options = options;
  if (!tmpl) return InvalidArgument("template parsing error: " + tmpl.error().message);
  std::string body;
  for (const Json& row : rows) {
    auto line = tmpl->Execute(row, row_options);
    if (!line) return InvalidArgument("template parsing error: " + line.error().message);
    body += *line;
    body += '\n';
  }
  if (!table) return body;

  // docker ignores header errors and keeps whatever was written before the error.
  ExecuteOptions header_options;
  header_options.header_functions = true;
  header_options.limits = limits;
  StringWriter header_out;
  (void)tmpl->Execute(header, header_out, header_options);
  TabWriter tw(10, 1, 3, ' ', 0);
  tw.Write(header_out.str());
  tw.Write("\n");
  tw.Write(body);
  tw.Flush();
  return tw.Take();
}

}  // namespace strata::format
