// Pull across interruptions (issue 3, moby/moby#26146): a pull that loses its connection or
// is killed keeps the layers it completed and the partial blob, and the next pull asks the
// registry only for the rest with a Range request. A fault-injecting registry on loopback
// serves one image and cuts, stalls or ignores Range on demand.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <thread>

#include "archive/compression.h"
#include "archive/tar_builder.h"
#include "content/paths.h"
#include "digest/digest.h"
#include "engine/layers.h"
#include "engine/pull.h"
#include "engine/store.h"
#include "registry/test_support.h"
#include "util/fs.h"

namespace strata::engine {
namespace {

namespace fs = std::filesystem;

// A registry serving one repository from memory, each connection on its own thread
// (HTTP/1.1, Connection: close). Faults apply to one blob (`target`).
class FaultyRegistry {
 public:
  struct Seen {
    std::string method, path, range;
    uint64_t body_sent = 0;  // bytes of body written for this request
  };

  FaultyRegistry()
      : listener_(64, [this](int c) {
          std::lock_guard lk(mu_);
          conns_.emplace_back([this, c] {
            Serve(c);
            ::close(c);
          });
        }) {}
  ~FaultyRegistry() {
    release_ = true;
    listener_.Stop();
    std::lock_guard lk(mu_);
    for (auto& t : conns_) t.join();
  }

  std::string host() const { return "127.0.0.1:" + std::to_string(listener_.port()); }
  void AddBlob(const std::string& data) { blobs_[digest::Sha256Of(data).str()] = data; }
  void SetManifest(const std::string& m) { manifest_ = m; }

  // Faults on the target blob: close the connection after `cut_after` body bytes; or send
  // `stall_after` bytes and then hold the connection until the registry is destroyed; or
  // answer every Range request with the whole blob (200).
  std::string target;
  std::atomic<int64_t> cut_after{-1};
  std::atomic<int64_t> stall_after{-1};
  std::atomic<bool> ignore_range{false};
  // Wait before cutting, so the other (small) layers finish first.
  std::chrono::milliseconds cut_delay{0};

  std::vector<Seen> seen() {
    std::lock_guard lk(mu_);
    return seen_;
  }
  std::vector<Seen> BlobRequests(const std::string& d) {
    std::vector<Seen> out;
    for (auto& s : seen()) {
      if (s.method == "GET" && s.path.ends_with("/blobs/" + d)) out.push_back(s);
    }
    return out;
  }
  void ClearSeen() {
    std::lock_guard lk(mu_);
    seen_.clear();
  }

