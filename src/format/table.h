// docker's --format handling (cli/command/formatter): "table [tmpl]" with a header row and
// tabwriter alignment, "json" (one JSON object per line), or a plain per-row template.
#pragma once

#include <deque>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "format/template.h"
#include "util/result.h"

namespace strata::format {

// docker replaces the two-character sequences `\t` and `\n` the user typed with a tab and a
// newline before parsing (formatter.Context.preFormat).
std::string ExpandEscapes(std::string_view format);

// Renders rows the way docker's formatter.Context.Write does:
//  - "table" alone (or "") uses `default_table` (e.g. "table {{.ID}}\t{{.Size}}");
//  - "table <tmpl>": a header row (the template executed over `header`, a map from field
//    name to column title, with docker's HeaderFunctions), then one line per row, all aligned
//    by a tabwriter configured as docker's (minwidth 10, tabwidth 1, padding 3, ' ');
//  - "json": each row as one line of JSON (docker's {{json .}});
//  - anything else: the template executed per row, each followed by a newline.
// Errors are "template parsing error: <go error>" as docker prints them.
Result<std::string> RenderRows(std::string_view format, const Json& header,
                               const std::vector<Json>& rows, std::string_view default_table = "",
                               const ExecuteOptions& options = {});

// Rows whose fields are all strings, as docker's list contexts (images, history) expose
// them, held as views without a JSON object per row: listing 1,000 images must stay well
// under a CLI's latency budget. Templates see each row as a map from field name to string.
class StringRows {
 public:
  explicit StringRows(std::vector<std::string> fields) : fields_(std::move(fields)) {}

  const std::vector<std::string>& fields() const { return fields_; }
  size_t size() const { return fields_.empty() ? 0 : cells_.size() / fields_.size(); }
  // Index of a field name, or npos.
  size_t FieldIndex(std::string_view name) const;

  // Keeps a string alive as long as the rows and returns a view of it, so values shared by
  // several rows (an image's ID and sizes across its tags) are stored once.
  std::string_view Keep(std::string s) { return strings_.emplace_back(std::move(s)); }
  // Appends a row: one value per field, in field order, each a view of Keep()'d or static
  // storage.
  void Add(std::initializer_list<std::string_view> cells);
  std::string_view Get(size_t row, size_t field) const {
    return cells_[row * fields_.size() + field];
  }
  // The row as the JSON object a general template sees.
  Json RowJson(size_t row) const;

 private:
  std::vector<std::string> fields_;
  std::vector<std::string_view> cells_;  // row-major
  std::deque<std::string> strings_;      // stable addresses for the views
};

// RenderRows over string rows: the same output as with one JSON object per row. Templates
// made only of text and `{{.Field}}` over known fields are rendered from the cells directly.
Result<std::string> RenderStringRows(std::string_view format, const Json& header,
                                     const StringRows& rows, std::string_view default_table = "",
                                     const ExecuteOptions& options = {});

// docker's tabwriter settings, applied to already rendered text.
std::string AlignTable(std::string_view text);

}  // namespace strata::format
