#include "image/config.h"

#include <gtest/gtest.h>

namespace strata::image {
namespace {

const std::string kA = "sha256:" + std::string(64, 'a');
const std::string kB = "sha256:" + std::string(64, 'b');

// A config as the classic docker builder writes it: sorted top level, container.Config order
// inside, docker-only fields.
std::string ClassicDockerConfig() {
  return R"({"architecture":"amd64","config":{"Hostname":"","Domainname":"","User":"",)"
         R"("AttachStdin":false,"AttachStdout":false,"AttachStderr":false,"Tty":false,)"
         R"("OpenStdin":false,"StdinOnce":false,"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],)"
         R"("Cmd":["/bin/sh"],"Image":")" +
         kB +
         R"(","Volumes":null,"WorkingDir":"",)"
         R"("Entrypoint":null,"OnBuild":null,"Labels":null},"container":"6b3b2d1e6f0c",)"
         R"("container_config":{"Hostname":"6b3b2d1e6f0c","Cmd":["/bin/sh","-c","#(nop) ",)"
         R"("CMD [\"/bin/sh\"]"],"Labels":{}},"created":"2023-05-19T20:19:29.014946123Z",)"
         R"("docker_version":"20.10.23","history":[{"created":"2023-05-19T20:19:28.8Z",)"
         R"("created_by":"/bin/sh -c #(nop) ADD file:abc in / "},{"created":"2023-05-19T20:19:29.0Z",)"
         R"("created_by":"/bin/sh -c #(nop)  CMD [\"/bin/sh\"]","empty_layer":true}],"os":"linux",)"
         R"("rootfs":{"type":"layers","diff_ids":[")" +
         kA + R"("]}})";
}

TEST(ConfigTest, ClassicDockerConfigRoundTripsByteForByte) {
  auto c = Config::Parse(ClassicDockerConfig());
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->architecture, "amd64");
  EXPECT_EQ(c->os, "linux");
  EXPECT_EQ(c->container, "6b3b2d1e6f0c");
  EXPECT_EQ(c->docker_version, "20.10.23");
  EXPECT_TRUE(c->container_config.is_object());
  ASSERT_TRUE(c->config);
  EXPECT_EQ(c->config->cmd, std::vector<std::string>{"/bin/sh"});
  EXPECT_TRUE(c->config->entrypoint.empty());
  EXPECT_TRUE(c->config->extra.contains("Hostname"));
  ASSERT_EQ(c->history.size(), 2u);
  EXPECT_TRUE(c->history[1].empty_layer);
  ASSERT_EQ(c->rootfs.diff_ids.size(), 1u);
  EXPECT_EQ(c->rootfs.diff_ids[0].str(), kA);
  EXPECT_EQ(c->Marshal(), ClassicDockerConfig());
  EXPECT_EQ(ImageId(c->Marshal()), ImageId(ClassicDockerConfig()));
  EXPECT_EQ(c->GetPlatform().architecture, "amd64");
}

TEST(ConfigTest, EditKeepsDockerFieldsAndLayout) {
  auto c = Config::Parse(ClassicDockerConfig());
  ASSERT_TRUE(c);
  Config child = *c;
  child.config->env.push_back("A=<b>");
  child.config->working_dir = "/app";
  std::string out = child.Marshal();
  std::string want = ClassicDockerConfig();
  want.replace(want.find("/sbin:/bin\"]"), 12, "/sbin:/bin\",\"A=\\u003cb\\u003e\"]");
  want.replace(want.find("\"WorkingDir\":\"\""), 15, "\"WorkingDir\":\"/app\"");
  EXPECT_EQ(out, want);
  auto back = Config::Parse(out);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, child);
  EXPECT_NE(*back, *c);
  EXPECT_NE(ImageId(out), ImageId(ClassicDockerConfig()));
}

TEST(ConfigTest, NewConfigMatchesGoEncoding) {
  Config c;
  c.architecture = "amd64";
  c.os = "linux";
  c.created = "2024-01-01T00:00:00Z";
  ContainerConfig cc;
  cc.env = {"PATH=/bin"};
  cc.cmd = {"sh", "-c", "a && b > c"};
  cc.exposed_ports = {"80/tcp"};
  cc.labels = {{"b", "2"}, {"a", "1"}};
  cc.working_dir = "/w";
  HealthConfig h;
  h.test = {"CMD", "true"};
  h.interval = 30000000000;
  h.retries = 3;
  cc.healthcheck = h;
  c.config = cc;
  c.rootfs.diff_ids = {*digest::Digest::Parse(kA)};
  History h1;
  h1.created = "2024-01-01T00:00:00Z";
  h1.created_by = "RUN x";
  h1.comment = "buildkit.dockerfile.v0";
  History h2;
  h2.created = "2024-01-01T00:00:00Z";
  h2.created_by = "CMD [\"sh\"]";
  h2.empty_layer = true;
  c.history = {h1, h2};
  c.extra["moby.buildkit.buildinfo.v1"] = "e30=";
  const std::string want =
      R"({"architecture":"amd64","config":{"ExposedPorts":{"80/tcp":{}},"Env":["PATH=/bin"],)"
      R"("Cmd":["sh","-c","a \u0026\u0026 b \u003e c"],"WorkingDir":"/w","Labels":{"a":"1","b":"2"},)"
      R"("Healthcheck":{"Test":["CMD","true"],"Interval":30000000000,"Retries":3}},)"
      R"("created":"2024-01-01T00:00:00Z","history":[{"created":"2024-01-01T00:00:00Z",)"
      R"("created_by":"RUN x","comment":"buildkit.dockerfile.v0"},{"created":"2024-01-01T00:00:00Z",)"
      R"("created_by":"CMD [\"sh\"]","empty_layer":true}],"moby.buildkit.buildinfo.v1":"e30=",)"
      R"("os":"linux","rootfs":{"type":"layers","diff_ids":[")" +
      kA + R"("]}})";
  EXPECT_EQ(c.Marshal(), want);
  EXPECT_EQ(ImageId(want), digest::Sha256Of(want));
  auto back = Config::Parse(want);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, c);
  EXPECT_EQ(back->Marshal(), want);
}

