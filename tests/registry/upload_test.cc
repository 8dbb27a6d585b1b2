// Push side of the repository client: HEAD, cross-repo mount, monolithic, chunked and
// streamed uploads and manifests against the real distribution registry, and retries and
// resumption against a scripted loopback server that fails on purpose.
#include <gtest/gtest.h>

#include <atomic>
#include <nlohmann/json.hpp>

#include "digest/digest.h"
#include "image/media_types.h"
#include "registry/client.h"
#include "registry/test_support.h"
#include "util/fs.h"

namespace strata::registry {
namespace {

namespace mt = image::media_type;

using testing::BlobDesc;
using testing::Pattern;

BlobOpener OpenString(const std::string& body) {
  return [&body](uint64_t off) -> Result<std::unique_ptr<Reader>> {
    return std::unique_ptr<Reader>(
        std::make_unique<StringReader>(std::string_view(body).substr(off)));
  };
}

class UploadRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto t = TempDir::Create("/tmp", "strata-upload-");
    ASSERT_TRUE(t);
    dir_ = std::make_unique<TempDir>(std::move(*t));
    std::string why = reg_.Start(dir_->path(), "", "");
    if (why.find("not installed") != std::string::npos) GTEST_SKIP() << why;
    ASSERT_EQ(why, "");
  }
  std::unique_ptr<Repository> Open(const std::string& path) {
    RepositoryOptions o;
    o.push = true;
    auto r = Repository::Open(http_, hosts_, reg_.host(), path, o);
    EXPECT_TRUE(r) << r.error().message;
    return std::move(*r);
  }
  std::unique_ptr<TempDir> dir_;
  testing::Registry reg_;
  HttpClient http_;
  RegistryHosts hosts_;
};

TEST_F(UploadRegistryTest, MonolithicAndChunkedUploadsReadBack) {
  auto repo = Open("up/a");
  std::string small = Pattern(1000, 1), big = Pattern(300 << 10, 2);
  auto none = repo->StatBlob(BlobDesc(small).digest);
  ASSERT_TRUE(none) << none.error().message;
  EXPECT_FALSE(*none);

  ASSERT_TRUE(repo->PushBlob(BlobDesc(small), OpenString(small)));
  PushBlobOptions chunked;
  chunked.monolithic_max = 0;
  chunked.chunk_size = 64 << 10;  // five PATCH requests
  uint64_t last = 0;
  Status st = repo->PushBlob(
      BlobDesc(big), OpenString(big), [&](uint64_t done, uint64_t) { last = done; }, chunked);
  ASSERT_TRUE(st) << st.error().message;
  EXPECT_EQ(last, big.size());

  for (const std::string* b : {&small, &big}) {
    auto have = repo->StatBlob(BlobDesc(*b).digest);
    ASSERT_TRUE(have && *have);
    EXPECT_EQ(**have, static_cast<int64_t>(b->size()));
    auto back = repo->GetBlob(BlobDesc(*b), 1 << 20);
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(*back, *b);
  }
}

TEST_F(UploadRegistryTest, StreamedUploadIsCheckedByDigest) {
  auto repo = Open("up/s");
  std::string body = Pattern(200 << 10, 3);
  // The digest is known only at the end: POST, one streamed PATCH, PUT ?digest=.
  auto up = repo->StartUpload();
  ASSERT_TRUE(up) << up.error().message;
  StringReader r(body);
  ASSERT_TRUE(repo->UploadChunk(*up, r, std::nullopt));
  EXPECT_EQ(up->offset, body.size());
  ASSERT_TRUE(repo->FinishUpload(*up, BlobDesc(body).digest));
  EXPECT_TRUE(*repo->StatBlob(BlobDesc(body).digest));

  // A wrong digest: the registry refuses it and keeps nothing under either name.
  std::string other = Pattern(5000, 4);
  auto up2 = repo->StartUpload();
  ASSERT_TRUE(up2);
  StringReader r2(other);
  ASSERT_TRUE(repo->UploadChunk(*up2, r2, std::nullopt));
  digest::Digest wrong = digest::Sha256Of("not this");
  Status bad = repo->FinishUpload(*up2, wrong);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kDataLoss) << bad.error().message;
  repo->CancelUpload(*up2);
  EXPECT_FALSE(*repo->StatBlob(wrong));
  EXPECT_FALSE(*repo->StatBlob(BlobDesc(other).digest));
}

