// Unit tests of the planner's API: options, resolver calls, step records, errors with lines,
// and the value helpers (platforms, references, signals, ports, WORKDIR).
#include "build/dockerfile/plan.h"

#include <gtest/gtest.h>

#include "build/dockerfile/plan_values.h"

namespace strata::dockerfile {
namespace {

PlanOptions Opts() {
  PlanOptions o;
  o.build_platform = Platform{"linux", "amd64", ""};
  return o;
}

TEST(PlanTest, ResolverSeesNormalizedRefAndPlatform) {
  std::vector<std::pair<std::string, std::string>> calls;
  PlanOptions o = Opts();
  o.target_platform = Platform{"linux", "arm64", ""};
  o.resolve_image = [&](const std::string& ref, const Platform& p) -> Result<BaseImage> {
    calls.emplace_back(ref, p.ToString());
    BaseImage img;
    img.config.env = {"FROM_IMAGE=1"};
    img.config.working_dir = "/img";
    return img;
  };
  auto plan = PlanDockerfile(
      "FROM alpine AS unused\nFROM --platform=linux/amd64 busybox:1.36\nRUN true\n", o);
  ASSERT_TRUE(plan) << plan.error().message;
  // The unneeded stage's image is not resolved.
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].first, "docker.io/library/busybox:1.36");
  EXPECT_EQ(calls[0].second, "linux/amd64");
  const PlanStage& s = plan->stages[1];
  EXPECT_TRUE(s.needed);
  EXPECT_FALSE(plan->stages[0].needed);
  EXPECT_TRUE(plan->stages[0].steps.empty());
  ASSERT_EQ(s.steps.size(), 1u);
  EXPECT_EQ(s.steps[0].workdir, "/img");
  EXPECT_EQ(s.steps[0].env, (std::vector<std::string>{"FROM_IMAGE=1",
                                                      "PATH=/usr/local/sbin:/usr/"
                                                      "local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}));
  EXPECT_EQ(plan->order, std::vector<int>{1});
}

TEST(PlanTest, ResolverErrorIsLocated) {
  PlanOptions o = Opts();
  o.resolve_image = [](const std::string& ref, const Platform&) -> Result<BaseImage> {
    return NotFound(ref + ": not found");
  };
  PlanError pe;
  auto plan = PlanDockerfile("# c\nFROM nope\n", o, &pe);
  ASSERT_FALSE(plan);
  EXPECT_EQ(plan.error().message, "Dockerfile:2: nope: docker.io/library/nope:latest: not found");
  EXPECT_EQ(pe.line, 2);
}

TEST(PlanTest, FilenameInErrors) {
  PlanOptions o = Opts();
  o.filename = "app.Dockerfile";
  auto plan = PlanDockerfile("FROM scratch\nSTOPSIGNAL nope\n", o);
  ASSERT_FALSE(plan);
  EXPECT_EQ(plan.error().message, "app.Dockerfile:2: Invalid signal: nope");
}

// ADD --checksum: BuildKit's checks (dockerfile2llb, then go-digest's Parse) fail the plan.
TEST(PlanTest, AddChecksumNeedsOneHttpSourceAndAValidDigest) {
  const std::string sum = "sha256:" + std::string(64, 'a');
  auto plan_of = [&](const std::string& add) {
    return PlanDockerfile("FROM scratch\n" + add + "\n", Opts());
  };
  EXPECT_TRUE(plan_of("ADD --checksum=" + sum + " https://example.com/x.tgz /x"));
  EXPECT_TRUE(plan_of("ARG S=" + sum + "\nADD --checksum=$S http://h/x /x"));
  struct Case {
    std::string add, error;
  } cases[] = {
      {"ADD --checksum=" + sum + " local.txt /x",
       "Dockerfile:2: checksum can't be specified for non-HTTP(S) sources"},
      {"ADD --checksum=" + sum + " http://h/a http://h/b /x/",
       "Dockerfile:2: checksum can't be specified for multiple sources"},
      {"ADD --checksum=nope http://h/a /x", "Dockerfile:2: invalid checksum digest format"},
      {"ADD --checksum=sha256:abc http://h/a /x", "Dockerfile:2: invalid checksum digest length"},
      {"ADD --checksum=md5:abc http://h/a /x", "Dockerfile:2: unsupported digest algorithm"},
      {"ADD --checksum=sha256:" + std::string(64, 'G') + " http://h/a /x",
       "Dockerfile:2: invalid checksum digest format"},
  };
  for (const auto& c : cases) {
    auto plan = plan_of(c.add);
    ASSERT_FALSE(plan) << c.add;
    EXPECT_EQ(plan.error().message, c.error) << c.add;
  }
}

TEST(PlanTest, TargetNotFoundHasNoLine) {
  PlanOptions o = Opts();
  o.target = "x";
  PlanError pe;
  auto plan = PlanDockerfile("FROM scratch AS abcdef\n", o, &pe);
  ASSERT_FALSE(plan);
  EXPECT_EQ(pe.line, 0);
  EXPECT_EQ(plan.error().message, "target stage \"x\" could not be found");
}

TEST(PlanTest, RunRecordsArgvEnvBuildArgsAndUsedVars) {
  PlanOptions o = Opts();
  o.build_args = {{"B", "cli"}, {"http_proxy", "http://p:1"}};
  auto plan = PlanDockerfile(
      "FROM scratch\nARG A=1\nARG B\nSHELL [\"/bin/bash\", \"-c\"]\n"
      "RUN --mount=type=cache,target=/c/$A echo hi\nENV E=$A$B\n",
      o);
  ASSERT_TRUE(plan) << plan.error().message;
  const Step& run = plan->stages[0].steps[3];
  EXPECT_EQ(run.args, (std::vector<std::string>{"/bin/bash", "-c", "echo hi"}));
  EXPECT_EQ(run.build_args, (std::vector<std::string>{"A=1", "B=cli"}));
  EXPECT_EQ(run.proxy_env, std::vector<std::string>{"http_proxy=http://p:1"});
  EXPECT_EQ(run.used_vars, std::set<std::string>{"A"});
  const auto& mount = std::get<RunCommand>(run.instruction.command).mounts.at(0);
  EXPECT_EQ(mount.target, "/c/1");
  EXPECT_EQ(mount.type, MountType::kCache);
  const Step& env = plan->stages[0].steps[4];
  EXPECT_EQ(env.used_vars, (std::set<std::string>{"A", "B"}));
  EXPECT_EQ(plan->stages[0].config.env.back(), "E=1cli");
  EXPECT_TRUE(plan->warnings.empty());
}

TEST(PlanTest, UnusedBuildArgWarning) {
  PlanOptions o = Opts();
  o.build_args = {{"ZED", "1"}, {"ALPHA", "2"}, {"USED", "3"}, {"TARGETARCH", "x"}};
  auto plan = PlanDockerfile("FROM scratch\nARG USED\n", o);
  ASSERT_TRUE(plan);
  ASSERT_EQ(plan->warnings.size(), 1u);
  EXPECT_EQ(plan->warnings[0].message,
            "[Warning] One or more build-args [ALPHA ZED] were not consumed");
}

TEST(PlanTest, SourcesOfCopyAndMounts) {
  auto plan = PlanDockerfile(
      "FROM scratch AS a\nFROM scratch AS b\nCOPY --from=a / /\nCOPY --from=alpine / /\n"
      "RUN --mount=from=a,target=/m --mount=type=tmpfs,target=/t true\n",
      Opts());
  ASSERT_TRUE(plan) << plan.error().message;
  const PlanStage& b = plan->stages[1];
  EXPECT_EQ(b.deps, std::vector<int>{0});
  EXPECT_EQ(b.image_deps, std::vector<std::string>{"docker.io/library/alpine:latest"});
  EXPECT_EQ(b.steps[0].sources, (std::vector<Source>{{0, ""}}));
  EXPECT_EQ(b.steps[1].sources, (std::vector<Source>{{-1, "docker.io/library/alpine:latest"}}));
  EXPECT_EQ(b.steps[2].sources, (std::vector<Source>{{0, ""}}));
}

TEST(PlanTest, ConfigJsonRoundTrip) {
  ImageConfig c;
  c.env = {"A=1"};
  c.cmd = std::vector<std::string>{};
  c.labels = {{"k", "v"}};
  c.exposed_ports = {"80/tcp"};
  c.volumes = {"/v"};
  c.stop_signal = "SIGINT";
  c.shell = {"/bin/sh", "-c"};
  c.healthcheck = HealthConfig{{"CMD", "true"}, 30000000000, 0, 0, 0, 3};
  c.on_build = {"RUN x"};
  c.args_escaped = true;
  c.working_dir = "/w";
  c.user = "u";
  auto back = ConfigFromJson(ConfigToJson(c));
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, c);
  EXPECT_EQ(ConfigToJson(ImageConfig{}),
            R"({"Cmd":null,"Entrypoint":null,"Env":null,"Labels":null,"OnBuild":null,)"
            R"("User":"","Volumes":null,"WorkingDir":""})");
}

TEST(PlanTest, InvalidUtf8IsDumpedNotThrown) {
  auto plan = PlanDockerfile("FROM scratch\nENV A=\xff\xfe\nLABEL k=\xc3\n", Opts());
  ASSERT_TRUE(plan) << plan.error().message;
  std::string json = ConfigToJson(plan->stages[0].config);
  EXPECT_NE(json.find("A=\xef\xbf\xbd\xef\xbf\xbd"), std::string::npos) << json;
  EXPECT_FALSE(DumpPlan(*plan).empty());
}

TEST(PlanTest, OnbuildTriggerFromImageRunsFirstAndIsNotInherited) {
  PlanOptions o = Opts();
  o.resolve_image = [](const std::string& ref, const Platform&) -> Result<BaseImage> {
    BaseImage img;
    img.ref = ref;
    img.config.on_build = {"ENV T=1", "COPY --from=helper /a /b"};
    return img;
  };
  auto plan = PlanDockerfile("FROM scratch AS helper\nFROM parent\nENV X=$T\nONBUILD RUN x\n", o);
  ASSERT_TRUE(plan) << plan.error().message;
  const PlanStage& s = plan->stages[1];
  ASSERT_EQ(s.steps.size(), 4u);
  EXPECT_TRUE(s.steps[0].from_onbuild);
  EXPECT_TRUE(s.steps[1].from_onbuild);
  EXPECT_EQ(s.steps[1].sources, (std::vector<Source>{{0, ""}}));
  EXPECT_TRUE(plan->stages[0].needed);  // reachable only through the trigger
  EXPECT_EQ(plan->order, (std::vector<int>{0, 1}));
  EXPECT_EQ(s.config.on_build, std::vector<std::string>{"RUN x"});
  EXPECT_EQ(s.config.env.back(), "X=1");

  auto bad = PlanDockerfile("FROM parent AS x\n", [] {
    PlanOptions o = Opts();
    o.resolve_image = [](const std::string& ref, const Platform&) -> Result<BaseImage> {
      BaseImage img;
      img.config.on_build = {"ENV A=1\nENV B=2"};
      return img;
    };
    return o;
  }());
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "Dockerfile:1: onbuild trigger should be a single expression");
}

TEST(PlanValuesTest, Platforms) {
  EXPECT_EQ(ParsePlatform("linux/x86_64")->ToString(), "linux/amd64");
  EXPECT_EQ(ParsePlatform("linux/aarch64")->ToString(), "linux/arm64");
  EXPECT_EQ(ParsePlatform("linux/arm64/v8")->ToString(), "linux/arm64");
  EXPECT_EQ(ParsePlatform("linux/arm")->ToString(), "linux/arm/v7");
  EXPECT_EQ(ParsePlatform("linux/armhf")->ToString(), "linux/arm/v7");
  EXPECT_EQ(ParsePlatform("arm64")->ToString(), "linux/arm64");
  EXPECT_EQ(ParsePlatform("Linux/AMD64")->ToString(), "linux/amd64");
  EXPECT_FALSE(ParsePlatform("nonsense"));
  EXPECT_FALSE(ParsePlatform("linux/amd64/v2/x"));
  EXPECT_FALSE(ParsePlatform("linux//amd64"));
}

TEST(PlanValuesTest, References) {
  EXPECT_EQ(*NormalizeImageReference("busybox"), "docker.io/library/busybox:latest");
  EXPECT_EQ(*NormalizeImageReference("user/app:1.0"), "docker.io/user/app:1.0");
  EXPECT_EQ(*NormalizeImageReference("localhost:5000/app"), "localhost:5000/app:latest");
  EXPECT_EQ(*NormalizeImageReference("127.0.0.1:5000/busybox:latest"),
            "127.0.0.1:5000/busybox:latest");
  EXPECT_EQ(*NormalizeImageReference("Example.com/a/b_c__d-e:TAG"), "Example.com/a/b_c__d-e:TAG");
  std::string d = "sha256:" + std::string(64, 'a');
  EXPECT_EQ(*NormalizeImageReference("busybox@" + d), "docker.io/library/busybox@" + d);
  EXPECT_EQ(NormalizeImageReference("Busybox").error().message,
            "invalid reference format: repository name must be lowercase");
  EXPECT_EQ(NormalizeImageReference("a..b").error().message, "invalid reference format");
  EXPECT_EQ(NormalizeImageReference("a:b:c").error().message, "invalid reference format");
  EXPECT_FALSE(NormalizeImageReference("-a"));
}

TEST(PlanValuesTest, Signals) {
  for (const char* ok : {"SIGKILL", "kill", "9", "SIGRTMIN+3", "RTMAX-1", "sigusr1"}) {
    EXPECT_TRUE(ValidateStopSignal(ok)) << ok;
  }
  for (const char* bad : {"0", "SIGFOO", "", "RTMIN+16"}) {
    EXPECT_FALSE(ValidateStopSignal(bad)) << bad;
  }
}

TEST(PlanValuesTest, Ports) {
  EXPECT_EQ(*ParsePortSpec("80"), std::vector<std::string>{"80/tcp"});
  EXPECT_EQ(*ParsePortSpec("53/UDP"), std::vector<std::string>{"53/udp"});
  EXPECT_EQ(*ParsePortSpec("7000-7002"),
            (std::vector<std::string>{"7000/tcp", "7001/tcp", "7002/tcp"}));
  EXPECT_EQ(*ParsePortSpec("127.0.0.1:8080:80"), std::vector<std::string>{"80/tcp"});
  EXPECT_EQ(ParsePortSpec("80/http").error().message, "invalid proto: http");
  EXPECT_EQ(ParsePortSpec("x").error().message, "invalid containerPort: x");
  EXPECT_EQ(ParsePortSpec("70000").error().message, "invalid containerPort: 70000");
}

TEST(PlanValuesTest, Workdir) {
  EXPECT_EQ(*NormalizeWorkdir("", "rel"), "/rel");
  EXPECT_EQ(*NormalizeWorkdir("/a/b", "../c"), "/a/c");
  EXPECT_EQ(*NormalizeWorkdir("/a", "/x/./y/"), "/x/./y/");
  EXPECT_EQ(*NormalizeWorkdir("/a/", "./b/"), "/a/b");
  EXPECT_EQ(*NormalizeWorkdir("/a", "../../.."), "/");
  EXPECT_EQ(*NormalizeWorkdir("/a", ""), "/a");
}

}  // namespace
}  // namespace strata::dockerfile
