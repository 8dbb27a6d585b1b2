// strata push end to end: the CNCF distribution registry on loopback (open, and htpasswd over
// TLS), read back by strata pull, skopeo and real docker (when STRATA_TEST_DOCKER_HOST is set).
// Expected lines were recorded from docker 28's CLI against dockerd 20.10 pushing to the
// same registry (non-TTY).
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "cli_helpers.h"
#include "registry/test_support.h"

namespace strata::testing {
namespace {

namespace rt = strata::registry::testing;

std::vector<std::string> Lines(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string l;
  while (std::getline(ss, l)) out.push_back(l);
  return out;
}

class PushTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why = reg_.Start(env_.dir() + "/reg", "", "");
    if (why.find("not installed") != std::string::npos) GTEST_SKIP() << why;
    ASSERT_EQ(why, "");
    host_ = reg_.host();
    auto imp = env_.Run("import -c 'CMD [\"/bin/sh\"]' " + env_.BusyboxTar() + " " + host_ +
                        "/library/bb:latest");
    ASSERT_EQ(imp.rc, 0) << imp.err;
    id_ = Trim(imp.out);
    auto insp = env_.Run("image inspect --format '{{json .RootFS.Layers}}' " + id_);
    ASSERT_EQ(insp.rc, 0) << insp.err;
    auto layers = nlohmann::json::parse(insp.out);
    ASSERT_EQ(layers.size(), 1u);
    layer_ = layers[0].get<std::string>().substr(7, 12);
  }
  RunResult Fresh(const std::string& root, const std::string& args) const {
    return env_.Shell(std::string(STRATA_BINARY) + " --root " + env_.dir() + "/" + root + " " +
                      args);
  }
  nlohmann::json RegistryManifest(const std::string& repo, const std::string& ref) const {
    auto r = env_.Shell(
        "curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json' -H "
        "'Accept: application/vnd.docker.distribution.manifest.v2+json' "
        "http://" +
        host_ + "/v2/" + repo + "/manifests/" + ref);
    if (r.rc != 0) return nullptr;
    return nlohmann::json::parse(r.out);
  }

  StrataEnv env_;
  rt::Registry reg_;
  std::string host_, id_, layer_;
};

TEST_F(PushTest, PushesWithDockersOutputAndPullsBack) {
  auto p = env_.Run("push " + host_ + "/library/bb:latest");
  ASSERT_EQ(p.rc, 0) << p.err;
  auto lines = Lines(p.out);
  ASSERT_EQ(lines.size(), 4u) << p.out;
  EXPECT_EQ(lines[0], "The push refers to repository [" + host_ + "/library/bb]");
  EXPECT_EQ(lines[1], layer_ + ": Preparing");
  EXPECT_EQ(lines[2], layer_ + ": Pushed");
  auto m = RegistryManifest("library/bb", "latest");
  ASSERT_TRUE(m.is_object());
  std::string bytes = env_.Shell(
                              "curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json'"
                              " http://" +
                              host_ + "/v2/library/bb/manifests/latest")
                          .out;
  std::string digest = Trim(env_.Shell("printf %s " + ShellQuote(bytes) + " | sha256sum").out);
  digest = "sha256:" + digest.substr(0, 64);
  EXPECT_EQ(lines[3], "latest: digest: " + digest + " size: " + std::to_string(bytes.size()));
  EXPECT_EQ(p.err, "");
  // strata compressed the layer itself: an OCI manifest with OCI types, gzip layer.
  EXPECT_EQ(m["mediaType"], "application/vnd.oci.image.manifest.v1+json");
  EXPECT_EQ(m["config"]["mediaType"], "application/vnd.oci.image.config.v1+json");
  EXPECT_EQ(m["config"]["digest"], id_);
  EXPECT_EQ(m["layers"][0]["mediaType"], "application/vnd.oci.image.layer.v1.tar+gzip");

  // The RepoDigest is recorded, as docker does after a push.
  auto rd = env_.Run("image inspect --format '{{json .RepoDigests}}' " + id_);
  EXPECT_EQ(Trim(rd.out), "[\"" + host_ + "/library/bb@" + digest + "\"]");

  // A fresh store pulls the same image back, same digest.
  auto pull = Fresh("r2", "pull " + host_ + "/library/bb:latest");
  ASSERT_EQ(pull.rc, 0) << pull.err;
  EXPECT_NE(pull.out.find("Digest: " + digest + "\n"), std::string::npos) << pull.out;
  EXPECT_EQ(Trim(Fresh("r2", "images -q --no-trunc").out), id_);

  // Again: the registry has everything; nothing is compressed or sent.
  auto again = env_.Run("push " + host_ + "/library/bb:latest");
  ASSERT_EQ(again.rc, 0) << again.err;
  EXPECT_EQ(again.out, "The push refers to repository [" + host_ + "/library/bb]\n" + layer_ +
                           ": Preparing\n" + layer_ + ": Layer already exists\nlatest: digest: " +
                           digest + " size: " + std::to_string(bytes.size()) + "\n");

  // Name only: docker's default tag line. -q: only the reference.
  auto def = env_.Run("push " + host_ + "/library/bb");
  ASSERT_EQ(def.rc, 0) << def.err;
  EXPECT_TRUE(def.out.starts_with("Using default tag: latest\nThe push refers to repository"))
      << def.out;
  auto q = env_.Run("push -q " + host_ + "/library/bb");
  ASSERT_EQ(q.rc, 0) << q.err;
  EXPECT_EQ(q.out, host_ + "/library/bb:latest\n");
}

