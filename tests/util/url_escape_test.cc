#include "util/url_escape.h"

#include <gtest/gtest.h>

namespace strata {
namespace {

TEST(UrlEscape, PathUnescapeAsGo) {
  EXPECT_EQ(PathUnescape("a%20b%2Bc+d"), "a b+c+d");
  EXPECT_EQ(PathUnescape("%2b%2F"), "+/");
  EXPECT_EQ(PathUnescape(""), "");
  EXPECT_EQ(PathUnescape("%"), std::nullopt);
  EXPECT_EQ(PathUnescape("x%2"), std::nullopt);
  EXPECT_EQ(PathUnescape("%zz"), std::nullopt);
}

}  // namespace
}  // namespace strata
