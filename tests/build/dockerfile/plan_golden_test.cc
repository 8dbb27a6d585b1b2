// Plan golden cases: tests/testdata/dockerfile/plan/<case>/Dockerfile (+ `args`: build options)
// -> `expected` (DumpPlan, or "error: <message>"). verify-docker.sh records what docker 20.10's
// BuildKit did with the same Dockerfile and options: `docker` ("OK" or its error) and, when the
// build succeeded, `docker-config.json` (`docker image inspect` .Config). The test checks that
// accept/reject agrees unless `differs` explains why, and that the target stage's config equals
// docker's field by field. Base images come from plan/_images/<name>/config.json, recorded from
// the same daemon. STRATA_UPDATE_GOLDEN=1 rewrites `expected`.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "build/dockerfile/plan.h"

namespace strata::dockerfile {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

std::string ReadAll(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

fs::path CasesDir() { return fs::path(STRATA_TESTDATA) / "dockerfile" / "plan"; }

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

// Images the cases build FROM: docker.io/library/<name>:latest -> _images/<name>/config.json.
Result<BaseImage> TestImages(const std::string& ref, const Platform& platform) {
  // The conformance cases' registry holds the same busybox.
  if (ref == "127.0.0.1:5000/busybox:latest")
    return TestImages("docker.io/library/busybox:latest", platform);
  const std::string prefix = "docker.io/library/";
  const std::string suffix = ":latest";
  if (ref.rfind(prefix, 0) == 0 && ref.size() > prefix.size() + suffix.size() &&
      ref.compare(ref.size() - suffix.size(), suffix.size(), suffix) == 0) {
    std::string name = ref.substr(prefix.size(), ref.size() - prefix.size() - suffix.size());
    fs::path cfg = CasesDir() / "_images" / name / "config.json";
    if (fs::exists(cfg)) {
      STRATA_ASSIGN_OR_RETURN(ImageConfig c, ConfigFromJson(ReadAll(cfg)));
      BaseImage img;
      img.ref = ref;
      img.config = std::move(c);
      img.platform = platform;
      return img;
    }
  }
  return NotFound(ref + ": not found");
}

// `args`: one option per line: "build-arg K=V", "target NAME", "platform P".
PlanOptions ReadOptions(const fs::path& dir) {
  PlanOptions o;
  o.build_platform = Platform{"linux", "amd64", ""};
  o.resolve_image = TestImages;
  if (!fs::exists(dir / "args")) return o;
  std::istringstream in(ReadAll(dir / "args"));
  std::string line;
  while (std::getline(in, line)) {
    size_t sp = line.find(' ');
    std::string key = line.substr(0, sp);
    std::string val = sp == std::string::npos ? "" : line.substr(sp + 1);
    if (key == "build-arg") {
      size_t eq = val.find('=');
      o.build_args[val.substr(0, eq)] = eq == std::string::npos ? "" : val.substr(eq + 1);
    } else if (key == "target") {
      o.target = val;
    } else if (key == "platform") {
      auto p = ParsePlatform(val);
      EXPECT_TRUE(p.has_value()) << val;
      if (p) o.target_platform = *p;
    } else if (!key.empty()) {
      ADD_FAILURE() << "unknown option in args: " << line;
    }
  }
  return o;
}

// The fields of docker's Config that a Dockerfile decides.
Json ConfigSubset(const Json& full) {
  static const char* kFields[] = {
      "Env",     "Cmd",        "Entrypoint", "WorkingDir",  "User",    "Labels",     "ExposedPorts",
      "Volumes", "StopSignal", "Shell",      "Healthcheck", "OnBuild", "ArgsEscaped"};
  Json out = Json::object();
  for (const char* f : kFields) {
    if (full.contains(f) && !full[f].is_null()) out[f] = full[f];
  }
  return out;
}

class PlanGoldenTest : public ::testing::TestWithParam<std::string> {};

TEST_P(PlanGoldenTest, MatchesExpected) {
  fs::path dir = CasesDir() / GetParam();
  PlanOptions opts = ReadOptions(dir);
  auto plan = PlanDockerfile(ReadAll(dir / "Dockerfile"), opts);
  std::string actual = plan ? DumpPlan(*plan) : "error: " + plan.error().message + "\n";
  const char* update = std::getenv("STRATA_UPDATE_GOLDEN");
  if (update && std::string(update) == "1") {
    std::ofstream(dir / "expected", std::ios::binary) << actual;
  }
  ASSERT_TRUE(fs::exists(dir / "expected")) << "no expected file; run with STRATA_UPDATE_GOLDEN=1";
  EXPECT_EQ(ReadAll(dir / "expected"), actual);

  if (!fs::exists(dir / "docker")) return;
  bool docker_ok = ReadAll(dir / "docker").rfind("OK", 0) == 0;
  bool ours_ok = plan.has_value();
  if (fs::exists(dir / "differs")) {
    EXPECT_NE(docker_ok, ours_ok) << "`differs` is stale: docker 20.10 now agrees";
    return;
  }
  ASSERT_EQ(docker_ok, ours_ok) << "docker 20.10 " << (docker_ok ? "accepts" : "rejects")
                                << " this case: " << ReadAll(dir / "docker");
  if (docker_ok && fs::exists(dir / "docker-config.json") && !fs::exists(dir / "config-differs")) {
    Json want = ConfigSubset(Json::parse(ReadAll(dir / "docker-config.json")));
    Json got = ConfigSubset(Json::parse(ConfigToJson(plan->stages[plan->target].config)));
    EXPECT_EQ(want.dump(2), got.dump(2)) << "config differs from docker 20.10's";
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, PlanGoldenTest, ::testing::ValuesIn(CaseNames()),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (char& c : n) {
                             if (!isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return n;
                         });

TEST(PlanGoldenSuite, HasEnoughCases) { EXPECT_GE(CaseNames().size(), 150u); }

}  // namespace
}  // namespace strata::dockerfile
