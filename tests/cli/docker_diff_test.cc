// Differential tests against real Docker (a private dockerd started by
// scripts/test-all.sh; STRATA_TEST_DOCKER_HOST points at it). The same
// rootfs goes into both; IDs, configs and archives must agree.
#include <gtest/gtest.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "cli_helpers.h"

namespace strata::testing {
namespace {

class DockerDiffTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* host = std::getenv("STRATA_TEST_DOCKER_HOST");
    if (!host || !*host) GTEST_SKIP() << "no private dockerd (STRATA_TEST_DOCKER_HOST unset)";
    docker_ = "DOCKER_HOST=" + std::string(host) + " docker";
    tar_ = env_.BusyboxTar();
    tag_ = "strata-diff-" + std::to_string(::getpid());
  }
  void TearDown() override {
    if (!docker_.empty()) env_.Shell(docker_ + " rmi -f " + tag_ + ":a " + tag_ + ":b");
  }
  RunResult Docker(const std::string& args) const { return env_.Shell(docker_ + " " + args); }
  static nlohmann::json J(const std::string& s) { return nlohmann::json::parse(s, nullptr, false); }

  StrataEnv env_;
  std::string docker_, tar_, tag_;
};

TEST_F(DockerDiffTest, ImportAgreesWithDockerModuloTimestamps) {
  std::string changes =
      "-c 'CMD [\"/bin/sh\"]' -c 'ENV A=b' -c 'EXPOSE 80' -c 'LABEL x=y' -c 'WORKDIR /w'";
  auto d = Docker("import " + changes + " " + tar_ + " " + tag_ + ":a");
  ASSERT_EQ(d.rc, 0) << d.err;
  auto s = env_.Run("import " + changes + " " + tar_ + " " + tag_ + ":a");
  ASSERT_EQ(s.rc, 0) << s.err;
  auto di = J(Docker("image inspect " + tag_ + ":a").out);
  auto si = J(env_.Run("image inspect " + tag_ + ":a").out);
  ASSERT_TRUE(di.is_array() && si.is_array());
  auto& a = di[0];
  auto& b = si[0];
  // Same keys in the same order, apart from values that name the machine.
  std::vector<std::string> ka, kb;
  // Keep the parsed documents alive while iterating them.
  auto da = nlohmann::ordered_json::parse(Docker("image inspect " + tag_ + ":a").out);
  auto sa = nlohmann::ordered_json::parse(env_.Run("image inspect " + tag_ + ":a").out);
  for (auto& [k, v] : da[0].items()) ka.push_back(k);
  for (auto& [k, v] : sa[0].items()) kb.push_back(k);
  EXPECT_EQ(ka, kb);
  for (auto* k : {"RepoTags", "RepoDigests", "Parent", "Comment", "Container", "ContainerConfig",
                  "Author", "Config", "Architecture", "Os", "Size", "VirtualSize", "RootFS"}) {
    EXPECT_EQ(a[k], b[k]) << k;
  }
  // History agrees too.
  auto dh = Docker("history --format '{{.CreatedBy}}|{{.Size}}|{{.Comment}}' " + tag_ + ":a");
  auto sh = env_.Run("history --format '{{.CreatedBy}}|{{.Size}}|{{.Comment}}' " + tag_ + ":a");
  EXPECT_EQ(dh.out, sh.out);
  // The images row, apart from ID and age.
  auto dr = Docker("images --format '{{.Repository}} {{.Tag}} {{.Size}} {{.VirtualSize}}' " + tag_);
  auto sr =
      env_.Run("images --format '{{.Repository}} {{.Tag}} {{.Size}} {{.VirtualSize}}' " + tag_);
  EXPECT_EQ(dr.out, sr.out);
}

