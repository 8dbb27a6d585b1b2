#include "util/utf8.h"

#include <gtest/gtest.h>

namespace strata {
namespace {

std::string Encode(uint32_t r) {
  std::string s;
  AppendUtf8(&s, r);
  return s;
}

TEST(AppendUtf8, EncodesEachWidth) {
  EXPECT_EQ(Encode('a'), "a");
  EXPECT_EQ(Encode(0xE9), "\xC3\xA9");              // é
  EXPECT_EQ(Encode(0x20AC), "\xE2\x82\xAC");        // €
  EXPECT_EQ(Encode(0x1F600), "\xF0\x9F\x98\x80");   // 😀
  EXPECT_EQ(Encode(0x10FFFF), "\xF4\x8F\xBF\xBF");  // the last code point
}

TEST(AppendUtf8, InvalidBecomesReplacementCharacter) {
  EXPECT_EQ(Encode(0xD800), "\xEF\xBF\xBD");    // a surrogate half
  EXPECT_EQ(Encode(0x110000), "\xEF\xBF\xBD");  // past U+10FFFF
}

TEST(AppendUtf8, Appends) {
  std::string s = "x";
  AppendUtf8(&s, 0xE9);
  EXPECT_EQ(s, "x\xC3\xA9");
}

}  // namespace
}  // namespace strata
