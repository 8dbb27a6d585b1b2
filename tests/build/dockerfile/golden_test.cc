// Golden cases: tests/testdata/dockerfile/parse/<case>/Dockerfile -> `expected` (the dump, or
// "error: L<line>: <message>" for a Dockerfile BuildKit rejects). Each case may record what
// docker 20.10's BuildKit did with it (`docker`: "OK" or its error text, written by
// verify-docker.sh); accept/reject must agree unless `differs` explains why (a feature newer
// than 20.10's frontend). STRATA_UPDATE_GOLDEN=1 rewrites `expected`.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "build/dockerfile/dump.h"
#include "build/dockerfile/instructions.h"

namespace strata::dockerfile {
namespace {

namespace fs = std::filesystem;

std::string ReadAll(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

fs::path CasesDir() { return fs::path(STRATA_TESTDATA) / "dockerfile" / "parse"; }

std::vector<std::string> CaseNames() {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(CasesDir())) {
    if (e.is_directory() && fs::exists(e.path() / "Dockerfile")) {
      names.push_back(e.path().filename().string());
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string Render(const std::string& text) {
  ParseError detail;
  auto df = ParseDockerfile(text, &detail);
  if (!df) {
    std::string out = "error: L" + std::to_string(detail.line);
    if (detail.end_line != detail.line) out += "-" + std::to_string(detail.end_line);
    return out + ": " + detail.message + "\n";
  }
  return Dump(*df);
}

class GoldenTest : public ::testing::TestWithParam<std::string> {};

TEST_P(GoldenTest, MatchesExpected) {
  fs::path dir = CasesDir() / GetParam();
  std::string actual = Render(ReadAll(dir / "Dockerfile"));
  const char* update = std::getenv("STRATA_UPDATE_GOLDEN");
  if (update && std::string(update) == "1") {
    std::ofstream(dir / "expected", std::ios::binary) << actual;
  }
  ASSERT_TRUE(fs::exists(dir / "expected")) << "no expected file; run with STRATA_UPDATE_GOLDEN=1";
  EXPECT_EQ(ReadAll(dir / "expected"), actual);

  if (fs::exists(dir / "docker")) {
    bool docker_ok = ReadAll(dir / "docker").rfind("OK", 0) == 0;
    bool ours_ok = actual.rfind("error: ", 0) != 0;
    if (fs::exists(dir / "differs")) {
      EXPECT_NE(docker_ok, ours_ok) << "`differs` is stale: docker 20.10 now agrees";
    } else {
      EXPECT_EQ(docker_ok, ours_ok) << "docker 20.10 " << (docker_ok ? "accepts" : "rejects")
                                    << " this Dockerfile: " << ReadAll(dir / "docker");
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, GoldenTest, ::testing::ValuesIn(CaseNames()), [](const auto& info) {
  std::string n = info.param;
  for (char& c : n) {
    if (!isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return n;
});

TEST(GoldenSuite, HasEnoughCases) { EXPECT_GE(CaseNames().size(), 80u); }

}  // namespace
}  // namespace strata::dockerfile
