#include "registry/hosts.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "registry/test_support.h"
#include "util/fs.h"

namespace strata::registry {
namespace {

using testing::WriteText;

class HostsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto t = TempDir::Create("/tmp", "strata-hosts-");
    ASSERT_TRUE(t);
    tmp_ = std::move(*t);
    docker_certs_ = tmp_.path() + "/docker-certs.d";
    strata_certs_ = tmp_.path() + "/strata-certs.d";
    std::filesystem::create_directories(docker_certs_);
    std::filesystem::create_directories(strata_certs_);
  }
  RegistryHosts Load(const std::string& daemon_json = "") {
    HostsOptions o;
    o.certs_dirs = {docker_certs_, strata_certs_};
    if (!daemon_json.empty()) {
      o.daemon_config = tmp_.path() + "/daemon.json";
      WriteText(o.daemon_config, daemon_json);
    }
    auto h = RegistryHosts::Load(o);
    EXPECT_TRUE(h) << h.error().message;
    return h ? std::move(*h) : RegistryHosts();
  }
  TempDir tmp_;
  std::string docker_certs_, strata_certs_;
};

TEST_F(HostsTest, DockerHubMapsToRegistry1) {
  EXPECT_EQ(RegistryHostFor("docker.io"), "registry-1.docker.io");
  EXPECT_EQ(RegistryHostFor("index.docker.io"), "registry-1.docker.io");
  EXPECT_EQ(RegistryHostFor("ghcr.io"), "ghcr.io");
  EXPECT_EQ(RegistryHostFor("localhost:5000"), "localhost:5000");
}

TEST_F(HostsTest, LoopbackIsInsecureByDefault) {
  RegistryHosts h = Load();
  EXPECT_TRUE(h.IsInsecure("127.0.0.1:5000"));
  EXPECT_TRUE(h.IsInsecure("127.1.2.3"));
  EXPECT_TRUE(h.IsInsecure("localhost:5000"));
  EXPECT_TRUE(h.IsInsecure("[::1]:5000"));
  EXPECT_FALSE(h.IsInsecure("10.1.2.3:5000"));
  EXPECT_FALSE(h.IsInsecure("docker.io"));
  EXPECT_FALSE(h.IsInsecure("registry-1.docker.io"));
  // A name that does not resolve is secure (dockerd: no addresses, no CIDR match).
  EXPECT_FALSE(h.IsInsecure("no-such-host.invalid:5000"));
}

TEST_F(HostsTest, DaemonJsonInsecureRegistriesAndMirrors) {
  RegistryHosts h = Load(R"({
    "insecure-registries": ["myregistry:5000", "http://other.example", "10.0.0.0/8", "fd00::/8"],
    "registry-mirrors": ["https://mirror.example.com/", "http://10.1.1.1:5000/prefix"],
    "debug": true
  })");
  EXPECT_TRUE(h.IsInsecure("myregistry:5000"));
  EXPECT_FALSE(h.IsInsecure("myregistry:5001"));  // names match with their port, as dockerd
  EXPECT_TRUE(h.IsInsecure("other.example"));
  EXPECT_TRUE(h.IsInsecure("10.20.30.40:443"));
  EXPECT_FALSE(h.IsInsecure("11.0.0.1"));
  EXPECT_TRUE(h.IsInsecure("[fd00::5]:5000"));
  EXPECT_FALSE(h.IsInsecure("[fe80::5]:5000"));

  auto eps = h.Endpoints("docker.io");
  ASSERT_TRUE(eps);
  ASSERT_EQ(eps->size(), 3u);
  EXPECT_TRUE((*eps)[0].mirror);
  EXPECT_EQ((*eps)[0].BaseUrl(), "https://mirror.example.com");
  EXPECT_EQ((*eps)[1].BaseUrl(), "http://10.1.1.1:5000/prefix");
  EXPECT_EQ((*eps)[2].BaseUrl(), "https://registry-1.docker.io");
  EXPECT_FALSE((*eps)[2].mirror);
  EXPECT_TRUE((*eps)[2].tls.verify);
}

