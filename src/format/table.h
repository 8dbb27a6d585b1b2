// docker's --format handling (cli/command/formatter): "table [tmpl]" with a header row and
// tabwriter alignment, "json" (one JSON object per line), or a plain per-row template.
#pragma once

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

// docker's tabwriter settings, applied to already rendered text.
std::string AlignTable(std::string_view text);

}  // namespace strata::format
