// strata pull / login / logout end to end: the CNCF distribution registry on loopback, images
// pushed into it by skopeo (and by real docker when STRATA_TEST_DOCKER_HOST is set).
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

class PullTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!rt::HaveProgram("skopeo")) GTEST_SKIP() << "skopeo not installed";
    std::string why = reg_.Start(env_.dir() + "/reg", "", "");
    if (why.find("not installed") != std::string::npos) GTEST_SKIP() << why;
    ASSERT_EQ(why, "");
    host_ = reg_.host();
    // A busybox image made by strata, pushed by skopeo from a docker-archive.
    auto imp = env_.Run("import -c 'CMD [\"/bin/sh\"]' " + env_.BusyboxTar() + " src/bb:1");
    ASSERT_EQ(imp.rc, 0) << imp.err;
    id_ = Trim(imp.out);
    ASSERT_EQ(env_.Run("save -o " + env_.dir() + "/bb.tar src/bb:1").rc, 0);
    Push("docker-archive:" + env_.dir() + "/bb.tar", "library/bb:latest");
  }

  void Push(const std::string& src, const std::string& dest, const std::string& extra = "") {
    auto r = env_.Shell("skopeo copy -q --dest-tls-verify=false " + extra + " " + src +
                        " docker://" + host_ + "/" + dest);
    ASSERT_EQ(r.rc, 0) << r.err;
  }
  // Runs strata against a fresh store, so nothing is there yet.
  RunResult Fresh(const std::string& root, const std::string& args) const {
    return env_.Shell(std::string(STRATA_BINARY) + " --root " + env_.dir() + "/" + root + " " +
                      args);
  }
  std::string ManifestDigest(const std::string& repo_tag) const {
    auto r = env_.Shell("skopeo inspect --tls-verify=false --format '{{.Digest}}' docker://" +
                        host_ + "/" + repo_tag);
    return Trim(r.out);
  }

  StrataEnv env_;
  rt::Registry reg_;
  std::string host_, id_;
};

TEST_F(PullTest, PullsWithDockersOutputAndSameImage) {
  std::string digest = ManifestDigest("library/bb:latest");
  ASSERT_TRUE(digest.starts_with("sha256:")) << digest;
  auto p = env_.Shell(std::string(STRATA_BINARY) + " --root " + env_.dir() + "/r1 pull " + host_ +
                      "/library/bb");
  ASSERT_EQ(p.rc, 0) << p.err;
  // Recorded from docker 20.10 pulling a one-layer image from a local registry (non-TTY).
  auto lines = Lines(p.out);
  ASSERT_EQ(lines.size(), 9u) << p.out;
  EXPECT_EQ(lines[0], "Using default tag: latest");
  EXPECT_EQ(lines[1], "latest: Pulling from library/bb");
  std::string shortid = lines[2].substr(0, 12);
  EXPECT_EQ(lines[2], shortid + ": Pulling fs layer");
  EXPECT_EQ(lines[3], shortid + ": Verifying Checksum");
  EXPECT_EQ(lines[4], shortid + ": Download complete");
  EXPECT_EQ(lines[5], shortid + ": Pull complete");
  EXPECT_EQ(lines[6], "Digest: " + digest);
  EXPECT_EQ(lines[7], "Status: Downloaded newer image for " + host_ + "/library/bb:latest");
  EXPECT_EQ(lines[8], host_ + "/library/bb:latest");
  EXPECT_EQ(p.err, "");

  // Same image ID as the image skopeo pushed; RepoDigests as docker records them.
  auto insp = Fresh("r1", "image inspect " + host_ + "/library/bb");
  ASSERT_EQ(insp.rc, 0) << insp.err;
  auto j = nlohmann::json::parse(insp.out);
  EXPECT_EQ(j[0]["Id"], id_);
  EXPECT_EQ(j[0]["RepoDigests"], nlohmann::json::array({host_ + "/library/bb@" + digest}));
  EXPECT_EQ(j[0]["RepoTags"], nlohmann::json::array({host_ + "/library/bb:latest"}));
  // The files arrived: the image saves back to an archive whose layer hashes to its diff ID
  // (save checks), and skopeo can read that archive.
  ASSERT_EQ(Fresh("r1", "save -o " + env_.dir() + "/back.tar " + host_ + "/library/bb").rc, 0);
  EXPECT_EQ(env_.Shell("skopeo inspect docker-archive:" + env_.dir() + "/back.tar").rc, 0);

  // Again: nothing to download, docker's up-to-date lines.
  auto again = Fresh("r1", "pull " + host_ + "/library/bb:latest");
  ASSERT_EQ(again.rc, 0) << again.err;
  EXPECT_EQ(again.out, "latest: Pulling from library/bb\nDigest: " + digest +
                           "\nStatus: Image is up to date for " + host_ + "/library/bb:latest\n" +
                           host_ + "/library/bb:latest\n");

  // By digest: docker names the pull by its whole reference.
  std::string by = host_ + "/library/bb@" + digest;
  auto d = Fresh("r2", "pull " + by);
  ASSERT_EQ(d.rc, 0) << d.err;
  auto dl = Lines(d.out);
  ASSERT_GE(dl.size(), 4u);
  EXPECT_EQ(dl[0], by + ": Pulling from library/bb");
  EXPECT_EQ(dl[dl.size() - 2], "Status: Downloaded newer image for " + by);
  EXPECT_EQ(dl.back(), by);
  EXPECT_EQ(Trim(Fresh("r2", "images -q --no-trunc").out), id_);
  // -q prints only the reference.
  auto q = Fresh("r3", "pull -q " + host_ + "/library/bb");
  ASSERT_EQ(q.rc, 0) << q.err;
  EXPECT_EQ(q.out, host_ + "/library/bb:latest\n");
}