TEST_F(HostsTest, BadDaemonJsonIsAnError) {
  HostsOptions o;
  o.certs_dirs = {docker_certs_};
  o.daemon_config = tmp_.path() + "/daemon.json";
  WriteText(o.daemon_config, R"({"registry-mirrors": ["ftp://x"]})");
  auto h = RegistryHosts::Load(o);
  ASSERT_FALSE(h);
  EXPECT_NE(h.error().message.find("invalid mirror"), std::string::npos);
  WriteText(o.daemon_config, R"({"insecure-registries": "x"})");
  EXPECT_FALSE(RegistryHosts::Load(o));
  o.daemon_config = tmp_.path() + "/missing.json";
  EXPECT_TRUE(RegistryHosts::Load(o));
}

TEST_F(HostsTest, EndpointsForInsecureRegistryFallBackToHttp) {
  RegistryHosts h = Load();
  auto eps = h.Endpoints("127.0.0.1:5000");
  ASSERT_TRUE(eps);
  ASSERT_EQ(eps->size(), 2u);
  EXPECT_EQ((*eps)[0].BaseUrl(), "https://127.0.0.1:5000");
  EXPECT_FALSE((*eps)[0].tls.verify);  // dockerd: InsecureSkipVerify for insecure registries
  EXPECT_EQ((*eps)[1].BaseUrl(), "http://127.0.0.1:5000");

  ASSERT_TRUE(h.AddMirror("ghcr.io", "https://ghcr-mirror.local"));
  eps = h.Endpoints("ghcr.io");
  ASSERT_TRUE(eps);
  ASSERT_EQ(eps->size(), 2u);  // no plain-HTTP fallback for a secure registry
  EXPECT_EQ((*eps)[0].BaseUrl(), "https://ghcr-mirror.local");
  EXPECT_EQ((*eps)[1].BaseUrl(), "https://ghcr.io");
  EXPECT_TRUE((*eps)[1].tls.verify);
}

TEST_F(HostsTest, CertsDirectoriesGiveCaAndClientPair) {
  std::string d1 = docker_certs_ + "/reg.example:5000";
  std::string d2 = strata_certs_ + "/reg.example:5000";
  std::filesystem::create_directories(d1);
  std::filesystem::create_directories(d2);
  WriteText(d1 + "/ca.crt", "CA1");
  WriteText(d1 + "/client.cert", "C");
  WriteText(d1 + "/client.key", "K");
  WriteText(d2 + "/extra.crt", "CA2");
  WriteText(d2 + "/README", "ignored");
  RegistryHosts h = Load();
  auto tls = h.TlsFor("reg.example:5000");
  ASSERT_TRUE(tls) << tls.error().message;
  EXPECT_TRUE(tls->verify);
  EXPECT_EQ(tls->ca_files, (std::vector<std::string>{d1 + "/ca.crt", d2 + "/extra.crt"}));
  EXPECT_EQ(tls->client_cert, d1 + "/client.cert");
  EXPECT_EQ(tls->client_key, d1 + "/client.key");
  // Other ports are other directories.
  EXPECT_TRUE(h.TlsFor("reg.example")->ca_files.empty());
}

TEST_F(HostsTest, CertWithoutKeyIsDockersError) {
  std::string d = docker_certs_ + "/reg.example";
  std::filesystem::create_directories(d);
  WriteText(d + "/client.cert", "C");
  RegistryHosts h = Load();
  auto tls = h.TlsFor("reg.example");
  ASSERT_FALSE(tls);
  EXPECT_EQ(tls.error().message,
            "missing key client.key for client certificate client.cert. CA certificates must "
            "use the extension .crt");
  std::filesystem::remove(d + "/client.cert");
  WriteText(d + "/client.key", "K");
  tls = h.TlsFor("reg.example");
  ASSERT_FALSE(tls);
  EXPECT_EQ(tls.error().message, "missing client certificate client.cert for key client.key");
}

}  // namespace
}  // namespace strata::registry