TEST_F(UploadRegistryTest, CrossRepositoryMountAndManifest) {
  auto a = Open("lib/src");
  std::string blob = Pattern(4000, 5);
  ASSERT_TRUE(a->PushBlob(BlobDesc(blob), OpenString(blob)));
  auto b = Open("other/dst");
  EXPECT_FALSE(*b->StatBlob(BlobDesc(blob).digest));
  Upload session;
  auto mounted = b->MountBlob(BlobDesc(blob).digest, "lib/src", &session);
  ASSERT_TRUE(mounted) << mounted.error().message;
  EXPECT_TRUE(*mounted);
  EXPECT_TRUE(*b->StatBlob(BlobDesc(blob).digest));

  // A blob the source does not have: the registry opens an upload instead, which works.
  std::string fresh = Pattern(3000, 6);
  auto not_mounted = b->MountBlob(BlobDesc(fresh).digest, "lib/src", &session);
  ASSERT_TRUE(not_mounted);
  EXPECT_FALSE(*not_mounted);
  ASSERT_FALSE(session.location.empty());
  StringReader r(fresh);
  ASSERT_TRUE(b->FinishUpload(session, BlobDesc(fresh).digest, &r, fresh.size()));
  EXPECT_TRUE(*b->StatBlob(BlobDesc(fresh).digest));

  // The manifest last, naming what is there.
  std::string cfg = "{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}";
  ASSERT_TRUE(b->PushBlob(BlobDesc(cfg), OpenString(cfg)));
  std::string man =
      "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
      "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"" +
      digest::Sha256Of(cfg).str() + "\",\"size\":" + std::to_string(cfg.size()) +
      "},\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\","
      "\"digest\":\"" +
      BlobDesc(blob).digest.str() + "\",\"size\":" + std::to_string(blob.size()) + "}]}";
  auto d = b->PutManifest("v1", mt::kOciManifest, man);
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(*d, digest::Sha256Of(man));
  auto got = b->GetManifest("v1");
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ(got->bytes, man);
}

// --- faults ----------------------------------------------------------------------------------

// A scripted registry for uploads: sessions /up/<n>, bytes appended per PATCH, PUT checks
// the digest. `fail` decides per request whether to answer with an error status instead.
class FakeUploads {
 public:
  std::function<int(const testing::SeenRequest&, int n)> fail = [](auto&, int) { return 0; };
  std::map<std::string, std::string> sessions;
  std::map<std::string, std::string> blobs;
  std::mutex mu;
  int count = 0;

  testing::Reply Handle(const testing::SeenRequest& req) {
    std::lock_guard lk(mu);
    testing::Reply r;
    if (int code = fail(req, count++); code != 0) {
      r.status = code;
      return r;
    }
    std::string path = req.target.substr(0, req.target.find('?'));
    if (req.method == "GET" && path == "/v2/") return r;
    if (req.method == "HEAD") {
      r.status = blobs.count(path.substr(path.rfind('/') + 1)) ? 200 : 404;
      return r;
    }
    if (req.method == "POST") {
      std::string id = "/up/" + std::to_string(sessions.size());
      sessions[id] = "";
      r.status = 202;
      r.headers = {{"Location", id}, {"Range", "0-0"}};
      return r;
    }
    auto it = sessions.find(path);
    if (it == sessions.end()) {
      r.status = 404;
      return r;
    }
    std::string& data = it->second;
    if (req.method == "GET") {
      r.status = 204;
      r.headers = {{"Location", path}};
      if (!data.empty()) r.headers.push_back({"Range", "0-" + std::to_string(data.size() - 1)});
      return r;
    }
    if (req.method == "PATCH") {
      if (auto cr = req.headers.Get("Content-Range")) {
        if (std::stoull(cr->substr(0, cr->find('-'))) != data.size()) {
          r.status = 416;
          return r;
        }
      }
      data += req.body;
      r.status = 202;
      r.headers = {{"Location", path}, {"Range", "0-" + std::to_string(data.size() - 1)}};
      return r;
    }
    if (req.method == "PUT") {
      data += req.body;
      auto d = testing::QueryValues(req.target, "digest");
      if (d.empty() || digest::Sha256Of(data).str() != d[0]) {
        r.status = 400;
        r.body =
            R"({"errors":[{"code":"DIGEST_INVALID","message":"provided digest did not match uploaded content"}]})";
        return r;
      }
      blobs[d[0].substr(0)] = data;
      sessions.erase(it);
      r.status = 201;
      r.headers = {{"Docker-Content-Digest", d[0]}};
      return r;
    }
    if (req.method == "DELETE") {
      sessions.erase(it);
      r.status = 204;
      return r;
    }
    r.status = 405;
    return r;
  }
};