TEST_F(PullTest, LayersAlreadyPresentAreSkipped) {
  // Another image with the same layer (only its config differs): the layer is reused.
  auto v = env_.Shell("python3 " + std::string(STRATA_TESTDATA) + "/registry/variant.py " + host_ +
                      " library/bb latest two base someone");
  ASSERT_EQ(v.rc, 0) << v.err;
  ASSERT_EQ(Fresh("r1", "pull " + host_ + "/library/bb").rc, 0);
  auto r = Fresh("r1", "pull " + host_ + "/two:base");
  ASSERT_EQ(r.rc, 0) << r.err;
  auto lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 5u) << r.out;
  EXPECT_EQ(lines[0], "base: Pulling from two");
  // docker 20.10's line for a layer it has (same chain): no download.
  EXPECT_TRUE(lines[1].ends_with(": Already exists")) << r.out;
  EXPECT_EQ(lines[2], "Digest: " + Trim(v.out));
  EXPECT_EQ(lines[3], "Status: Downloaded newer image for " + host_ + "/two:base");
  EXPECT_EQ(Fresh("r1", "images -q").out.size(), 26u);  // two images
}

TEST_F(PullTest, CopyDriverDownloadsBlobsThenUnpacks) {
  // A store made with the copy driver (no overlay): blobs go to content/ first, then unpack
  // in order. Same image, same layers, same lines.
  std::string snaps = env_.dir() + "/rc/snapshots";
  std::filesystem::create_directories(snaps);
  rt::WriteText(snaps + "/.driver", "copy\n");
  auto p = Fresh("rc", "pull " + host_ + "/library/bb:latest");
  ASSERT_EQ(p.rc, 0) << p.err;
  EXPECT_NE(p.out.find(": Pull complete\n"), std::string::npos) << p.out;
  EXPECT_EQ(Trim(Fresh("rc", "images -q --no-trunc").out), id_);
  // The pulled layer saves back (the blob is the registry's, verified against its diff ID).
  ASSERT_EQ(Fresh("rc", "save -o " + env_.dir() + "/c.tar " + host_ + "/library/bb").rc, 0);
  EXPECT_EQ(env_.Shell("skopeo inspect docker-archive:" + env_.dir() + "/c.tar").rc, 0);
}