 private:
  static bool SendAll(int c, const char* p, size_t n) {
    while (n > 0) {
      ssize_t k = ::send(c, p, n, MSG_NOSIGNAL);
      if (k <= 0) return false;
      p += k;
      n -= static_cast<size_t>(k);
    }
    return true;
  }
  void Serve(int c) {
    // A TLS hello never ends a header block: give up on it soon (the client then tries
    // plain http, as it does with a registry on loopback).
    timeval tv{1, 0};
    ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string buf;
    char tmp[8192];
    while (buf.find("\r\n\r\n") == std::string::npos) {
      ssize_t n = ::recv(c, tmp, sizeof tmp, 0);
      if (n <= 0) return;
      buf.append(tmp, static_cast<size_t>(n));
    }
    auto head = registry::testing::ParseRequestHead(buf.substr(0, buf.find("\r\n\r\n")));
    Seen req;
    req.method = head.method;
    req.path = head.target;
    req.range = head.headers.Get("Range").value_or("");
    int status = 200;
    std::string body, extra;
    std::string blob_digest;
    uint64_t start = 0;
    if (req.path == "/v2/" || req.path == "/v2") {
      body = "{}";
    } else if (req.path.find("/manifests/") != std::string::npos) {
      body = manifest_;
      extra =
          "Content-Type: application/vnd.oci.image.manifest.v1+json\r\n"
          "Docker-Content-Digest: " +
          digest::Sha256Of(manifest_).str() + "\r\n";
    } else if (auto b = req.path.find("/blobs/"); b != std::string::npos) {
      blob_digest = req.path.substr(b + 7);
      auto it = blobs_.find(blob_digest);
      if (it == blobs_.end()) {
        status = 404;
        body = R"({"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown to registry"}]})";
      } else {
        body = it->second;
        bool faulty = blob_digest == target;
        if (!req.range.empty() && !(faulty && ignore_range)) {
          start = std::stoull(req.range.substr(req.range.find('=') + 1));
          if (start >= body.size()) {
            status = 416;
            body.clear();
          } else {
            status = 206;
            extra = "Content-Range: bytes " + std::to_string(start) + "-" +
                    std::to_string(body.size() - 1) + "/" + std::to_string(body.size()) + "\r\n";
            body = body.substr(start);
          }
        }
      }
    } else {
      status = 404;
    }
    std::string out = "HTTP/1.1 " + std::to_string(status) + " X\r\n" + extra +
                      "Content-Length: " + std::to_string(body.size()) +
                      "\r\nConnection: close\r\n\r\n";
    size_t send = req.method == "HEAD" ? 0 : body.size();
    bool cut = false, stall = false;
    if (!blob_digest.empty() && blob_digest == target) {
      if (int64_t n = cut_after.exchange(-1); n >= 0 && static_cast<size_t>(n) < send) {
        send = static_cast<size_t>(n);
        cut = true;
      } else if (int64_t s = stall_after.load(); s >= 0 && static_cast<size_t>(s) < send) {
        send = static_cast<size_t>(s);
        stall = true;
      }
    }
    req.body_sent = send;
    {
      std::lock_guard lk(mu_);
      seen_.push_back(req);
    }
    if (!SendAll(c, out.data(), out.size())) return;
    if (!SendAll(c, body.data(), send)) return;
    if (cut) std::this_thread::sleep_for(cut_delay);
    while (stall && !release_) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }

  std::atomic<bool> release_{false};
  std::mutex mu_;
  std::vector<std::thread> conns_;
  std::vector<Seen> seen_;
  std::map<std::string, std::string> blobs_;
  std::string manifest_;
  registry::testing::LoopbackListener listener_;
};

std::string Gzip(const std::string& data) {
  StringWriter sw;
  auto w = archive::NewCompressingWriter(sw, archive::Compression::kGzip);
  EXPECT_TRUE(w);
  EXPECT_TRUE((*w)->Write(data));
  EXPECT_TRUE((*w)->Close());
  return sw.take();
}

std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

struct Layer {
  std::string tar, blob;
  std::string diff_id() const { return digest::Sha256Of(tar).str(); }
  std::string digest() const { return digest::Sha256Of(blob).str(); }
};

// Parameter: the snapshot driver of the store ("overlay" unpacks while downloading, "copy"
// downloads into content/ and unpacks at commit).
class PullResumeTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    auto t = TempDir::Create("/tmp", "strata-pull-resume-");
    ASSERT_TRUE(t);
    dir_ = std::move(*t);
    root_ = dir_.path() + "/root";
    fs::create_directories(root_ + "/snapshots");
    if (GetParam() == "copy") {
      std::ofstream(root_ + "/snapshots/.driver") << "copy\n";
    }
    fs::create_directories(dir_.path() + "/config");
    // A small layer and a big one whose bytes do not compress (so a cut lands mid-blob).
    small_.tar = archive::testing::TarBuilder().Dir("etc").File("etc/small", "small\n").Finish();
    small_.blob = Gzip(small_.tar);
    big_data_ = RandomBytes(3 << 20, 7);
    big_.tar = archive::testing::TarBuilder().Dir("data").File("data/big.bin", big_data_).Finish();
    big_.blob = Gzip(big_.tar);
    std::string config =
        nlohmann::json{
            {"architecture", "amd64"},
            {"os", "linux"},
            {"rootfs", {{"type", "layers"}, {"diff_ids", {small_.diff_id(), big_.diff_id()}}}}}
            .dump();
    config_digest_ = digest::Sha256Of(config).str();
    auto desc = [](const std::string& mt, const std::string& blob) {
      return nlohmann::json{
          {"mediaType", mt}, {"digest", digest::Sha256Of(blob).str()}, {"size", blob.size()}};
    };
    std::string manifest = nlohmann::json{
        {"schemaVersion", 2},
        {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
        {"config", desc("application/vnd.oci.image.config.v1+json", config)},
        {"layers",
         {desc("application/vnd.oci.image.layer.v1.tar+gzip", small_.blob),
          desc("application/vnd.oci.image.layer.v1.tar+gzip",
               big_.blob)}}}.dump();
    reg_.AddBlob(config);
    reg_.AddBlob(small_.blob);
    reg_.AddBlob(big_.blob);
    reg_.SetManifest(manifest);
    reg_.target = big_.digest();
  }