TEST_F(PushTest, MountsFromAnotherRepositoryAndPushesAllTags) {
  ASSERT_EQ(env_.Run("push " + host_ + "/library/bb:latest").rc, 0);
  ASSERT_EQ(env_.Run("tag " + id_ + " " + host_ + "/other/app:v2").rc, 0);
  ASSERT_EQ(env_.Run("tag " + id_ + " " + host_ + "/other/app:v1").rc, 0);
  auto p = env_.Run("push -a " + host_ + "/other/app");
  ASSERT_EQ(p.rc, 0) << p.err;
  auto lines = Lines(p.out);
  ASSERT_EQ(lines.size(), 7u) << p.out;
  EXPECT_EQ(lines[0], "The push refers to repository [" + host_ + "/other/app]");
  EXPECT_EQ(lines[1], layer_ + ": Preparing");
  EXPECT_EQ(lines[2], layer_ + ": Mounted from library/bb");
  EXPECT_TRUE(lines[3].starts_with("v1: digest: sha256:")) << p.out;
  EXPECT_EQ(lines[4], layer_ + ": Preparing");
  EXPECT_EQ(lines[5], layer_ + ": Layer already exists");
  EXPECT_TRUE(lines[6].starts_with("v2: digest: sha256:")) << p.out;
  // Both tags name the same manifest.
  EXPECT_EQ(lines[3].substr(4), lines[6].substr(4));
  // The registry serves the mounted blob under the new repository.
  auto m = RegistryManifest("other/app", "v1");
  ASSERT_TRUE(m.is_object());
  std::string blob = m["layers"][0]["digest"];
  EXPECT_EQ(env_.Shell("curl -sfI http://" + host_ + "/v2/other/app/blobs/" + blob).rc, 0);
}

TEST_F(PushTest, ReusesPulledBlobsAndKeepsSchema2) {
  if (!rt::HaveProgram("skopeo")) GTEST_SKIP() << "skopeo not installed";
  // skopeo pushes a schema 2 image; strata pulls it (blobs kept compressed) and pushes it to
  // another repository: the blobs are mounted as they are and the manifest stays schema 2,
  // so the digest is the same.
  ASSERT_EQ(env_.Run("save -o " + env_.dir() + "/bb.tar " + id_).rc, 0);
  auto cp = env_.Shell("skopeo copy -q --dest-tls-verify=false --format v2s2 docker-archive:" +
                       env_.dir() + "/bb.tar docker://" + host_ + "/src/bb:1");
  ASSERT_EQ(cp.rc, 0) << cp.err;
  auto pull = Fresh("r2", "pull " + host_ + "/src/bb:1");
  ASSERT_EQ(pull.rc, 0) << pull.err;
  std::string digest = Trim(env_.Shell("skopeo inspect --tls-verify=false --format "
                                       "'{{.Digest}}' docker://" +
                                       host_ + "/src/bb:1")
                                .out);
  ASSERT_EQ(Fresh("r2", "tag " + host_ + "/src/bb:1 " + host_ + "/dst/bb:1").rc, 0);
  auto p = Fresh("r2", "push " + host_ + "/dst/bb:1");
  ASSERT_EQ(p.rc, 0) << p.err;
  EXPECT_NE(p.out.find(layer_ + ": Mounted from src/bb\n"), std::string::npos) << p.out;
  EXPECT_NE(p.out.find("1: digest: " + digest + " size: "), std::string::npos) << p.out;
  auto m = RegistryManifest("dst/bb", "1");
  EXPECT_EQ(m["mediaType"], "application/vnd.docker.distribution.manifest.v2+json");
}

