#include "registry/credentials.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "registry/test_support.h"
#include "util/fs.h"

namespace strata::registry {
namespace {

using testing::ReadText;
using testing::WriteText;
using Json = nlohmann::ordered_json;

// A credential helper speaking docker's protocol, keeping entries as files in
// $STRATA_FAKE_HELPER_DIR and logging each call's action and stdin.
constexpr char kFakeHelper[] = R"SH(#!/bin/sh
dir="$STRATA_FAKE_HELPER_DIR"
input=$(cat)
printf '%s %s\n' "$1" "$input" >>"$dir/calls.log"
case "$1" in
get|erase) key=$(printf %s "$input" | md5sum | cut -c1-32) ;;
store) url=$(printf %s "$input" | sed 's/.*"ServerURL":"\([^"]*\)".*/\1/')
       key=$(printf %s "$url" | md5sum | cut -c1-32) ;;
*) echo "unknown action"; exit 2 ;;
esac
case "$1" in
get) if [ -f "$dir/$key" ]; then cat "$dir/$key"; else echo "credentials not found in native keychain"; exit 1; fi ;;
store) printf %s "$input" >"$dir/$key" ;;
erase) if [ -f "$dir/$key" ]; then rm "$dir/$key"; else echo "credentials not found in native keychain"; exit 1; fi ;;
esac
)SH";

class CredentialsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto t = TempDir::Create("/tmp", "strata-creds-");
    ASSERT_TRUE(t);
    tmp_ = std::move(*t);
    config_dir_ = tmp_.path() + "/docker";
    bin_ = tmp_.path() + "/bin";
    helper_dir_ = tmp_.path() + "/helper";
    std::filesystem::create_directories(config_dir_);
    std::filesystem::create_directories(bin_);
    std::filesystem::create_directories(helper_dir_);
    WriteText(bin_ + "/docker-credential-test", kFakeHelper, 0755);
    WriteText(bin_ + "/docker-credential-other", kFakeHelper, 0755);
    WriteText(bin_ + "/docker-credential-broken",
              "#!/bin/sh\ncat >/dev/null\necho 'boom: keychain locked'\nexit 3\n", 0755);
    old_path_ = std::getenv("PATH") ? std::getenv("PATH") : "";
    ::setenv("PATH", (bin_ + ":" + old_path_).c_str(), 1);
    ::setenv("STRATA_FAKE_HELPER_DIR", helper_dir_.c_str(), 1);
  }
  void TearDown() override {
    if (!old_path_.empty()) ::setenv("PATH", old_path_.c_str(), 1);
    ::unsetenv("STRATA_FAKE_HELPER_DIR");
  }
  std::string ConfigPath() const { return config_dir_ + "/config.json"; }
  ConfigFile Load() {
    auto cf = ConfigFile::Load(config_dir_);
    EXPECT_TRUE(cf) << cf.error().message;
    return std::move(*cf);
  }

  TempDir tmp_;
  std::string config_dir_, bin_, helper_dir_, old_path_;
};

TEST(CredentialKeyTest, DockerHubAndHosts) {
  EXPECT_EQ(CredentialKey("docker.io"), "https://index.docker.io/v1/");
  EXPECT_EQ(CredentialKey("index.docker.io"), "https://index.docker.io/v1/");
  EXPECT_EQ(CredentialKey("registry-1.docker.io"), "https://index.docker.io/v1/");
  EXPECT_EQ(CredentialKey("https://index.docker.io/v1/"), "https://index.docker.io/v1/");
  EXPECT_EQ(CredentialKey("localhost:5000"), "localhost:5000");
  EXPECT_EQ(CredentialKey("https://ghcr.io/v2/"), "ghcr.io");
}

TEST(CredentialKeyTest, ConfigDirPrecedence) {
  const char* old = std::getenv("DOCKER_CONFIG");
  std::string saved = old ? old : "";
  ::setenv("DOCKER_CONFIG", "/env/dir", 1);
  EXPECT_EQ(DockerConfigDir(), "/env/dir");
  EXPECT_EQ(DockerConfigDir("/flag/dir"), "/flag/dir");
  ::unsetenv("DOCKER_CONFIG");
  EXPECT_EQ(DockerConfigDir(), std::string(std::getenv("HOME")) + "/.docker");
  if (old) ::setenv("DOCKER_CONFIG", saved.c_str(), 1);
}

TEST_F(CredentialsTest, MissingFileIsEmpty) {
  ConfigFile cf = Load();
  auto c = cf.Get("docker.io");
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->empty());
}

