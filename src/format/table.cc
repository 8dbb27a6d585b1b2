#include "format/table.h"

#include <optional>

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

namespace {

// What formatter.Context.preFormat makes of the user's --format: the per-row template and
// whether a table (header + tabwriter) is wanted.
struct Prepared {
  bool table = false;
  std::string row_format;
};

Prepared Prepare(std::string_view format, std::string_view default_table) {
  if ((format.empty() || format == "table") && !default_table.empty()) format = default_table;
  Prepared p;
  p.table = format.starts_with("table");
  if (p.table) {
    p.row_format = format.substr(5);
  } else if (format == "json") {
    p.row_format = "{{json .}}";
  } else {
    p.row_format = format;
  }
  // strings.Trim(format, " ")
  std::string& f = p.row_format;
  size_t b = f.find_first_not_of(' ');
  if (b == std::string::npos) {
    f.clear();
  } else {
    f = f.substr(b, f.find_last_not_of(' ') - b + 1);
  }
  f = ExpandEscapes(f);
  return p;
}

// Adds the header row and aligns: docker ignores header errors and keeps whatever was
// written before the error.
std::string Finish(const Template& tmpl, const Json& header, std::string_view body,
                   const Limits& limits) {
  ExecuteOptions header_options;
  header_options.header_functions = true;
  header_options.limits = limits;
  StringWriter header_out;
  (void)tmpl.Execute(header, header_out, header_options);
  TabWriter tw(10, 1, 3, ' ', 0);
  tw.Write(header_out.str());
  tw.Write("\n");
  tw.Write(body);
  tw.Flush();
  return tw.Take();
}

// Rows rendered through the general template engine, one JSON value at a time.
template <typename RowAt>
Result<std::string> RenderBody(const Template& tmpl, size_t n, RowAt row_at,
                               const ExecuteOptions& options) {
  std::string body;
  for (size_t i = 0; i < n; ++i) {
    auto line = tmpl.Execute(row_at(i), options);
    if (!line) return InvalidArgument("template parsing error: " + line.error().message);
    body += *line;
    body += '\n';
  }
  return body;
}

}  // namespace

Result<std::string> RenderRows(std::string_view format, const Json& header,
                               const std::vector<Json>& rows, std::string_view default_table,
                               const ExecuteOptions& options) {
  Prepared p = Prepare(format, default_table);
  auto tmpl = Template::Parse(p.row_format, options.limits);
  if (!tmpl) return InvalidArgument("template parsing error: " + tmpl.error().message);
  STRATA_ASSIGN_OR_RETURN(
      std::string body,
      RenderBody(
          *tmpl, rows.size(), [&](size_t i) -> const Json& { return rows[i]; }, options));
  if (!p.table) return body;
  return Finish(*tmpl, header, body, options.limits);
}

size_t StringRows::FieldIndex(std::string_view name) const {
  for (size_t i = 0; i < fields_.size(); ++i)
    if (fields_[i] == name) return i;
  return std::string::npos;
}

void StringRows::Add(std::initializer_list<std::string_view> cells) {
  size_t n = 0;
  for (std::string_view c : cells) {
    if (n++ == fields_.size()) break;
    cells_.push_back(c);
  }
  for (; n < fields_.size(); ++n) cells_.emplace_back();
}

Json StringRows::RowJson(size_t row) const {
  Json j = Json::object();
  for (size_t f = 0; f < fields_.size(); ++f) j[fields_[f]] = std::string(Get(row, f));
  return j;
}

Result<std::string> RenderStringRows(std::string_view format, const Json& header,
                                     const StringRows& rows, std::string_view default_table,
                                     const ExecuteOptions& options) {
  Prepared p = Prepare(format, default_table);
  auto tmpl = Template::Parse(p.row_format, options.limits);
  if (!tmpl) return InvalidArgument("template parsing error: " + tmpl.error().message);

  // Fast path: text and {{.Field}} over known fields print the strings as they are, which is
  // what executing the template over the row's JSON object prints.
  std::optional<std::vector<Template::Piece>> pieces = tmpl->PlainFields();
  std::vector<size_t> index;  // per piece: field index, or npos for text
  if (pieces) {
    for (auto& piece : *pieces) {
      index.push_back(piece.is_field ? rows.FieldIndex(piece.text) : std::string::npos);
      if (piece.is_field && index.back() == std::string::npos) {
        pieces.reset();  // unknown field: the general path reports docker's error
        break;
      }
    }
  }
  std::string body;
  if (pieces) {
    // A row's output never comes near the limits: no step or size checks needed.
    for (size_t r = 0; r < rows.size(); ++r) {
      for (size_t i = 0; i < pieces->size(); ++i) {
        if (index[i] == std::string::npos) {
          body += (*pieces)[i].text;
        } else {
          body += rows.Get(r, index[i]);
        }
      }
      body += '\n';
    }
  } else {
    STRATA_ASSIGN_OR_RETURN(
        body, RenderBody(
                  *tmpl, rows.size(), [&](size_t i) { return rows.RowJson(i); }, options));
  }
  if (!p.table) return body;
  return Finish(*tmpl, header, body, options.limits);
}

}  // namespace strata::format