TEST_F(PushTest, PeersReadWhatStrataPushed) {
  if (!rt::HaveProgram("skopeo")) GTEST_SKIP() << "skopeo not installed";
  ASSERT_EQ(env_.Run("push " + host_ + "/library/bb:latest").rc, 0);
  auto insp = env_.Shell("skopeo inspect --tls-verify=false docker://" + host_ + "/library/bb");
  ASSERT_EQ(insp.rc, 0) << insp.err;
  auto j = nlohmann::json::parse(insp.out);
  EXPECT_EQ(j["Layers"].size(), 1u);
  // skopeo copy verifies every digest on the way into an OCI layout.
  auto cp = env_.Shell("skopeo copy -q --src-tls-verify=false docker://" + host_ +
                       "/library/bb:latest oci:" + env_.dir() + "/oci:bb");
  ASSERT_EQ(cp.rc, 0) << cp.err;
  // The layout's config is the image strata pushed.
  auto raw = env_.Shell("skopeo inspect --raw oci:" + env_.dir() + "/oci:bb");
  ASSERT_EQ(raw.rc, 0);
  EXPECT_EQ(nlohmann::json::parse(raw.out)["config"]["digest"], id_);

  // zstd on request (a store that has pushed nothing yet: a blob the registry has is never
  // compressed again, whatever the option): skopeo reads it, strata pulls the same image.
  auto zi = Fresh("rz", "import " + env_.BusyboxTar() + " " + host_ + "/z/bb:1");
  ASSERT_EQ(zi.rc, 0) << zi.err;
  auto z = Fresh("rz", "push --compression zstd " + host_ + "/z/bb:1");
  ASSERT_EQ(z.rc, 0) << z.err;
  EXPECT_NE(z.out.find(": Pushed\n"), std::string::npos) << z.out;
  auto m = RegistryManifest("z/bb", "1");
  EXPECT_EQ(m["layers"][0]["mediaType"], "application/vnd.oci.image.layer.v1.tar+zstd");
  auto zc = env_.Shell("skopeo copy -q --src-tls-verify=false docker://" + host_ +
                       "/z/bb:1 oci:" + env_.dir() + "/ociz:bb");
  EXPECT_EQ(zc.rc, 0) << zc.err;
  auto zp = Fresh("r3", "pull " + host_ + "/z/bb:1");
  ASSERT_EQ(zp.rc, 0) << zp.err;
  EXPECT_EQ(Trim(Fresh("r3", "images -q --no-trunc").out), Trim(zi.out));
}

TEST_F(PushTest, ErrorsInDockersWords) {
  auto none = env_.Run("push " + host_ + "/nope:x");
  EXPECT_EQ(none.rc, 1);
  EXPECT_EQ(none.out, "The push refers to repository [" + host_ + "/nope]\n");
  EXPECT_EQ(none.err, "An image does not exist locally with the tag: " + host_ + "/nope\n");
  auto tag = env_.Run("push " + host_ + "/library/bb:nosuch");
  EXPECT_EQ(tag.rc, 1);
  EXPECT_EQ(tag.err, "tag does not exist: " + host_ + "/library/bb:nosuch\n");
  auto a = env_.Run("push -a " + host_ + "/library/bb:latest");
  EXPECT_EQ(a.rc, 1);
  EXPECT_EQ(a.err, "tag can't be used with --all-tags/-a\n");
  auto bad = env_.Run("push BAD:ref");
  EXPECT_EQ(bad.rc, 1);
  EXPECT_EQ(bad.err, "invalid reference format: repository name (library/BAD) must be lowercase\n");
}

TEST_F(PushTest, FailedPushLeavesTheStoreUsable) {
  // A registry that is gone: the push fails, exit 1, and nothing is recorded.
  int port = rt::FreePort();
  std::string dead = "127.0.0.1:" + std::to_string(port);
  ASSERT_EQ(env_.Run("tag " + id_ + " " + dead + "/x:1").rc, 0);
  auto p = env_.Run("push " + dead + "/x:1");
  EXPECT_EQ(p.rc, 1);
  EXPECT_NE(p.err.find("connect"), std::string::npos) << p.err;
  auto rd = env_.Run("image inspect --format '{{json .RepoDigests}}' " + id_);
  EXPECT_EQ(Trim(rd.out), "[]");
  // The same image still pushes where the registry is.
  auto ok = env_.Run("push " + host_ + "/library/bb:latest");
  ASSERT_EQ(ok.rc, 0) << ok.err;
  EXPECT_NE(ok.out.find(layer_ + ": Pushed\n"), std::string::npos) << ok.out;
  std::string tmp = env_.root() + "/tmp";
  if (std::filesystem::exists(tmp)) EXPECT_TRUE(std::filesystem::is_empty(tmp));
}

