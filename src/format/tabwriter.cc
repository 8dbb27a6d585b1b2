#include "format/tabwriter.h"

#include <algorithm>
#include <array>
#include <cstdint>

namespace strata::format {
namespace {

// go-runewidth's RuneWidth, reduced to the common ranges.
size_t RuneWidth(uint32_t r) {
  if (r < 0x20 || (r >= 0x7F && r < 0xA0)) return 0;
  if ((r >= 0x300 && r <= 0x36F) || (r >= 0x200B && r <= 0x200F) || (r >= 0xFE00 && r <= 0xFE0F) ||
      (r >= 0x20D0 && r <= 0x20FF)) {
    return 0;
  }
  if ((r >= 0x1100 && r <= 0x115F) || (r >= 0x2E80 && r <= 0x303E) ||
      (r >= 0x3041 && r <= 0x33FF) || (r >= 0x3400 && r <= 0x4DBF) ||
      (r >= 0x4E00 && r <= 0x9FFF) || (r >= 0xA000 && r <= 0xA4CF) ||
      (r >= 0xAC00 && r <= 0xD7A3) || (r >= 0xF900 && r <= 0xFAFF) ||
      (r >= 0xFE30 && r <= 0xFE4F) || (r >= 0xFF00 && r <= 0xFF60) ||
      (r >= 0xFFE0 && r <= 0xFFE6) || (r >= 0x1F300 && r <= 0x1F64F) ||
      (r >= 0x1F900 && r <= 0x1F9FF) || (r >= 0x20000 && r <= 0x3FFFD)) {
    return 2;
  }
  return 1;
}

}  // namespace

size_t DisplayWidth(std::string_view s) {
  // Nearly every cell is printable ASCII, one column a byte: check that first
  // in a loop the compiler can vectorize.
  bool plain = true;
  for (unsigned char c : s) plain &= c >= 0x20 && c < 0x7F;
  if (plain) return s.size();
  size_t w = 0;
  for (size_t i = 0; i < s.size();) {
    unsigned char c = s[i];
    if (c < 0x80) {  // ASCII, nearly every cell: printable characters are one column wide
      w += c >= 0x20 && c != 0x7F;
      ++i;
      continue;
    }
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    bool ok = n != 0 && i + n <= s.size();
    for (size_t k = 1; ok && k < n; ++k) ok = (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
    if (!ok) {
      w += 1;  // invalid byte: U+FFFD, width 1
      i += 1;
      continue;
    }
    uint32_t r = n == 1 ? c : c & (0xFF >> (n + 1));
    for (size_t k = 1; k < n; ++k) r = (r << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    w += RuneWidth(r);
    i += n;
  }
  return w;
}

TabWriter::TabWriter(int minwidth, int tabwidth, int padding, char padchar, unsigned flags)
    : minwidth_(std::max(minwidth, 0)),
      tabwidth_(std::max(tabwidth, 0)),
      padding_(std::max(padding, 0)),
      padchar_(padchar),
      flags_(padchar == '\t' ? flags & ~kAlignRight : flags) {
  Reset();
}

void TabWriter::Reset() {
  buf_.clear();
  pos_ = 0;
  cell_ = Cell{};
  end_char_ = 0;
  lines_.clear();
  lines_.emplace_back();
}

void TabWriter::Append(std::string_view text) {
  buf_.append(text);
  cell_.size += text.size();
}

void TabWriter::UpdateWidth() {
  cell_.width += DisplayWidth(std::string_view(buf_).substr(pos_));
  pos_ = buf_.size();
}

void TabWriter::EndEscape() {
  if (end_char_ == kEscape) {
    UpdateWidth();
    cell_.width -= std::min<size_t>(cell_.width, 2);  // the Escape bytes are not counted
  }
  pos_ = buf_.size();
  end_char_ = 0;
}

size_t TabWriter::TerminateCell(bool htab) {
  cell_.htab = htab;
  auto& line = lines_.back();
  // Lines of a table have the same number of cells: one allocation per line, not several.
  if (line.empty() && lines_.size() > 1) line.reserve(lines_[lines_.size() - 2].size());
  line.push_back(cell_);
  cell_ = Cell{};
  return lines_.back().size();
}

void TabWriter::Write(std::string_view text) {
  // The bytes that end a cell or start an escape; everything else is cell
  // text, skipped over without per-byte work.
  static constexpr auto kSpecial = [] {
    std::array<bool, 256> t{};
    for (unsigned char c : {'\t', '\v', '\n', '\f', static_cast<char>(kEscape)}) t[c] = true;
    return t;
  }();
  size_t n = 0;
  const size_t size = text.size();
  for (size_t i = 0; i < size; ++i) {
    if (end_char_ == 0) {
      while (i < size && !kSpecial[static_cast<unsigned char>(text[i])]) ++i;
      if (i == size) break;
      char ch = text[i];
      if (ch == kEscape) {
        Append(text.substr(n, i - n));
        UpdateWidth();
        n = i;
        end_char_ = kEscape;
        continue;
      }
      Append(text.substr(n, i - n));
      UpdateWidth();
      n = i + 1;
      size_t ncells = TerminateCell(ch == '\t');
      if (ch == '\n' || ch == '\f') {
        lines_.emplace_back();
        // A single-cell line cannot influence later columns, so everything so far can be
        // formatted; '\f' always ends the column blocks.
        if (ch == '\f' || ncells == 1) {
          FlushInternal();
          if (ch == '\f' && (flags_ & kDebug)) out_ += "---\n";
        }
      }
    } else if (text[i] == end_char_) {
      Append(text.substr(n, i + 1 - n));
      n = i + 1;
      EndEscape();
    }
  }
  Append(text.substr(n));
}

void TabWriter::Flush() { FlushInternal(); }

void TabWriter::WritePadding(size_t textw, size_t cellw, bool use_tabs) {
  if (padchar_ == '\t' || use_tabs) {
    if (tabwidth_ == 0) return;
    size_t tw = static_cast<size_t>(tabwidth_);
    cellw = (cellw + tw - 1) / tw * tw;
    size_t n = cellw > textw ? cellw - textw : 0;
    out_.append((n + tw - 1) / tw, '\t');
    return;
  }
  if (cellw > textw) out_.append(cellw - textw, padchar_);
}

void TabWriter::FlushInternal() {
  if (cell_.size > 0) {
    if (end_char_ != 0) EndEscape();
    TerminateCell(false);
  }
  // Column widths. Go computes them recursively (column blocks nested in the blocks of the
  // column to their left); a block of column c is a maximal run of consecutive lines in which
  // cell c is tab-terminated, i.e. not the last cell, and such runs always nest, so the width
  // of a cell is the maximum over its run. Computed iteratively to bound stack depth.
  const size_t nlines = lines_.size();
  // widths[i] holds the widths of line i's padded cells; one flat array (line i's start at
  // first[i]) spares a table of 1,000 lines 1,000 small allocations.
  std::vector<size_t> first(nlines + 1, 0), count(nlines, 0);
  size_t maxcols = 0, total = 0;
  for (size_t i = 0; i < nlines; ++i) {
    first[i] = total;
    total += lines_[i].size();
    maxcols = std::max(maxcols, lines_[i].size());
  }
  first[nlines] = total;
  std::vector<size_t> flat(total);
  struct Widths {
    std::vector<size_t>& first;
    std::vector<size_t>& count;
    std::vector<size_t>& flat;
    void push(size_t line, size_t w) { flat[first[line] + count[line]++] = w; }
    size_t size(size_t line) const { return count[line]; }
    size_t at(size_t line, size_t j) const { return flat[first[line] + j]; }
  } widths{first, count, flat};
  size_t out_size = out_.size() + buf_.size() + nlines;
  for (size_t c = 0; c + 1 < maxcols; ++c) {
    for (size_t i = 0; i < nlines;) {
      if (lines_[i].size() <= c + 1) {
        ++i;
        continue;
      }
      size_t j = i;
      size_t width = static_cast<size_t>(minwidth_);
      bool discardable = true;
      for (; j < nlines && lines_[j].size() > c + 1; ++j) {
        const Cell& cell = lines_[j][c];
        width = std::max(width, cell.width + padding_);
        if (cell.width > 0 || cell.htab) discardable = false;
      }
      if (discardable && (flags_ & kDiscardEmptyColumns)) width = 0;
      for (size_t k = i; k < j; ++k) {
        widths.push(k, width);
        out_size += width;
      }
      i = j;
    }
  }
  out_.reserve(out_size);
  size_t pos = 0;
  for (size_t i = 0; i < nlines; ++i) {
    const auto& line = lines_[i];
    bool use_tabs = flags_ & kTabIndent;
    for (size_t j = 0; j < line.size(); ++j) {
      const Cell& c = line[j];
      if (j > 0 && (flags_ & kDebug)) out_.push_back('|');
      bool has_width = j < widths.size(i);
      if (c.size == 0) {
        if (has_width) WritePadding(c.width, widths.at(i, j), use_tabs);
      } else {
        use_tabs = false;
        if (!(flags_ & kAlignRight)) {
          out_.append(buf_, pos, c.size);
          pos += c.size;
          if (has_width) WritePadding(c.width, widths.at(i, j), false);
        } else {
          if (has_width) WritePadding(c.width, widths.at(i, j), false);
          out_.append(buf_, pos, c.size);
          pos += c.size;
        }
      }
    }
    if (i + 1 == nlines) {
      out_.append(buf_, pos, cell_.size);
      pos += cell_.size;
    } else {
      out_.push_back('\n');
    }
  }
  Reset();
}

}  // namespace strata::format
