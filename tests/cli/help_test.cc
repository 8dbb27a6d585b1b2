// Help texts against docker 28's, recorded in tests/testdata/docker/help/ with
// `docker CMD --help </dev/null` (so at its non-terminal width of 80).
#include <gtest/gtest.h>

#include <regex>

#include "cli_helpers.h"

namespace strata::testing {
namespace {

TEST(HelpTest, MatchesDockersWordForWordWhereTheFlagsAgree) {
  StrataEnv env;
  for (const char* cmd : {"tag", "import", "version", "builder prune"}) {
    std::string want =
        Slurp(std::string(STRATA_TESTDATA) + "/docker/help/" + std::string(cmd) + ".txt");
    ASSERT_FALSE(want.empty()) << cmd;
    // The program's own name is the only difference.
    want = std::regex_replace(want, std::regex("docker (\\w)"), "strata $1");
    want = std::regex_replace(want, std::regex("the Docker version"), "the strata version");
    auto r = env.Run(std::string(cmd) + " --help");
    EXPECT_EQ(r.rc, 0);
    EXPECT_EQ(r.out, want) << cmd;
  }
}

TEST(HelpTest, LongFlagHelpWrapsAtDockersWidthAndFlagsAreSorted) {
  StrataEnv env;
  auto r = env.Run("history --help");
  // pflag order (by long name) and wrapping at column 79, indented under the text.
  EXPECT_NE(r.out.find("  -H, --human           Print sizes and dates in human readable format\n"
                       "                        (default true)\n"
                       "      --no-trunc        Don't truncate output\n"
                       "  -q, --quiet           Only show image IDs\n"),
            std::string::npos)
      << r.out;
}

}  // namespace
}  // namespace strata::testing