TEST_F(PushTest, AgreesWithRealDocker) {
  const char* dh = std::getenv("STRATA_TEST_DOCKER_HOST");
  if (!dh || !*dh) GTEST_SKIP() << "no private dockerd (STRATA_TEST_DOCKER_HOST unset)";
  std::string docker = "DOCKER_HOST=" + std::string(dh) + " docker";
  std::string ref = host_ + "/dk/bb:" + std::to_string(::getpid());
  ASSERT_EQ(env_.Run("tag " + id_ + " " + ref).rc, 0);
  auto p = env_.Run("push " + ref);
  ASSERT_EQ(p.rc, 0) << p.err;
  env_.Shell(docker + " rmi " + ref);
  auto dp = env_.Shell(docker + " pull " + ref);
  ASSERT_EQ(dp.rc, 0) << dp.err;
  auto id = env_.Shell(docker + " image inspect --format '{{.Id}}' " + ref);
  EXPECT_EQ(Trim(id.out), id_);
  // docker pushes what it pulled: every layer is already there.
  auto dpush = env_.Shell(docker + " push " + ref);
  ASSERT_EQ(dpush.rc, 0) << dpush.err;
  // (or mounts it from a repository the long-lived daemon pushed it to before).
  EXPECT_TRUE(dpush.out.find(layer_ + ": Layer already exists") != std::string::npos ||
              dpush.out.find(layer_ + ": Mounted from ") != std::string::npos)
      << dpush.out;
  EXPECT_EQ(dpush.out.find(": Pushed"), std::string::npos) << dpush.out;
  env_.Shell(docker + " rmi " + ref);
}

// --- htpasswd Basic auth over TLS ------------------------------------------------------------

TEST(PushAuthTest, UnauthorizedThenPushesWithLogin) {
  if (!rt::HaveProgram("openssl")) GTEST_SKIP() << "openssl CLI not installed";
  StrataEnv env;
  rt::TestPki pki;
  ASSERT_EQ(pki.Make(env.dir()), "");
  std::string line = rt::Htpasswd("testuser", "testpassword", env.dir());
  if (line.empty()) GTEST_SKIP() << "no bcrypt htpasswd tool";
  rt::WriteText(env.dir() + "/htpasswd", line + "\n");
  rt::Registry reg;
  std::string why = reg.Start(
      env.dir() + "/reg",
      "  tls:\n    certificate: " + pki.server_crt + "\n    key: " + pki.server_key + "\n",
      "auth:\n  htpasswd:\n    realm: Registry Realm\n    path: " + env.dir() + "/htpasswd\n");
  if (why.find("not installed") != std::string::npos) GTEST_SKIP() << why;
  ASSERT_EQ(why, "");
  std::string cfg = " --config " + env.dir() + "/dockercfg ";
  std::string ref = reg.host() + "/priv/bb:1";
  ASSERT_EQ(env.Run("import " + env.BusyboxTar() + " " + ref).rc, 0);
  auto anon = env.Run(cfg + "push " + ref);
  EXPECT_EQ(anon.rc, 1);
  // docker 28 against dockerd 20.10, recorded: the client has no credentials for Basic.
  EXPECT_EQ(anon.err, "no basic auth credentials\n");
  rt::WriteText(env.dir() + "/pw", "testpassword\n");
  ASSERT_EQ(env.Run(cfg + "login -u testuser --password-stdin " + reg.host(), env.dir() + "/pw").rc,
            0);
  auto p = env.Run(cfg + "push " + ref);
  ASSERT_EQ(p.rc, 0) << p.err;
  EXPECT_NE(p.out.find(": Pushed\n"), std::string::npos) << p.out;
  auto pull =
      env.Shell(std::string(STRATA_BINARY) + " --root " + env.dir() + "/r2" + cfg + "pull " + ref);
  ASSERT_EQ(pull.rc, 0) << pull.err;
}

}  // namespace
}  // namespace strata::testing