TEST_F(CredentialsTest, ReadsEveryAuthsShape) {
  WriteText(ConfigPath(), R"({
  "auths": {
    "https://index.docker.io/v1/": {"auth": "dGVzdHVzZXI6dGVzdHBhc3N3b3Jk"},
    "fields.example": {"username": "u2", "password": "p2"},
    "token.example": {"auth": "dTM6", "identitytoken": "idtok"},
    "https://legacy.example:5000/v1/": {"auth": "bGVnOnB3OmNvbG9u"},
    "broken.example": {"auth": "bm9jb2xvbg=="}
  }
})");
  ConfigFile cf = Load();
  auto hub = cf.Get("docker.io");
  ASSERT_TRUE(hub);
  EXPECT_EQ(hub->username, "testuser");
  EXPECT_EQ(hub->password, "testpassword");
  EXPECT_EQ(cf.Get("fields.example")->password, "p2");
  auto tok = cf.Get("token.example");
  EXPECT_EQ(tok->username, "u3");
  EXPECT_EQ(tok->identity_token, "idtok");
  auto legacy = cf.Get("legacy.example:5000");  // URL keys match by host
  ASSERT_TRUE(legacy);
  EXPECT_EQ(legacy->username, "leg");
  EXPECT_EQ(legacy->password, "pw:colon");
  auto broken = cf.Get("broken.example");
  ASSERT_FALSE(broken);
  EXPECT_NE(broken.error().message.find("invalid auth configuration file"), std::string::npos);
  EXPECT_TRUE(cf.Get("unknown.example")->empty());
}

TEST_F(CredentialsTest, StoreKeepsUnknownKeysAndWrites0600) {
  WriteText(ConfigPath(), R"({
  "auths": {"other.example": {"auth": "bzpw"}},
  "psFormat": "table {{.ID}}",
  "HttpHeaders": {"X-Meta": "1"},
  "plugins": {"buildx": {"x": ["y", 2]}},
  "currentContext": "default"
})",
            0644);
  ConfigFile cf = Load();
  Credentials c;
  c.username = "alice";
  c.password = "pa:ss";
  ASSERT_TRUE(cf.Store("localhost:5000", c));
  struct stat st;
  ASSERT_EQ(::stat(ConfigPath().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  Json doc = Json::parse(ReadText(ConfigPath()));
  EXPECT_EQ(doc["psFormat"], "table {{.ID}}");
  EXPECT_EQ(doc["HttpHeaders"]["X-Meta"], "1");
  EXPECT_EQ(doc["plugins"]["buildx"]["x"][1], 2);
  EXPECT_EQ(doc["currentContext"], "default");
  EXPECT_EQ(doc["auths"]["other.example"]["auth"], "bzpw");
  // docker's shape: only the base64 "auth", no plain username/password fields.
  EXPECT_EQ(doc["auths"]["localhost:5000"], Json({{"auth", Base64Encode("alice:pa:ss")}}));
  // Key order of the original file is kept (a diff of the file shows only the change).
  EXPECT_EQ(doc.begin().key(), "auths");

  ConfigFile again = Load();
  auto got = again.Get("localhost:5000");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->username, "alice");
  EXPECT_EQ(got->password, "pa:ss");

  auto erased = again.Erase("localhost:5000");
  ASSERT_TRUE(erased);
  EXPECT_TRUE(*erased);
  doc = Json::parse(ReadText(ConfigPath()));
  EXPECT_FALSE(doc["auths"].contains("localhost:5000"));
  EXPECT_TRUE(doc["auths"].contains("other.example"));
  EXPECT_FALSE(*again.Erase("localhost:5000"));
}

TEST_F(CredentialsTest, IdentityTokenAndHubKey) {
  ConfigFile cf = Load();
  Credentials c;
  c.username = "bob";
  c.identity_token = "refresh-xyz";
  ASSERT_TRUE(cf.Store("docker.io", c));
  Json doc = Json::parse(ReadText(ConfigPath()));
  EXPECT_EQ(doc["auths"]["https://index.docker.io/v1/"]["identitytoken"], "refresh-xyz");
  EXPECT_EQ(doc["auths"]["https://index.docker.io/v1/"]["auth"], Base64Encode("bob:"));
}

TEST_F(CredentialsTest, SymlinkedConfigIsWrittenThrough) {
  std::string real = tmp_.path() + "/dotfiles/config.json";
  std::filesystem::create_directories(tmp_.path() + "/dotfiles");
  WriteText(real, R"({"detachKeys":"ctrl-x"})");
  std::filesystem::create_symlink(real, ConfigPath());
  ConfigFile cf = Load();
  ASSERT_TRUE(cf.Store("r.example", Credentials{"u", "p"}));
  EXPECT_TRUE(std::filesystem::is_symlink(ConfigPath()));
  Json doc = Json::parse(ReadText(real));
  EXPECT_EQ(doc["detachKeys"], "ctrl-x");
  EXPECT_TRUE(doc["auths"].contains("r.example"));
}

