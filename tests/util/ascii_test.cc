#include "util/ascii.h"

#include <gtest/gtest.h>

namespace strata {
namespace {

TEST(AsciiLower, FoldsOnlyAsciiCapitals) {
  EXPECT_EQ(AsciiLower("Linux/ARM64 v8"), "linux/arm64 v8");
  EXPECT_EQ(AsciiLower("@[`{"), "@[`{");                            // the neighbours of A-Z and a-z
  EXPECT_EQ(AsciiLower("\xC3\x89T\xC3\x89"), "\xC3\x89t\xC3\x89");  // ÉTÉ: É is left alone
  EXPECT_EQ(AsciiLower(""), "");
}

}  // namespace
}  // namespace strata