// docker 20.10's own CLI (the one that speaks this daemon's API; docker 28 renders Config as
// the OCI image config instead): the same --format templates print the same text.
TEST_F(DockerDiffTest, InspectFormatsAgreeWithDockersCli) {
  if (::access("/usr/bin/docker", X_OK) != 0) GTEST_SKIP() << "no docker 20.10 CLI";
  std::string cli =
      "DOCKER_HOST=" + std::string(std::getenv("STRATA_TEST_DOCKER_HOST")) + " /usr/bin/docker";
  std::string changes =
      "-c 'CMD [\"/bin/sh\"]' -c 'ENV A=b' -c 'EXPOSE 80' -c 'LABEL x=y' -c 'WORKDIR /w' "
      "-c 'VOLUME /data' -c 'USER 1:2' -c 'ENTRYPOINT [\"/bin/echo\"]' "
      "-c 'HEALTHCHECK --interval=30s --timeout=5s --retries=4 CMD true'";
  ASSERT_EQ(env_.Shell(cli + " import " + changes + " " + tar_ + " " + tag_ + ":a").rc, 0);
  ASSERT_EQ(env_.Run("import " + changes + " " + tar_ + " " + tag_ + ":a").rc, 0);
  ASSERT_EQ(env_.Shell(cli + " import " + tar_ + " " + tag_ + ":b").rc, 0);
  ASSERT_EQ(env_.Run("import " + tar_ + " " + tag_ + ":b").rc, 0);
  for (const char* f :
       {"{{json .Config}}", "{{json .ContainerConfig}}", "{{json .RootFS}}", "{{.RootFS}}",
        "{{.Config.ExposedPorts}}", "{{.Config.Volumes}}", "{{.Config.Labels}}",
        "{{json .Config.Labels}}", "{{.Config.Healthcheck}}", "{{json .Config.Healthcheck}}",
        "{{.Config.Cmd}} {{.Config.Entrypoint}} {{.Config.Env}} {{.Config.Shell}}",
        "{{json .Config.Entrypoint}} {{json .Config.OnBuild}} {{json .Config.Shell}}",
        "{{range $k, $v := .Config.Labels}}{{$k}}={{$v}};{{end}}", "{{len .RootFS.Layers}}",
        "{{.ContainerConfig}}", "{{json .RepoDigests}} {{.RepoTags}}",
        "{{.Os}}/{{.Architecture}}"}) {
    for (const char* t : {":a", ":b"}) {
      std::string q = " inspect --format " + ShellQuote(f) + " " + tag_ + t;
      auto d = env_.Shell(cli + q);
      ASSERT_EQ(d.rc, 0) << d.err;
      EXPECT_EQ(env_.Run(q).out, d.out) << f << " " << t;
    }
  }
  // Config as a struct: equal but for the Healthcheck pointer, which Go prints as an address.
  auto d = env_.Shell(cli + " inspect --format '{{.Config}}' " + tag_ + ":b");
  EXPECT_EQ(env_.Run("inspect --format '{{.Config}}' " + tag_ + ":b").out, d.out);
}

TEST_F(DockerDiffTest, ArchivesCrossBetweenDockerAndStrata) {
  ASSERT_EQ(env_.Run("import -c 'CMD [\"/bin/sh\"]' " + tar_ + " " + tag_ + ":b").rc, 0);
  std::string id = Trim(env_.Run("inspect --format '{{.Id}}' " + tag_ + ":b").out);
  std::string archive = env_.dir() + "/s.tar";
  ASSERT_EQ(env_.Run("save -o " + archive + " " + tag_ + ":b").rc, 0);
  auto dl = Docker("load -i " + archive);
  ASSERT_EQ(dl.rc, 0) << dl.err;
  EXPECT_EQ(dl.out, "Loaded image: " + tag_ + ":b\n");
  EXPECT_EQ(Trim(Docker("inspect --format '{{.Id}}' " + tag_ + ":b").out), id);

  // And back: docker save → strata load in a fresh store gives the same ID.
  std::string back = env_.dir() + "/d.tar";
  ASSERT_EQ(Docker("save -o " + back + " " + tag_ + ":b").rc, 0);
  StrataEnv other;
  auto sl = other.Run("load -i " + back);
  ASSERT_EQ(sl.rc, 0) << sl.err;
  EXPECT_EQ(Trim(other.Run("inspect --format '{{.Id}}' " + tag_ + ":b").out), id);
  EXPECT_EQ(Trim(other.Run("system check").out), "store is consistent");
}

}  // namespace
}  // namespace strata::testing