class UploadFaultTest : public ::testing::Test {
 protected:
  std::unique_ptr<Repository> Open(testing::TestServer& srv) {
    RepositoryOptions o;
    o.push = true;
    o.retry.initial_backoff = std::chrono::milliseconds(10);
    o.retry.max_backoff = std::chrono::milliseconds(50);
    // Plain http only: the scripted server speaks no TLS.
    HostsOptions ho;
    auto hosts = RegistryHosts::Load(ho);
    EXPECT_TRUE(hosts);
    hosts_ = std::move(*hosts);
    auto r = Repository::Open(http_, hosts_, "127.0.0.1:" + std::to_string(srv.port()), "x", o);
    EXPECT_TRUE(r) << r.error().message;
    return std::move(*r);
  }
  HttpClient http_;
  RegistryHosts hosts_;
};

TEST_F(UploadFaultTest, MonolithicUploadStartsOverAfter5xx) {
  FakeUploads fake;
  int puts = 0;
  fake.fail = [&](const testing::SeenRequest& req, int) {
    return req.method == "PUT" && puts++ == 0 ? 503 : 0;
  };
  testing::TestServer srv([&](const testing::SeenRequest& r) { return fake.Handle(r); });
  auto repo = Open(srv);
  std::string blob = Pattern(5000, 8);
  Status st = repo->PushBlob(BlobDesc(blob), OpenString(blob));
  ASSERT_TRUE(st) << st.error().message;
  EXPECT_EQ(fake.blobs[BlobDesc(blob).digest.str()], blob);
  // The failed session was given up (DELETE) and a new one started.
  int posts = 0, deletes = 0;
  for (auto& r : srv.requests()) {
    posts += r.method == "POST";
    deletes += r.method == "DELETE";
  }
  EXPECT_EQ(posts, 2);
  EXPECT_EQ(deletes, 1);
  EXPECT_TRUE(fake.sessions.empty());
}

TEST_F(UploadFaultTest, ChunkedUploadResumesWhereTheRegistryStopped) {
  FakeUploads fake;
  int patches = 0;
  fake.fail = [&](const testing::SeenRequest& req, int) {
    return req.method == "PATCH" && patches++ == 1 ? 502 : 0;  // the second chunk fails once
  };
  testing::TestServer srv([&](const testing::SeenRequest& r) { return fake.Handle(r); });
  auto repo = Open(srv);
  std::string blob = Pattern(300 << 10, 9);
  PushBlobOptions o;
  o.monolithic_max = 0;
  o.chunk_size = 100 << 10;
  Status st = repo->PushBlob(BlobDesc(blob), OpenString(blob), {}, o);
  ASSERT_TRUE(st) << st.error().message;
  EXPECT_EQ(fake.blobs[BlobDesc(blob).digest.str()], blob);
  // After the failure: a status query, then the same range again, then the rest.
  std::vector<std::string> seq;
  for (auto& r : srv.requests()) {
    if (r.method == "PATCH") {
      seq.push_back("PATCH " + r.headers.Get("Content-Range").value_or(""));
    } else if (r.method != "HEAD") {
      seq.push_back(r.method);
    }
  }
  EXPECT_EQ(seq, (std::vector<std::string>{"POST", "PATCH 0-102399", "PATCH 102400-204799", "GET",
                                           "PATCH 102400-204799", "PATCH 204800-307199", "PUT"}));
}

TEST_F(UploadFaultTest, PersistentFailureGivesUpAndCancels) {
  FakeUploads fake;
  fake.fail = [](const testing::SeenRequest& req, int) { return req.method == "PUT" ? 500 : 0; };
  testing::TestServer srv([&](const testing::SeenRequest& r) { return fake.Handle(r); });
  auto repo = Open(srv);
  std::string blob = Pattern(100, 10);
  Status st = repo->PushBlob(BlobDesc(blob), OpenString(blob));
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::kUnavailable);
  EXPECT_TRUE(fake.blobs.empty());
  EXPECT_TRUE(fake.sessions.empty());  // every session was cancelled
}

}  // namespace
}  // namespace strata::registry
