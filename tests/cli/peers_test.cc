// End-to-end interoperability with independent implementations: skopeo and umoci read what
// `strata save` writes, and `strata load` reads what skopeo writes.
#include <gtest/gtest.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli_helpers.h"

namespace strata::testing {
namespace {

using Json = nlohmann::json;

// The binary make-rootfs.sh copies into the image as bin/busybox.
constexpr const char* kBusybox = "/bin/busybox";

class PeersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tar_ = env_.BusyboxTar();
    ASSERT_EQ(::access(tar_.c_str(), R_OK), 0) << "busybox-static is needed (scripts/setup.sh)";
  }

  bool Have(const std::string& tool) const { return env_.Shell("command -v " + tool).rc == 0; }

  // Imports the busybox rootfs as `ref` and returns the image ID.
  std::string Import(const std::string& ref, const std::string& change = "CMD [\"/bin/sh\"]") {
    auto r = env_.Run("import -c " + ShellQuote(change) + " " + tar_ + " " + ref);
    EXPECT_EQ(r.rc, 0) << r.err;
    return Trim(r.out);
  }

  std::string Save(const std::string& refs, const std::string& name = "save.tar") {
    std::string archive = env_.dir() + "/" + name;
    auto r = env_.Run("save -o " + archive + " " + refs);
    EXPECT_EQ(r.rc, 0) << r.err;
    return archive;
  }

  // Runs a peer tool and parses its JSON output; a failure is recorded and yields null.
  Json PeerJson(const std::string& cmd) const {
    auto r = env_.Shell(cmd);
    EXPECT_EQ(r.rc, 0) << cmd << "\n" << r.err;
    Json j = Json::parse(r.out, nullptr, /*allow_exceptions=*/false);
    EXPECT_FALSE(j.is_discarded()) << cmd << " printed no JSON: " << r.out;
    return j.is_discarded() ? Json() : j;
  }

  std::string Inspect(const StrataEnv& e, const std::string& format, const std::string& ref) {
    auto r = e.Run("inspect --format " + ShellQuote(format) + " " + ref);
    EXPECT_EQ(r.rc, 0) << r.err;
    return Trim(r.out);
  }

  // umoci refuses to set owners as non-root unless asked to map them.
  std::string Umoci() const { return ::geteuid() == 0 ? "umoci" : "umoci --rootless"; }

