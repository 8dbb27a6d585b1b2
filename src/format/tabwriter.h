// Go's text/tabwriter as docker/cli vendors it (cli/command/formatter/tabwriter): elastic
// tabstops over tab-terminated cells, display width per East Asian width rules.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace strata::format {

// Display width of UTF-8 text in terminal columns (wide CJK runes count 2, combining marks 0).
size_t DisplayWidth(std::string_view s);

// Buffers text written to it and aligns tab-terminated cells into columns. Cells in contiguous
// lines that are terminated by '\t' form a column; the last cell of a line (not tab-terminated)
// belongs to no column. A line with a single cell, or '\f', ends all column blocks.
class TabWriter {
 public:
  enum Flags : unsigned {
    kAlignRight = 1 << 2,
    kDiscardEmptyColumns = 1 << 3,
    kTabIndent = 1 << 4,
    kDebug = 1 << 5,
  };
  // minwidth: minimal cell width including padding; tabwidth: width of a tab when padchar is
  // '\t'; padding: added to the widest cell of a column. docker uses (10, 1, 3, ' ', 0).
  TabWriter(int minwidth, int tabwidth, int padding, char padchar, unsigned flags);

  void Write(std::string_view text);
  // Formats everything buffered and returns the output produced since the last Take().
  void Flush();
  std::string Take() { return std::move(out_); }

 private:
  struct Cell {
    size_t size = 0;
    size_t width = 0;
    bool htab = false;
  };
  static constexpr char kEscape = '\xff';

  void Reset();
  void Append(std::string_view text);
  void UpdateWidth();
  void EndEscape();
  size_t TerminateCell(bool htab);
  void FlushInternal();
  void WritePadding(size_t textw, size_t cellw, bool use_tabs);

  int minwidth_, tabwidth_, padding_;
  char padchar_;
  unsigned flags_;

  std::string buf_;
  size_t pos_ = 0;
  Cell cell_;
  char end_char_ = 0;
  std::vector<std::vector<Cell>> lines_;
  std::string out_;
};

}  // namespace strata::format
