#include "format/tabwriter.h"

#include <gtest/gtest.h>

#include <string>

namespace strata::format {
namespace {

struct TabCase {
  const char* name;
  int minwidth, tabwidth, padding;
  char padchar;
  unsigned flags;
  std::string src, expected;
};

std::string Render(const TabCase& c, size_t chunk) {
  TabWriter tw(c.minwidth, c.tabwidth, c.padding, c.padchar, c.flags);
  for (size_t i = 0; i < c.src.size(); i += chunk)
    tw.Write(std::string_view(c.src).substr(i, chunk));
  tw.Flush();
  return tw.Take();
}

constexpr unsigned kAlignRight = TabWriter::kAlignRight;
constexpr unsigned kDebug = TabWriter::kDebug;
constexpr unsigned kDiscard = TabWriter::kDiscardEmptyColumns;

// Expected outputs follow Go's text/tabwriter semantics (its own test vectors where they do not
// involve wide runes; docker's fork measures East Asian wide runes as two columns).
const TabCase kCases[] = {
    {"empty", 8, 0, 1, '.', 0, "", ""},
    {"esc", 8, 0, 1, '.', 0, "\xff\xff", "\xff\xff"},
    {"esc tab", 8, 0, 1, '.', 0, "\xff\t\xff", "\xff\t\xff"},
    {"esc newline", 8, 0, 1, '.', 0, "\xff\"foo\t\n\tbar\"\xff", "\xff\"foo\t\n\tbar\"\xff"},
    {"unterminated esc", 8, 0, 1, '.', 0, "abc\xff\tdef", "abc\xff\tdef"},
    {"newlines", 8, 0, 1, '.', 0, "\n\n\n", "\n\n\n"},
    {"no tabs", 8, 0, 1, '.', 0, "a\nb\nc", "a\nb\nc"},
    {"lone tab", 8, 0, 1, '.', 0, "\t", ""},
    {"lone tab right", 8, 0, 1, '.', kAlignRight, "\t", ""},
    {"5", 8, 0, 1, '.', 0, "*\t*", "*.......*"},
    {"5b", 8, 0, 1, '.', 0, "*\t*\n", "*.......*\n"},
    {"5c", 8, 0, 1, '.', 0, "*\t*\t", "*.......*"},
    {"5c debug", 8, 0, 1, '.', kDebug, "*\t*\t", "*.......|*"},
    {"5d", 8, 0, 1, '.', kAlignRight, "*\t*\t", ".......**"},
    {"6", 8, 0, 1, '.', 0, "\t\n", "........\n"},
    {"7a", 8, 0, 1, '.', 0, "a) foo", "a) foo"},
    {"7b", 8, 0, 1, ' ', 0, "b) foo\tbar", "b) foo  bar"},
    {"7c", 8, 0, 1, '.', 0, "c) foo\tbar\t", "c) foo..bar"},
    {"7d", 8, 0, 1, '.', 0, "d) foo\tbar\n", "d) foo..bar\n"},
    {"7e", 8, 0, 1, '.', 0, "e) foo\tbar\t\n", "e) foo..bar.....\n"},
    {"8", 8, 0, 1, '*', 0, "Hello, world!\n", "Hello, world!\n"},
    {"9a", 1, 0, 0, '.', 0, "1\t2\t3\t4\n11\t222\t3333\t44444\n", "1.2..3...4\n11222333344444\n"},
    {"9c formfeed", 1, 0, 0, '.', 0, "1\t2\t3\t4\f11\t222\t3333\t44444\n",
     "1234\n11222333344444\n"},
    {"9c debug", 1, 0, 0, '.', kDebug, "1\t2\t3\t4\f11\t222\t3333\t44444\n",
     "1|2|3|4\n---\n11|222|3333|44444\n"},
    {"10a", 5, 0, 0, '.', 0, "1\t2\t3\t4\n", "1....2....3....4\n"},
    {"10b", 5, 0, 0, '.', 0, "1\t2\t3\t4\t\n", "1....2....3....4....\n"},
    {"12a", 8, 0, 1, ' ', kAlignRight,
     "a\t\xc3\xa8\tc\t\naa\t\xc3\xa8\xc3\xa8\xc3\xa8\tcccc\tddddd\t\naaa\t\xc3\xa8\xc3\xa8\xc3\xa8"
     "\xc3\xa8\t\n",
     "       a       \xc3\xa8       c\n      aa     \xc3\xa8\xc3\xa8\xc3\xa8    cccc   ddddd\n"
     "     aaa    \xc3\xa8\xc3\xa8\xc3\xa8\xc3\xa8\n"},
    {"12b", 2, 0, 0, ' ', 0, "a\tb\tc\naa\tbbb\tcccc\naaa\tbbbb\n",
     "a  b  c\naa bbbcccc\naaabbbb\n"},
    {"12c", 8, 0, 1, '_', 0, "a\tb\tc\naa\tbbb\tcccc\naaa\tbbbb\n",
     "a_______b_______c\naa______bbb_____cccc\naaa_____bbbb\n"},
    {"13b", 4, 0, 3, '.', 0,
     "4444\t333\t22\t1\t333\n999999999\t22\n7\t22\n\t\t\t88888888\n\n666666\t666666\t666666\t4444\n"
     "1\t1\t999999999\t0000000000\n",
     "4444........333...22...1...333\n999999999...22\n7...........22\n...................."
     "88888888\n"
     "\n666666...666666...666666......4444\n1........1........999999999...0000000000\n"},
    {"14 right", 1, 0, 2, ' ', kAlignRight,
     ".0\t.3\t2.4\t-5.1\t\n23.0\t12345678.9\t2.4\t-989.4\t\n5.1\t12.0\t2.4\t-7.0\t\n"
     ".0\t0.0\t332.0\t8908.0\t\n.0\t-.3\t456.4\t22.1\t\n.0\t1.2\t44.4\t-13.3\t\t",
     "    .0          .3    2.4    -5.1\n  23.0  12345678.9    2.4  -989.4\n"
     "   5.1        12.0    2.4    -7.0\n    .0         0.0  332.0  8908.0\n"
     "    .0         -.3  456.4    22.1\n    .0         1.2   44.4   -13.3"},
    {"15a", 4, 0, 0, '.', 0, "a\t\tb", "a.......b"},
    {"15b hard tabs kept", 4, 0, 0, '.', kDiscard, "a\t\tb", "a.......b"},
    {"15c soft tabs discarded", 4, 0, 0, '.', kDiscard, "a\v\vb", "a...b"},
    {"15d", 4, 0, 0, '.', kAlignRight | kDiscard, "a\v\vb", "...ab"},
    {"16a tab padding", 100, 100, 0, '\t', 0,
     "a\tb\t\td\na\tb\t\td\te\na\na\tb\tc\td\na\tb\tc\td\te\n",
     "a\tb\t\td\na\tb\t\td\te\na\na\tb\tc\td\na\tb\tc\td\te\n"},
    {"16b discard", 100, 100, 0, '\t', kDiscard,
     "a\vb\v\vd\na\vb\v\vd\ve\na\na\vb\vc\vd\na\vb\vc\vd\ve\n",
     "a\tb\td\na\tb\td\te\na\na\tb\tc\td\na\tb\tc\td\te\n"},
    {"16c debug", 100, 100, 0, '\t', kDiscard | kDebug,
     "a\tb\t\td\na\tb\t\td\te\na\na\tb\tc\td\na\tb\tc\td\te\n",
     "a\t|b\t|\t|d\na\t|b\t|\t|d\t|e\na\na\t|b\t|c\t|d\na\t|b\t|c\t|d\t|e\n"},
    // Docker's width function: CJK runes are two columns wide.
    {"wide runes", 8, 0, 1, '.', 0,
     "\xe6\x9c\xac\tb\tc\naa\t\xe6\x9c\xac\xe6\x9c\xac\xe6\x9c\xac\tcccc\tddddd\naaa\tbbbb\n",
     "\xe6\x9c\xac......b.......c\naa......\xe6\x9c\xac\xe6\x9c\xac\xe6\x9c\xac..cccc....ddddd\n"
     "aaa.....bbbb\n"},
    // docker's settings: minwidth 10, padding 3.
    {"docker", 10, 1, 3, ' ', 0, "NAME\tID\nalpine-with-long-name\t1\n",
     "NAME                    ID\nalpine-with-long-name   1\n"},
};

TEST(TabWriterTest, GoVectors) {
  for (const auto& c : kCases) {
    EXPECT_EQ(Render(c, c.src.size() + 1), c.expected) << c.name;
    // Output must not depend on how the input is split into writes.
    EXPECT_EQ(Render(c, 1), c.expected) << c.name << " (byte by byte)";
    EXPECT_EQ(Render(c, 3), c.expected) << c.name << " (3-byte writes)";
  }
}

TEST(TabWriterTest, DisplayWidth) {
  EXPECT_EQ(DisplayWidth("abc"), 3u);
  EXPECT_EQ(DisplayWidth("h\xc3\xa9llo"), 5u);
  EXPECT_EQ(DisplayWidth("\xe6\x97\xa5\xe6\x9c\xac"), 4u);
  EXPECT_EQ(DisplayWidth("e\xcc\x81"), 1u);  // combining acute accent
  EXPECT_EQ(DisplayWidth(""), 0u);
}

TEST(TabWriterTest, ManyColumnsDoNotRecurse) {
  std::string line;
  for (int i = 0; i < 200000; ++i) line += "a\t";
  line += "\n";
  TabWriter tw(0, 0, 1, ' ', 0);
  tw.Write(line);
  tw.Write(line);
  tw.Flush();
  std::string out = tw.Take();
  EXPECT_EQ(out.size(), 2 * (200000 * 2 + 1));
}

}  // namespace
}  // namespace strata::format
