#include "util/human.h"

#include <gtest/gtest.h>

#include <chrono>

namespace strata {
namespace {

using namespace std::chrono_literals;

TEST(HumanSizeTest, DecimalUnitsFourDigits) {
  const std::pair<double, const char*> cases[] = {
      {0, "0B"},           {1, "1B"},          {999, "999B"},         {1000, "1kB"},
      {1024, "1.024kB"},   {1500, "1.5kB"},    {1000000, "1MB"},      {1048576, "1.049MB"},
      {2e6, "2MB"},        {3.42e9, "3.42GB"}, {5.372e12, "5.372TB"}, {2.22e15, "2.22PB"},
      {1e18, "1EB"},       {1e21, "1ZB"},      {1e24, "1YB"},         {1e27, "1000YB"},
      {123456, "123.5kB"}, {999999, "1000kB"},
  };
  for (const auto& [bytes, want] : cases) EXPECT_EQ(HumanSize(bytes), want) << bytes;
}

TEST(HumanSizeTest, DockerImagesPrecisionThree) {
  EXPECT_EQ(HumanSizeWithPrecision(7800000, 3), "7.8MB");
  EXPECT_EQ(HumanSizeWithPrecision(123456789, 3), "123MB");
  EXPECT_EQ(HumanSizeWithPrecision(7341217, 3), "7.34MB");
  EXPECT_EQ(HumanSizeWithPrecision(1234, 3), "1.23kB");
  EXPECT_EQ(HumanSizeWithPrecision(0, 3), "0B");
  EXPECT_EQ(HumanSizeWithPrecision(1.2e9, 3), "1.2GB");
  EXPECT_EQ(HumanSizeWithPrecision(1500, 1), "2kB");
}

TEST(HumanSizeTest, BinaryUnits) {
  EXPECT_EQ(BytesSize(0), "0B");
  EXPECT_EQ(BytesSize(1023), "1023B");
  EXPECT_EQ(BytesSize(1024), "1KiB");
  EXPECT_EQ(BytesSize(1024 * 1024), "1MiB");
  EXPECT_EQ(BytesSize(1.5 * 1024 * 1024), "1.5MiB");
  EXPECT_EQ(BytesSize(3.5 * 1024 * 1024 * 1024), "3.5GiB");
  EXPECT_EQ(BytesSize(1000), "1000B");
  EXPECT_EQ(BytesSize(123456), "120.6KiB");
}

TEST(HumanDurationTest, GoUnitsBuckets) {
  const std::pair<std::chrono::nanoseconds, const char*> cases[] = {
      {0s, "Less than a second"},
      {999ms, "Less than a second"},
      {1s, "1 second"},
      {15s, "15 seconds"},
      {59s, "59 seconds"},
      {60s, "About a minute"},
      {1min + 59s, "About a minute"},
      {2min, "2 minutes"},
      {59min, "59 minutes"},
      {60min, "About an hour"},
      {1h + 29min, "About an hour"},
      {1h + 30min, "2 hours"},
      {47h, "47 hours"},
      {47h + 30min, "2 days"},
      {48h, "2 days"},
      {24h * 13, "13 days"},
      {24h * 14, "2 weeks"},
      {24h * 59, "8 weeks"},
      {24h * 60, "2 months"},
      {24h * 364, "12 months"},
      {24h * 365 * 2, "2 years"},
      {24h * 365 * 3 + 24h * 100, "3 years"},
      {-5s, "Less than a second"},
  };
  for (const auto& [d, want] : cases) EXPECT_EQ(HumanDuration(d), want) << d.count();
  EXPECT_EQ(HumanDuration(std::chrono::seconds(90)), "About a minute");
}

TEST(ParseSizeTest, FromHumanSizeDecimal) {
  const std::pair<const char*, int64_t> cases[] = {
      {"32", 32},
      {"32b", 32},
      {"32B", 32},
      {"32k", 32000},
      {"32K", 32000},
      {"32kb", 32000},
      {"32Kb", 32000},
      {"32Kib", 32000},
      {"32Mb", 32000000},
      {"32Gb", 32000000000},
      {"32Tb", 32000000000000},
      {"32.3", 32},
      {"32.3 MB",
       32299999},  // float64 32.3*1e6, truncated, as Go {"10MB", 10000000},  {"0.5kB", 500},
  };
  for (const auto& [s, want] : cases) {
    auto r = FromHumanSize(s);
    ASSERT_TRUE(r) << s << ": " << r.error().message;
    EXPECT_EQ(*r, want) << s;
  }
}

TEST(ParseSizeTest, RAMInBytesBinary) {
  const std::pair<const char*, int64_t> cases[] = {
      {"32", 32},         {"32b", 32},           {"32k", 32768},     {"32kb", 32768},
      {"32Kib", 32768},   {"32m", 33554432},     {"32mb", 33554432}, {"1GiB", 1073741824},
      {"1g", 1073741824}, {"2t", 2199023255552}, {"0.3MB", 314572},  {"1.5 GB", 1610612736},
  };
  for (const auto& [s, want] : cases) {
    auto r = RAMInBytes(s);
    ASSERT_TRUE(r) << s << ": " << r.error().message;
    EXPECT_EQ(*r, want) << s;
  }
}

TEST(ParseSizeTest, RejectsMalformed) {
  const std::pair<const char*, const char*> cases[] = {
      {"", "invalid size: ''"},
      {"hello", "invalid size: 'hello'"},
      {"-32", "invalid size: '-32'"},
      {"32.3Jb", "invalid suffix: 'jb'"},
      {"32bm", "invalid suffix: 'bm'"},
      {"32kbx", "invalid suffix: 'kbx'"},
      {"32mbb", "invalid suffix: 'mbb'"},
      {"32mx", "invalid suffix: 'mx'"},
      {"32mib2", nullptr},
  };
  for (const auto& [s, want] : cases) {
    for (bool binary : {false, true}) {
      auto r = binary ? RAMInBytes(s) : FromHumanSize(s);
      ASSERT_FALSE(r) << s;
      EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
      if (want) {
        EXPECT_EQ(r.error().message, want) << s;
      }
    }
  }
}

}  // namespace
}  // namespace strata