TEST_F(CredentialsTest, CredsStoreHelperProtocol) {
  WriteText(ConfigPath(), R"({"credsStore": "test", "auths": {}})");
  ConfigFile cf = Load();
  EXPECT_EQ(cf.HelperFor("docker.io"), "test");
  Credentials c;
  c.username = "carol";
  c.password = "top-secret-pw";
  ASSERT_TRUE(cf.Store("docker.io", c));
  // The secret went to the helper, not the file; the file lists the registry.
  std::string text = ReadText(ConfigPath());
  EXPECT_EQ(text.find("top-secret-pw"), std::string::npos);
  Json doc = Json::parse(text);
  EXPECT_EQ(doc["auths"]["https://index.docker.io/v1/"], Json::object());
  std::string calls = ReadText(helper_dir_ + "/calls.log");
  EXPECT_NE(calls.find(R"(store {"ServerURL":"https://index.docker.io/v1/","Username":"carol",)"
                       R"("Secret":"top-secret-pw"})"),
            std::string::npos)
      << calls;

  auto got = Load().Get("index.docker.io");
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ(got->username, "carol");
  EXPECT_EQ(got->password, "top-secret-pw");
  EXPECT_NE(ReadText(helper_dir_ + "/calls.log").find("get https://index.docker.io/v1/"),
            std::string::npos);

  // Identity tokens travel as Username "<token>".
  Credentials t;
  t.identity_token = "idt-123";
  ASSERT_TRUE(cf.Store("ghcr.io", t));
  got = Load().Get("ghcr.io");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->identity_token, "idt-123");
  EXPECT_TRUE(got->username.empty());

  // Unknown to the helper: empty, not an error.
  got = Load().Get("nothing.example");
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_TRUE(got->empty());

  auto erased = cf.Erase("docker.io");
  ASSERT_TRUE(erased) << erased.error().message;
  EXPECT_TRUE(*erased);
  EXPECT_TRUE(Load().Get("docker.io")->empty());
  // As docker 20.10's logout does (recorded with this fake helper): a non-Hub registry is
  // erased under its key and its http:// and https:// spellings.
  ASSERT_TRUE(cf.Erase("ghcr.io"));
  calls = ReadText(helper_dir_ + "/calls.log");
  EXPECT_NE(calls.find("erase ghcr.io\nerase http://ghcr.io\nerase https://ghcr.io\n"),
            std::string::npos)
      << calls;
  doc = Json::parse(ReadText(ConfigPath()));
  EXPECT_FALSE(doc["auths"].contains("https://index.docker.io/v1/"));
}

TEST_F(CredentialsTest, CredHelpersWinOverCredsStore) {
  WriteText(ConfigPath(), R"({"credsStore": "test", "credHelpers": {"special.example": "other"}})");
  ConfigFile cf = Load();
  EXPECT_EQ(cf.HelperFor("special.example"), "other");
  EXPECT_EQ(cf.HelperFor("plain.example"), "test");
  ASSERT_TRUE(cf.Store("special.example", Credentials{"s", "p"}));
  EXPECT_EQ(Load().Get("special.example")->username, "s");
}

TEST_F(CredentialsTest, HelperFailureIsReportedWithoutSecrets) {
  WriteText(ConfigPath(), R"({"credsStore": "broken"})");
  ConfigFile cf = Load();
  auto got = cf.Get("r.example");
  ASSERT_FALSE(got);
  EXPECT_NE(got.error().message.find(
                "error getting credentials - err: exit status 3, out: `boom: keychain locked`"),
            std::string::npos)
      << got.error().message;
  auto st = cf.Store("r.example", Credentials{"u", "very-secret"});
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message.find("very-secret"), std::string::npos);
  EXPECT_NE(st.error().message.find("error storing credentials"), std::string::npos);

  WriteText(ConfigPath(), R"({"credsStore": "does-not-exist"})");
  got = Load().Get("r.example");
  ASSERT_FALSE(got);
  EXPECT_NE(got.error().message.find("error getting credentials - err: exec: "
                                     "\"docker-credential-does-not-exist\": executable file not "
                                     "found in $PATH"),
            std::string::npos)
      << got.error().message;
}

TEST_F(CredentialsTest, InvalidFileIsAnError) {
  WriteText(ConfigPath(), "{not json");
  auto cf = ConfigFile::Load(config_dir_);
  ASSERT_FALSE(cf);
  EXPECT_NE(cf.error().message.find(ConfigPath()), std::string::npos);
}

}  // namespace
}  // namespace strata::registry