TEST_F(PullTest, AllTags) {
  Push("docker-archive:" + env_.dir() + "/bb.tar", "library/bb:second");
  std::string digest = ManifestDigest("library/bb:latest");
  auto p = Fresh("r1", "pull -a " + host_ + "/library/bb");
  ASSERT_EQ(p.rc, 0) << p.err;
  // docker 20.10 -a: each tag's lines and Digest, then one Status for the repository.
  auto lines = Lines(p.out);
  ASSERT_GE(lines.size(), 5u) << p.out;
  EXPECT_EQ(lines[0], "latest: Pulling from library/bb");
  EXPECT_NE(p.out.find("Digest: " + digest +
                       "\nsecond: Pulling from library/bb\nDigest: " + digest + "\n"),
            std::string::npos)
      << p.out;
  EXPECT_EQ(lines[lines.size() - 2], "Status: Downloaded newer image for " + host_ + "/library/bb");
  EXPECT_EQ(lines.back(), host_ + "/library/bb");
  auto tags = Fresh("r1", "images --format '{{.Tag}}' " + host_ + "/library/bb");
  EXPECT_EQ(tags.out, "latest\nsecond\n");
  auto bad = Fresh("r1", "pull -a " + host_ + "/library/bb:latest");
  EXPECT_EQ(bad.rc, 1);
  EXPECT_EQ(bad.err, "tag can't be used with --all-tags/-a\n");
}

TEST_F(PullTest, ErrorsInDockersWords) {
  // Recorded from docker 20.10 against distribution 2.8.
  auto nf = Fresh("r1", "pull " + host_ + "/nosuch");
  EXPECT_EQ(nf.rc, 1);
  EXPECT_EQ(nf.out, "Using default tag: latest\n");
  EXPECT_EQ(nf.err, "Error response from daemon: manifest for " + host_ +
                        "/nosuch:latest not found: manifest unknown: manifest unknown\n");
  auto tag = Fresh("r1", "pull " + host_ + "/library/bb:nosuch");
  EXPECT_EQ(tag.rc, 1);
  EXPECT_EQ(tag.err, "Error response from daemon: manifest for " + host_ +
                         "/library/bb:nosuch not found: manifest unknown: manifest unknown\n");
  std::string zero = "sha256:" + std::string(64, '0');
  auto dg = Fresh("r1", "pull " + host_ + "/library/bb@" + zero);
  EXPECT_EQ(dg.rc, 1);
  EXPECT_EQ(dg.err, "Error response from daemon: manifest for " + host_ + "/library/bb@" + zero +
                        " not found: manifest unknown: manifest unknown\n");
  EXPECT_EQ(Fresh("r1", "images -q").out, "");
}

TEST_F(PullTest, PlatformFromAMultiPlatformIndex) {
  // An index naming the amd64 image for linux/amd64 and linux/arm/v7 (as docker's recording
  // did): selection by --platform, and docker's error for a platform it lacks.
  std::string digest = ManifestDigest("library/bb:latest");
  auto m = env_.Shell(
      "curl -fsS -H 'Accept: application/vnd.docker.distribution.manifest.v2+json'"
      " http://" +
      host_ + "/v2/library/bb/manifests/" + digest);
  ASSERT_EQ(m.rc, 0);
  std::string mt = nlohmann::json::parse(m.out).value("mediaType", "");
  std::string desc = "\"mediaType\":\"" + mt + "\",\"size\":" + std::to_string(m.out.size()) +
                     ",\"digest\":\"" + digest + "\"";
  std::string idx =
      "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\","
      "\"manifests\":[{" +
      desc + ",\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\"}},{" + desc +
      ",\"platform\":{\"architecture\":\"arm\",\"os\":\"linux\",\"variant\":\"v7\"}}]}";
  rt::WriteText(env_.dir() + "/idx.json", idx);
  auto put = env_.Shell(
      "curl -fsS -X PUT -H 'Content-Type: application/vnd.oci.image.index.v1+json' "
      "--data-binary @" +
      env_.dir() + "/idx.json http://" + host_ + "/v2/library/bb/manifests/multi");
  ASSERT_EQ(put.rc, 0) << put.err;
  std::string idx_digest = ManifestDigest("library/bb:multi");

  auto bad = Fresh("r1", "pull --platform linux/arm64 " + host_ + "/library/bb:multi");
  EXPECT_EQ(bad.rc, 1);
  EXPECT_EQ(bad.out, "multi: Pulling from library/bb\n");
  // docker 20.10's words, then the platforms that exist.
  EXPECT_TRUE(
      bad.err.starts_with("no matching manifest for linux/arm64 in the manifest list entries"))
      << bad.err;
  EXPECT_NE(bad.err.find("linux/amd64, linux/arm/v7"), std::string::npos) << bad.err;
  EXPECT_EQ(Fresh("r1", "images -q").out, "");

  auto ok = Fresh("r1", "pull --platform linux/arm/v7 " + host_ + "/library/bb:multi");
  ASSERT_EQ(ok.rc, 0) << ok.err;
  // The RepoDigest is the index's, as docker records it.
  EXPECT_NE(ok.out.find("Digest: " + idx_digest), std::string::npos) << ok.out;
  auto rd = Fresh("r1", "inspect --format '{{json .RepoDigests}}' " + host_ + "/library/bb:multi");
  EXPECT_EQ(Trim(rd.out), "[\"" + host_ + "/library/bb@" + idx_digest + "\"]");
  EXPECT_EQ(Trim(Fresh("r1", "images -q --no-trunc").out), id_);
}

