#include "image/platform.h"

#include <gtest/gtest.h>

namespace strata::image {
namespace {

Platform P(const char* os, const char* arch, const char* variant = "") {
  Platform p;
  p.os = os;
  p.architecture = arch;
  p.variant = variant;
  return p;
}

TEST(PlatformTest, ParseLikeContainerd) {
  struct {
    const char* in;
    const char* os;
    const char* arch;
    const char* variant;
    const char* os_version;
  } cases[] = {
      {"linux/amd64", "linux", "amd64", "", ""},
      {"linux/x86_64", "linux", "amd64", "", ""},
      {"Linux/AMD64", "linux", "amd64", "", ""},
      {"linux/amd64/v1", "linux", "amd64", "", ""},
      {"linux/amd64/v3", "linux", "amd64", "v3", ""},
      {"linux/arm64", "linux", "arm64", "", ""},
      {"linux/aarch64", "linux", "arm64", "", ""},
      {"linux/arm64/v8", "linux", "arm64", "v8", ""},  // three parts: arm64 keeps v8
      {"linux/aarch64/8", "linux", "arm64", "v8", ""},
      {"linux/arm", "linux", "arm", "", ""},  // two parts: the default v7 is implied
      {"linux/arm/v7", "linux", "arm", "v7", ""},
      {"linux/arm/7", "linux", "arm", "v7", ""},
      {"linux/arm/6", "linux", "arm", "v6", ""},
      {"linux/armhf", "linux", "arm", "", ""},
      {"linux/armel", "linux", "arm", "v6", ""},
      {"linux/i386", "linux", "386", "", ""},
      {"linux/ppc64le", "linux", "ppc64le", "", ""},
      {"macos/arm64", "darwin", "arm64", "", ""},
      {"windows(10.0.17763)/amd64", "windows", "amd64", "", "10.0.17763"},
      {"amd64", "linux", "amd64", "", ""},
      {"aarch64", "linux", "arm64", "", ""},
      {"armhf", "linux", "arm", "", ""},
      {"s390x", "linux", "s390x", "", ""},
  };
  for (const auto& c : cases) {
    auto p = ParsePlatform(c.in);
    ASSERT_TRUE(p) << c.in << ": " << p.error().message;
    EXPECT_EQ(p->os, c.os) << c.in;
    EXPECT_EQ(p->architecture, c.arch) << c.in;
    EXPECT_EQ(p->variant, c.variant) << c.in;
    EXPECT_EQ(p->os_version, c.os_version) << c.in;
  }
  auto linux_only = ParsePlatform("linux");
  ASSERT_TRUE(linux_only);
  EXPECT_EQ(linux_only->os, "linux");
  EXPECT_EQ(linux_only->architecture, HostPlatform().architecture);
  auto feats = ParsePlatform("windows(10.0.17763+win32k+b%2Bc)/amd64");
  ASSERT_TRUE(feats) << feats.error().message;
  EXPECT_EQ(feats->os_features, (std::vector<std::string>{"win32k", "b+c"}));
}

TEST(PlatformTest, ParseErrors) {
  struct {
    const char* in;
    const char* message;
  } cases[] = {
      {"foo", "\"foo\": unknown operating system or architecture: invalid argument"},
      {"linux/*", "\"linux/*\": wildcards not yet supported: invalid argument"},
      {"linux/amd64/v2/x",
       "\"linux/amd64/v2/x\": cannot parse platform specifier: invalid argument"},
      {"linux/am d64", "\"am d64\" is an invalid component of \"linux/am d64\": invalid argument"},
      {"linux//", "\"\" is an invalid component of \"linux//\": invalid argument"},
      {"", "\"\" is an invalid OS component of \"\": invalid argument"},
      {"li.nux/amd64",
       "\"li.nux\" is an invalid OS component of \"li.nux/amd64\": invalid argument"},
      {"windows(1/amd64",
       "\"windows(1\" is an invalid OS component of \"windows(1/amd64\": invalid argument"},
  };
  for (const auto& c : cases) {
    auto p = ParsePlatform(c.in);
    ASSERT_FALSE(p) << c.in;
    EXPECT_EQ(p.error().message, c.message) << c.in;
  }
}

TEST(PlatformTest, FormatAndNormalize) {
  EXPECT_EQ(FormatPlatform(P("linux", "arm64", "v8")), "linux/arm64/v8");
  EXPECT_EQ(FormatPlatform(P("linux", "amd64")), "linux/amd64");
  EXPECT_EQ(FormatPlatform(P("", "amd64")), "unknown");
  Platform w = P("windows", "amd64");
  w.os_version = "10.0.17763";
  w.os_features = {"z", "a+b"};
  EXPECT_EQ(FormatPlatformAll(w), "windows(10.0.17763+a%2Bb+z)/amd64");
  EXPECT_EQ(FormatPlatform(w), "windows/amd64");

  EXPECT_EQ(FormatPlatform(Normalize(P("Linux", "x86_64", "v1"))), "linux/amd64");
  EXPECT_EQ(FormatPlatform(Normalize(P("linux", "aarch64", "v8"))), "linux/arm64");
  EXPECT_EQ(FormatPlatform(Normalize(P("linux", "arm", ""))), "linux/arm/v7");
  EXPECT_EQ(FormatPlatform(Normalize(P("linux", "armel", ""))), "linux/arm/v6");
  EXPECT_EQ(FormatPlatform(Normalize(P("", "i386", "x"))), "linux/386");
  EXPECT_EQ(FormatPlatform(Normalize(P("macos", "arm64", "8"))), "darwin/arm64");
}

TEST(PlatformTest, HostMapping) {
  struct {
    const char* machine;
    const char* arch;
    const char* variant;
  } cases[] = {
      {"x86_64", "amd64", ""},      {"aarch64", "arm64", "v8"},
      {"arm64", "arm64", "v8"},     {"armv7l", "arm", "v7"},
      {"armv6l", "arm", "v6"},      {"armv5tel", "arm", "v5"},
      {"armv8l", "arm", "v8"},      {"i686", "386", ""},
      {"i386", "386", ""},          {"ppc64le", "ppc64le", ""},
      {"s390x", "s390x", ""},       {"riscv64", "riscv64", ""},
      {"mips64el", "mips64le", ""}, {"loongarch64", "loong64", ""},
  };
  for (const auto& c : cases) {
    Platform p = PlatformFromMachine("linux", c.machine);
    EXPECT_EQ(p.os, "linux");
    EXPECT_EQ(p.architecture, c.arch) << c.machine;
    EXPECT_EQ(p.variant, c.variant) << c.machine;
  }
  Platform host = HostPlatform();
  EXPECT_EQ(host.os, "linux");
  EXPECT_FALSE(host.architecture.empty());
  EXPECT_TRUE(PlatformMatcher(host).Match(host));
}

TEST(PlatformTest, MatcherRanksCompatiblePlatforms) {
  PlatformMatcher arm64(P("linux", "arm64", "v8"));
  EXPECT_EQ(arm64.Rank(P("linux", "arm64")), 0);
  EXPECT_EQ(arm64.Rank(P("linux", "aarch64", "v8")), 0);
  EXPECT_EQ(arm64.Rank(P("linux", "arm", "v8")), 1);
  EXPECT_EQ(arm64.Rank(P("linux", "arm", "v7")), 2);
  EXPECT_EQ(arm64.Rank(P("linux", "arm")), 2);  // arm with no variant is v7
  EXPECT_EQ(arm64.Rank(P("linux", "arm", "v5")), 4);
  EXPECT_EQ(arm64.Rank(P("linux", "amd64")), -1);
  EXPECT_EQ(arm64.Rank(P("windows", "arm64")), -1);

  PlatformMatcher amd64(P("linux", "amd64"));
  EXPECT_TRUE(amd64.Match(P("linux", "x86_64")));
  EXPECT_TRUE(amd64.Match(P("linux", "amd64", "v1")));
  EXPECT_TRUE(amd64.Match(P("", "amd64")));  // empty OS defaults to linux
  EXPECT_EQ(amd64.Rank(P("linux", "386")), 1);
  EXPECT_FALSE(amd64.Match(P("linux", "amd64", "v2")));

  PlatformMatcher v3(P("linux", "amd64", "v3"));
  EXPECT_EQ(v3.Rank(P("linux", "amd64", "v2")), 1);
  EXPECT_EQ(v3.Rank(P("linux", "amd64")), 2);
  EXPECT_EQ(v3.Rank(P("linux", "386")), 3);

  PlatformMatcher arm7(P("linux", "arm", "v7"));
  EXPECT_TRUE(arm7.Match(P("linux", "arm", "v6")));
  EXPECT_FALSE(arm7.Match(P("linux", "arm", "v8")));
  EXPECT_FALSE(PlatformMatcher::Strict(P("linux", "arm", "v7")).Match(P("linux", "arm", "v6")));

  // A candidate's OS features must be a subset of the wanted platform's.
  Platform want = P("windows", "amd64");
  want.os_features = {"win32k"};
  Platform has = P("windows", "amd64");
  has.os_features = {"win32k"};
  Platform more = has;
  more.os_features.push_back("other");
  EXPECT_TRUE(PlatformMatcher(want).Match(has));
  EXPECT_TRUE(PlatformMatcher(want).Match(P("windows", "amd64")));
  EXPECT_FALSE(PlatformMatcher(want).Match(more));
}

TEST(PlatformTest, JsonRoundTrip) {
  OrderedJson j = OrderedJson::parse(
      R"({"architecture":"arm","os":"linux","variant":"v7","features":["sse4"]})");
  auto p = Platform::FromJson(j);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->variant, "v7");
  EXPECT_EQ(GoMarshal(p->ToJson()), j.dump());
  Platform fresh = P("windows", "amd64");
  fresh.os_version = "10.0";
  EXPECT_EQ(GoMarshal(fresh.ToJson()),
            R"({"architecture":"amd64","os":"windows","os.version":"10.0"})");
}

}  // namespace
}  // namespace strata::image