  PullOptions Options(int attempts) {
    PullOptions o;
    o.config_dir = dir_.path() + "/config";
    o.retry.max_attempts = attempts;
    o.retry.initial_backoff = std::chrono::milliseconds(10);
    return o;
  }

  Result<std::vector<PullResult>> DoPull(int attempts = 5) {
    auto s = Store::Open(root_);
    if (!s) return std::move(s).error();
    return Pull(**s, reg_.host() + "/test/img:latest", Options(attempts));
  }

  std::string PartialPath(const std::string& d) {
    return content::PartialPath(root_, *digest::Digest::Parse(d));
  }
  int64_t FileSize(const std::string& p) {
    struct stat st;
    return ::stat(p.c_str(), &st) == 0 ? st.st_size : -1;
  }
  size_t PartialFiles() {
    size_t n = 0;
    std::string d = content::IngestDir(root_);
    if (!fs::exists(d)) return 0;
    for (auto& e : fs::directory_iterator(d)) {
      n += e.path().filename().string().starts_with(content::kPartialPrefix);
    }
    return n;
  }

  // The pulled image is complete and right: tagged, its blobs verified in content/, and the
  // big file's bytes in the top layer's snapshot.
  void ExpectImage() {
    auto s = Store::Open(root_);
    ASSERT_TRUE(s);
    auto tag = (*s)->metadata().LookupTag(reg_.host() + "/test/img:latest");
    ASSERT_TRUE(tag);
    ASSERT_TRUE(*tag);
    EXPECT_EQ(**tag, config_digest_);
    for (const Layer* l : {&small_, &big_}) {
      auto r = (*s)->content().Open(*digest::Digest::Parse(l->digest()), /*verify=*/true);
      ASSERT_TRUE(r) << r.error().message;
      CountingWriter cw;
      auto n = Copy(**r, cw);
      ASSERT_TRUE(n) << n.error().message;
      EXPECT_EQ(*n, l->blob.size());
    }
    auto snaps = (*s)->snapshots();
    ASSERT_TRUE(snaps);
    std::string chain = ChainIdOf(ChainIdOf(std::nullopt, small_.diff_id()), big_.diff_id());
    auto dir = (*snaps)->CommittedDir(chain);
    ASSERT_TRUE(dir) << dir.error().message;
    auto data = ReadFile(*dir + "/data/big.bin");
    ASSERT_TRUE(data) << data.error().message;
    EXPECT_TRUE(*data == big_data_);
    EXPECT_EQ(PartialFiles(), 0u);
  }