TEST(ConfigTest, AcceptsDockerShapes) {
  // strslice: a bare string is a one-element list; null fields are empty.
  auto c = Config::Parse(
      R"({"config":{"Cmd":"echo hi","Entrypoint":null,"Shell":["/bin/bash","-c"],)"
      R"("OnBuild":["RUN x"],"Volumes":{"/data":{}},"ArgsEscaped":true,"StopSignal":"SIGTERM",)"
      R"("User":"1000:1000"},"rootfs":{"type":"layers","diff_ids":null},"os.version":"10.0",)"
      R"("os.features":["win32k"],"variant":"v8"})");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->config->cmd, std::vector<std::string>{"echo hi"});
  EXPECT_EQ(c->config->shell.size(), 2u);
  EXPECT_EQ(c->config->on_build, std::vector<std::string>{"RUN x"});
  EXPECT_EQ(c->config->volumes.count("/data"), 1u);
  EXPECT_TRUE(c->config->args_escaped);
  EXPECT_EQ(c->config->stop_signal, "SIGTERM");
  EXPECT_EQ(c->config->user, "1000:1000");
  EXPECT_EQ(c->os_version, "10.0");
  EXPECT_EQ(c->variant, "v8");
  EXPECT_TRUE(c->rootfs.diff_ids.empty());
}

TEST(ConfigTest, ValidationFailures) {
  struct {
    std::string doc, message;
  } cases[] = {
      {R"({"architecture":"amd64"})", "config: missing rootfs"},
      {R"({"rootfs":null})", "config: missing rootfs"},
      {R"({"rootfs":{"type":"tar","diff_ids":[]}})",
       "config.rootfs.type: must be \"layers\", got \"tar\""},
      {R"({"rootfs":{"diff_ids":[]}})", "config.rootfs.type: must be \"layers\", got \"\""},
      {R"({"rootfs":{"type":"layers","diff_ids":["sha256:xyz"]}})",
       "config.rootfs.diff_ids[0]: invalid digest \"sha256:xyz\": invalid checksum digest format"},
      {R"({"rootfs":{"type":"layers","diff_ids":[1]}})",
       "config.rootfs.diff_ids[0]: expected a string"},
      {R"({"rootfs":{"type":"layers","diff_ids":{}}})",
       "config.rootfs.diff_ids: expected an array"},
      {R"({"rootfs":{"type":"layers"},"history":{}})", "config.history: expected an array"},
      {R"({"rootfs":{"type":"layers"},"history":[{"empty_layer":"yes"}]})",
       "config.history[0].empty_layer: expected a boolean"},
      {R"({"rootfs":{"type":"layers"},"config":{"Env":"A=B"}})",
       "config.config.Env: expected an array of strings"},
      {R"({"rootfs":{"type":"layers"},"config":{"Labels":{"a":null}}})",
       "config.config.Labels: expected an object of strings"},
      {R"({"rootfs":{"type":"layers"},"config":{"Healthcheck":{"Interval":"30s"}}})",
       "config.config.Healthcheck.Interval: expected an integer"},
      {R"({"rootfs":{"type":"layers"},"architecture":1})",
       "config.architecture: expected a string"},
      {"[1]", "invalid config: not a JSON object"},
  };
  for (const auto& c : cases) {
    auto r = Config::Parse(c.doc);
    ASSERT_FALSE(r) << c.doc;
    EXPECT_EQ(r.error().message, c.message) << c.doc;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  }
}

TEST(ConfigTest, ImageIdIsDigestOfExactBytes) {
  const std::string a = R"({"rootfs":{"type":"layers","diff_ids":[]}})";
  const std::string b = R"({"rootfs": {"type":"layers","diff_ids":[]}})";
  EXPECT_EQ(ImageId(a).str(), digest::Sha256Of(a).str());
  EXPECT_NE(ImageId(a), ImageId(b));  // same JSON value, different bytes, different image
}

}  // namespace
}  // namespace strata::image