TEST_F(PullTest, CorruptBlobIsRefusedAndLeavesNoImage) {
  // Flip bytes of the layer blob in the registry's storage: same size, wrong digest.
  std::string blobs = env_.dir() + "/reg/storage/docker/registry/v2/blobs/sha256";
  std::string victim;
  uintmax_t biggest = 0;
  for (auto& e : std::filesystem::recursive_directory_iterator(blobs)) {
    if (e.is_regular_file() && e.path().filename() == "data" && e.file_size() > biggest) {
      biggest = e.file_size();
      victim = e.path();
    }
  }
  ASSERT_GT(biggest, 100000u);
  ASSERT_EQ(env_.Shell("printf 'garbage!' | dd of=" + victim +
                       " bs=1 seek=50000 conv=notrunc 2>/dev/null")
                .rc,
            0);
  auto r = Fresh("r1", "pull " + host_ + "/library/bb");
  EXPECT_EQ(r.rc, 1);
  // docker 20.10's words for a layer whose bytes do not match its digest.
  EXPECT_TRUE(r.err.starts_with("filesystem layer verification failed for digest sha256:"))
      << r.err;
  EXPECT_EQ(Fresh("r1", "images -qa").out, "");
  // Nothing staged is left behind.
  std::string tmp = env_.dir() + "/r1/tmp";
  if (std::filesystem::exists(tmp)) EXPECT_TRUE(std::filesystem::is_empty(tmp));
}

TEST_F(PullTest, AgreesWithRealDocker) {
  const char* dh = std::getenv("STRATA_TEST_DOCKER_HOST");
  if (!dh || !*dh) GTEST_SKIP() << "no private dockerd (STRATA_TEST_DOCKER_HOST unset)";
  std::string docker = "DOCKER_HOST=" + std::string(dh) + " docker";
  // docker pushes its own import; both pull it back.
  std::string ref = host_ + "/dk/bb:" + std::to_string(::getpid());
  // A layer docker cannot have yet (the daemon outlives tests): a file naming this run.
  std::string ctx = env_.dir() + "/uniq";
  std::filesystem::create_directories(ctx + "/etc");
  rt::WriteText(ctx + "/etc/run", ref + " " + std::to_string(::time(nullptr)) + "\n");
  ASSERT_EQ(env_.Shell("tar -C " + ctx + " -cf " + ctx + ".tar etc").rc, 0);
  ASSERT_EQ(env_.Shell(docker + " import -c 'CMD [\"/bin/sh\"]' " + ctx + ".tar " + ref).rc, 0);
  auto push = env_.Shell(docker + " push " + ref);
  ASSERT_EQ(push.rc, 0) << push.err;
  env_.Shell(docker + " rmi " + ref);
  auto dp = env_.Shell(docker + " pull " + ref);
  ASSERT_EQ(dp.rc, 0) << dp.err;
  auto sp = Fresh("r1", "pull " + ref);
  ASSERT_EQ(sp.rc, 0) << sp.err;
  // The same lines apart from "Verifying Checksum", which docker coalesces away at times.
  auto strip = [](const std::string& s) {
    std::string out;
    for (auto& l : Lines(s)) {
      if (!l.ends_with(": Verifying Checksum")) out += l + "\n";
    }
    return out;
  };
  EXPECT_EQ(strip(sp.out), strip(dp.out));
  std::string f = " inspect --format '{{.Id}} {{json .RepoDigests}} {{json .RepoTags}} {{.Size}}' ";
  EXPECT_EQ(Trim(Fresh("r1", f + ref).out), Trim(env_.Shell(docker + f + ref).out));
  env_.Shell(docker + " rmi " + ref);
}

// --- login / logout against htpasswd Basic auth over TLS --------------------------------------

class LoginTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!rt::HaveProgram("openssl")) GTEST_SKIP() << "openssl CLI not installed";
    ASSERT_EQ(pki_.Make(env_.dir()), "");
    std::string line = rt::Htpasswd("testuser", "testpassword", env_.dir());
    if (line.empty()) GTEST_SKIP() << "no bcrypt htpasswd tool";
    rt::WriteText(env_.dir() + "/htpasswd", line + "\n");
    std::string why = reg_.Start(
        env_.dir() + "/reg",
        "  tls:\n    certificate: " + pki_.server_crt + "\n    key: " + pki_.server_key + "\n",
        "auth:\n  htpasswd:\n    realm: Registry Realm\n    path: " + env_.dir() + "/htpasswd\n");
    if (why.find("not installed") != std::string::npos) GTEST_SKIP() << why;
    ASSERT_EQ(why, "");
    cfg_ = env_.dir() + "/dockercfg";
  }
  RunResult Strata(const std::string& args, const std::string& stdin_file = "") const {
    return env_.Run("--config " + cfg_ + " " + args, stdin_file);
  }

  StrataEnv env_;
  rt::TestPki pki_;
  rt::Registry reg_;
  std::string cfg_;
};

TEST_F(LoginTest, LoginPullLogout) {
  std::string h = reg_.host();
  // Wrong password: docker's words, nothing saved.
  auto bad = Strata("login -u testuser -p wrong " + h);
  EXPECT_EQ(bad.rc, 1);
  EXPECT_EQ(bad.err,
            "WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n"
            "Error response from daemon: login attempt to https://" +
                h + "/v2/ failed with status: 401 Unauthorized\n");
  EXPECT_FALSE(std::filesystem::exists(cfg_ + "/config.json"));

  // Unauthenticated pull is refused.
  auto anon = Strata("pull " + h + "/x");
  EXPECT_EQ(anon.rc, 1);
  EXPECT_NE(anon.err.find("unauthorized"), std::string::npos) << anon.err;

  rt::WriteText(env_.dir() + "/pw", "testpassword\n");
  auto ok = Strata("login -u testuser --password-stdin " + h, env_.dir() + "/pw");
  ASSERT_EQ(ok.rc, 0) << ok.err;
  EXPECT_EQ(ok.out, "Login Succeeded\n");
  EXPECT_NE(
      ok.err.find("WARNING! Your password will be stored unencrypted in " + cfg_ + "/config.json."),
      std::string::npos)
      << ok.err;
  auto cfg = nlohmann::json::parse(rt::ReadText(cfg_ + "/config.json"));
  // base64("testuser:testpassword"), as docker writes it.
  EXPECT_EQ(cfg["auths"][h]["auth"], "dGVzdHVzZXI6dGVzdHBhc3N3b3Jk");
  struct stat st {};
  ASSERT_EQ(::stat((cfg_ + "/config.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  // With the saved credentials a pull reaches the registry: an image skopeo pushed.
  auto imp = env_.Run("import " + env_.BusyboxTar() + " src/bb:1");
  ASSERT_EQ(imp.rc, 0) << imp.err;
  ASSERT_EQ(env_.Run("save -o " + env_.dir() + "/bb.tar src/bb:1").rc, 0);
  if (rt::HaveProgram("skopeo")) {
    auto push = env_.Shell(
        "skopeo copy -q --dest-tls-verify=false --dest-creds "
        "testuser:testpassword docker-archive:" +
        env_.dir() + "/bb.tar docker://" + h + "/priv/bb:1");
    ASSERT_EQ(push.rc, 0) << push.err;
    auto p = env_.Shell(std::string(STRATA_BINARY) + " --root " + env_.dir() + "/r2 --config " +
                        cfg_ + " pull " + h + "/priv/bb:1");
    ASSERT_EQ(p.rc, 0) << p.err;
    EXPECT_NE(p.out.find("Status: Downloaded newer image for " + h + "/priv/bb:1"),
              std::string::npos);
  }

  auto out = Strata("logout " + h);
  EXPECT_EQ(out.rc, 0);
  EXPECT_EQ(out.out, "Removing login credentials for " + h + "\n");
  cfg = nlohmann::json::parse(rt::ReadText(cfg_ + "/config.json"));
  EXPECT_FALSE(cfg["auths"].contains(h));
  auto again = Strata("logout " + h);
  EXPECT_EQ(again.rc, 0);
  EXPECT_EQ(again.out, "Not logged in to " + h + "\n");
}

}  // namespace
}  // namespace strata::testing