  TempDir dir_;
  std::string root_;
  FaultyRegistry reg_;
  Layer small_, big_;
  std::string big_data_;
  std::string config_digest_;
};

TEST_P(PullResumeTest, LostConnectionThenNextPullResumesWithRange) {
  const int64_t cut = 1'234'567;
  reg_.cut_after = cut;
  reg_.cut_delay = std::chrono::milliseconds(500);
  auto first = DoPull(/*attempts=*/1);  // no retry: the pull fails as if the network went
  ASSERT_FALSE(first);
  EXPECT_EQ(first.error().code, ErrorCode::kUnavailable) << first.error().message;
  // Kept: the completed small layer as a blob, the big one's received bytes as a partial.
  EXPECT_TRUE(fs::exists(content::BlobPath(root_, *digest::Digest::Parse(small_.digest()))));
  EXPECT_EQ(FileSize(PartialPath(big_.digest())), cut);
  {
    auto s = Store::Open(root_);
    ASSERT_TRUE(s);
    auto tag = (*s)->metadata().LookupTag(reg_.host() + "/test/img:latest");
    ASSERT_TRUE(tag);
    EXPECT_FALSE(*tag);  // nothing visible
  }

  reg_.ClearSeen();
  auto second = DoPull();
  ASSERT_TRUE(second) << second.error().message;
  auto big = reg_.BlobRequests(big_.digest());
  ASSERT_EQ(big.size(), 1u);
  EXPECT_EQ(big[0].range, "bytes=" + std::to_string(cut) + "-");
  EXPECT_EQ(big[0].body_sent, big_.blob.size() - cut);      // only the rest crossed the wire
  EXPECT_TRUE(reg_.BlobRequests(small_.digest()).empty());  // completed layer not fetched
  ExpectImage();
}

TEST_P(PullResumeTest, RegistryIgnoringRangeStartsOver) {
  reg_.cut_after = 1'000'000;
  reg_.cut_delay = std::chrono::milliseconds(300);
  ASSERT_FALSE(DoPull(1));
  ASSERT_EQ(FileSize(PartialPath(big_.digest())), 1'000'000);
  reg_.ignore_range = true;
  reg_.ClearSeen();
  auto second = DoPull();
  ASSERT_TRUE(second) << second.error().message;
  auto big = reg_.BlobRequests(big_.digest());
  ASSERT_GE(big.size(), 2u);
  EXPECT_EQ(big[0].range, "bytes=1000000-");  // asked, got a 200, dropped the partial
  EXPECT_EQ(big.back().range, "");
  ExpectImage();
}

TEST_P(PullResumeTest, PartialThatDoesNotMatchIsDiscarded) {
  // Bytes of the right length but not the blob's (a torn write, another blob's bytes).
  const size_t n = 2'000'000;
  fs::create_directories(content::IngestDir(root_));
  {
    std::ofstream f(PartialPath(big_.digest()), std::ios::binary);
    std::string junk = RandomBytes(n, 99);
    f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  }
  auto r = DoPull();
  ASSERT_TRUE(r) << r.error().message;
  auto big = reg_.BlobRequests(big_.digest());
  ASSERT_EQ(big.size(), 2u);
  EXPECT_EQ(big[0].range, "bytes=2000000-");
  EXPECT_EQ(big[1].range, "");  // the resumed whole failed its digest: fetched afresh
  ExpectImage();
}

TEST_P(PullResumeTest, CompletePartialNeedsNoDownload) {
  // A process that died after the last byte but before the commit.
  fs::create_directories(content::IngestDir(root_));
  std::ofstream(PartialPath(big_.digest()), std::ios::binary) << big_.blob;
  auto r = DoPull();
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(reg_.BlobRequests(big_.digest()).empty());
  ExpectImage();
}

TEST_P(PullResumeTest, KilledPullResumes) {
  // A pull process killed with SIGKILL mid-download (no destructor runs).
  const int64_t at = 1'500'000;
  reg_.stall_after = at;
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto r = DoPull();
    ::_exit(r ? 0 : 1);
  }
  std::string partial = PartialPath(big_.digest());
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (FileSize(partial) < at && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status));
  ASSERT_EQ(FileSize(partial), at);

  reg_.stall_after = -1;
  reg_.ClearSeen();
  auto r = DoPull();
  ASSERT_TRUE(r) << r.error().message;
  auto big = reg_.BlobRequests(big_.digest());
  ASSERT_EQ(big.size(), 1u);
  EXPECT_EQ(big[0].range, "bytes=" + std::to_string(at) + "-");
  ExpectImage();
}

TEST_P(PullResumeTest, TransientCutWithinOnePullResumesInProcess) {
  reg_.cut_after = 777'777;
  auto r = DoPull();
  ASSERT_TRUE(r) << r.error().message;
  auto big = reg_.BlobRequests(big_.digest());
  ASSERT_EQ(big.size(), 2u);
  EXPECT_EQ(big[1].range, "bytes=777777-");
  ExpectImage();
}

INSTANTIATE_TEST_SUITE_P(Drivers, PullResumeTest, ::testing::Values("overlay", "copy"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace strata::engine