  // Unpacks `image` (DIR:tag) with umoci and checks the rootfs is the one we imported.
  void ExpectUmociRootfs(const std::string& image, const std::string& bundle) {
    auto r = env_.Shell(Umoci() + " unpack --image " + ShellQuote(image) + " " + bundle);
    ASSERT_EQ(r.rc, 0) << "umoci unpack " << image << " failed:\n" << r.err;
    std::string got = Slurp(bundle + "/rootfs/bin/busybox");
    std::string want = Slurp(kBusybox);
    ASSERT_FALSE(want.empty());
    EXPECT_EQ(got.size(), want.size());
    EXPECT_TRUE(got == want) << "bin/busybox unpacked by umoci differs from " << kBusybox;
    auto link = env_.Shell("readlink " + bundle + "/rootfs/bin/sh");
    EXPECT_EQ(Trim(link.out), "busybox");
    EXPECT_EQ(Slurp(bundle + "/rootfs/etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n");
  }

  StrataEnv env_;
  std::string tar_;
};

#define REQUIRE_TOOL(t) \
  if (!Have(t)) GTEST_SKIP() << t << " is not installed (STRATA_WITH_PEERS=1 scripts/setup.sh)"

TEST_F(PeersTest, SkopeoReadsStrataSave) {
  REQUIRE_TOOL("skopeo");
  std::string id = Import("busybox:latest");
  std::string archive = Save("busybox");
  Json layers = Json::parse(Inspect(env_, "{{json .RootFS.Layers}}", "busybox"));
  ASSERT_EQ(layers.size(), 1u);

  // docker-archive: skopeo reads manifest.json and builds a schema2 manifest from it.
  Json info = PeerJson("skopeo inspect docker-archive:" + archive);
  EXPECT_EQ(info["Layers"], layers);  // uncompressed layers: blob digest == diff ID
  EXPECT_EQ(info["Architecture"], "amd64");
  EXPECT_EQ(info["Os"], "linux");
  Json raw = PeerJson("skopeo inspect --raw docker-archive:" + archive);
  EXPECT_EQ(raw["config"]["digest"], id);
  // The config bytes skopeo hands out are the ones the image ID hashes.
  auto sum = env_.Shell("skopeo inspect --config --raw docker-archive:" + archive +
                        " | sha256sum | cut -c1-64");
  EXPECT_EQ("sha256:" + Trim(sum.out), id);
  Json config = PeerJson("skopeo inspect --config docker-archive:" + archive);
  EXPECT_EQ(config["rootfs"]["diff_ids"], layers);
  EXPECT_EQ(config["config"]["Cmd"], Json::array({"/bin/sh"}));

  // oci-archive: the same file is an OCI layout; skopeo resolves the ref name in index.json.
  Json oci = PeerJson("skopeo inspect --raw oci-archive:" + archive + ":latest");
  EXPECT_EQ(oci["config"]["digest"], id);
  ASSERT_EQ(oci["layers"].size(), 1u);
  EXPECT_EQ(oci["layers"][0]["digest"], layers[0]);
  Json index = Json::parse(env_.Shell("tar -xOf " + archive + " index.json").out);
  Json oci_info = PeerJson("skopeo inspect oci-archive:" + archive + ":latest");
  EXPECT_EQ(oci_info["Digest"], index["manifests"][0]["digest"]);
}

TEST_F(PeersTest, SkopeoSelectsEachImageOfAMultiImageSave) {
  REQUIRE_TOOL("skopeo");
  std::string a = Import("busybox:latest");
  std::string b = Import("example/app:v1", "ENV A=b");
  ASSERT_NE(a, b);
  std::string archive = Save("busybox example/app:v1");
  EXPECT_EQ(PeerJson("skopeo inspect --raw docker-archive:" + archive +
                     ":busybox:latest")["config"]["digest"],
            a);
  EXPECT_EQ(PeerJson("skopeo inspect --raw docker-archive:" + archive +
                     ":example/app:v1")["config"]["digest"],
            b);
  Json cfg = PeerJson("skopeo inspect --config docker-archive:" + archive + ":example/app:v1");
  EXPECT_EQ(cfg["config"]["Env"], Json::array({"A=b"}));
}

TEST_F(PeersTest, SkopeoCopiesStrataSaveToOciLayoutThatUmociUnpacks) {
  REQUIRE_TOOL("skopeo");
  Import("busybox:latest");
  std::string archive = Save("busybox");
  std::string oci = env_.dir() + "/oci";
  auto cp = env_.Shell("skopeo copy -q docker-archive:" + archive + " oci:" + oci + ":v1");
  ASSERT_EQ(cp.rc, 0) << cp.err;
  Json m = PeerJson("skopeo inspect --raw oci:" + oci + ":v1");
  ASSERT_EQ(m["layers"].size(), 1u);
  if (!Have("umoci")) GTEST_SKIP() << "umoci is not installed";
  ExpectUmociRootfs(oci + ":v1", env_.dir() + "/bundle");
}

TEST_F(PeersTest, UmociUnpacksTheOciLayoutInsideStrataSave) {
  REQUIRE_TOOL("umoci");
  Import("busybox:latest");
  std::string archive = Save("busybox");
  std::string dir = env_.dir() + "/extracted";
  auto x = env_.Shell("mkdir " + dir + " && tar -xf " + archive + " -C " + dir);
  ASSERT_EQ(x.rc, 0) << x.err;
  Json index = Json::parse(Slurp(dir + "/index.json"));
  ASSERT_EQ(index["manifests"].size(), 1u);
  std::string ref =
      index["manifests"][0]["annotations"].value("org.opencontainers.image.ref.name", "");
  EXPECT_EQ(ref, "latest");
  ASSERT_FALSE(ref.empty());
  ExpectUmociRootfs(dir + ":" + ref, env_.dir() + "/bundle");
  // umoci's own listing agrees with the index.
  auto ls = env_.Shell("umoci ls --layout " + dir);
  EXPECT_EQ(Trim(ls.out), ref) << ls.err;
}

TEST_F(PeersTest, StrataLoadsSkopeoDockerArchiveWithTheSameId) {
  REQUIRE_TOOL("skopeo");
  std::string id = Import("busybox:latest");
  std::string layers = Inspect(env_, "{{json .RootFS.Layers}}", "busybox");
  std::string archive = Save("busybox");
  std::string out = env_.dir() + "/skopeo-docker.tar";
  auto cp = env_.Shell("skopeo copy -q docker-archive:" + archive + " docker-archive:" + out +
                       ":example/copied:v2");
  ASSERT_EQ(cp.rc, 0) << cp.err;
  // skopeo writes the legacy layout (<id>/layer.tar, json, VERSION) next to manifest.json.
  EXPECT_NE(env_.Shell("tar -tf " + out).out.find("/layer.tar\n"), std::string::npos);

  StrataEnv other;
  auto load = other.Run("load -i " + out);
  ASSERT_EQ(load.rc, 0) << load.err;
  EXPECT_EQ(load.out, "Loaded image: example/copied:v2\n");
  // docker-archive keeps the config bytes, so the image ID survives the trip.
  EXPECT_EQ(Inspect(other, "{{.Id}}", "example/copied:v2"), id);
  EXPECT_EQ(Inspect(other, "{{json .RootFS.Layers}}", "example/copied:v2"), layers);
  EXPECT_EQ(Trim(other.Run("system check").out), "store is consistent");
}

TEST_F(PeersTest, StrataLoadsSkopeoOciArchiveWithSkopeosConfigDigest) {
  REQUIRE_TOOL("skopeo");
  Import("busybox:latest");
  std::string layers = Inspect(env_, "{{json .RootFS.Layers}}", "busybox");
  std::string archive = Save("busybox");
  std::string out = env_.dir() + "/skopeo-oci.tar";
  auto cp = env_.Shell("skopeo copy -q docker-archive:" + archive + " oci-archive:" + out + ":v3");
  ASSERT_EQ(cp.rc, 0) << cp.err;
  // Converting to OCI, skopeo rewrites the config (and gzips the layer), so the ID to expect
  // is the config digest skopeo reports, not the original one.
  Json m = PeerJson("skopeo inspect --raw oci-archive:" + out + ":v3");
  std::string config_digest = m["config"].value("digest", "");
  ASSERT_EQ(config_digest.size(), 71u) << m.dump();

  StrataEnv other;
  auto load = other.Run("load -i " + out);
  ASSERT_EQ(load.rc, 0) << load.err;
  EXPECT_NE(load.out.find("Loaded image"), std::string::npos) << load.out;
  auto ids = other.Run("images -aq --no-trunc");
  EXPECT_EQ(ids.out, config_digest + "\n");
  EXPECT_EQ(Inspect(other, "{{.Id}}", config_digest), config_digest);
  // The layer was gzipped by skopeo; its diff ID is still the uncompressed tar's.
  EXPECT_EQ(Inspect(other, "{{json .RootFS.Layers}}", config_digest), layers);
  EXPECT_EQ(Trim(other.Run("system check").out), "store is consistent");

  // And back: strata's save of the loaded image is read by skopeo with the same config.
  std::string again = other.dir() + "/again.tar";
  ASSERT_EQ(other.Run("save -o " + again + " " + config_digest).rc, 0);
  Json raw = PeerJson("skopeo inspect --raw docker-archive:" + again);
  EXPECT_EQ(raw["config"]["digest"], config_digest);
}

}  // namespace
}  // namespace strata::testing
