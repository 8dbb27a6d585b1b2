// Repository client: manifest negotiation and verification, platform selection, and blob
// transfers that survive resets, stalls, 5xx and 429 — against a fault-injecting loopback
// server, and the real distribution registry.
#include "registry/client.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "digest/digest.h"
#include "image/media_types.h"
#include "registry/test_support.h"
#include "util/fs.h"

namespace strata::registry {
namespace {

namespace mt = image::media_type;

// What the fault server answers: a reply, optionally cut (connection closed) after
// `cut_after` body bytes although the headers promised more.
struct FaultReply {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::optional<size_t> cut_after;
  // After a cut: keep the connection open, silent, this long (a stalled transfer).
  std::chrono::milliseconds stall{0};
};

// A loopback HTTP/1.1 server (one connection at a time, Connection: close) that can cut a
// body mid-way. It closes at once on a TLS ClientHello, so an https attempt fails fast and
// the client falls back to http as it does for loopback registries.
class FaultServer {
 public:
  using Handler = std::function<FaultReply(const testing::SeenRequest&)>;
  explicit FaultServer(Handler h)
      : handler_(std::move(h)), listener_(16, [this](int c) {
          Serve(c);
          ::close(c);
        }) {}
  std::string host() const { return "127.0.0.1:" + std::to_string(listener_.port()); }
  std::vector<testing::SeenRequest> requests() {
    std::lock_guard lk(mu_);
    return seen_;
  }

 private:
  void Serve(int c) {
    timeval tv{5, 0};
    ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string buf;
    char tmp[65536];
    size_t end;
    while ((end = buf.find("\r\n\r\n")) == std::string::npos) {
      ssize_t n = ::recv(c, tmp, sizeof tmp, 0);
      if (n <= 0) return;
      buf.append(tmp, static_cast<size_t>(n));
      if (static_cast<unsigned char>(buf[0]) == 0x16) return;  // TLS: not here
    }
    testing::SeenRequest req = testing::ParseRequestHead(buf.substr(0, end));
    FaultReply r = handler_(req);
    {
      std::lock_guard lk(mu_);
      seen_.push_back(req);
    }
    std::string out = testing::ReplyHead(r.status, r.headers, r.body.size());
    if (req.method != "HEAD") out += r.body.substr(0, r.cut_after.value_or(r.body.size()));
    ::send(c, out.data(), out.size(), MSG_NOSIGNAL);
    if (r.stall.count() > 0) std::this_thread::sleep_for(r.stall);
  }

  Handler handler_;
  std::mutex mu_;
  std::vector<testing::SeenRequest> seen_;
  testing::LoopbackListener listener_;
};

// Serves a byte range of `body` as the distribution registry does (206 + Content-Range).
FaultReply RangeReply(const testing::SeenRequest& req, const std::string& body) {
  FaultReply r;
  r.body = body;
  if (auto range = req.headers.Get("Range")) {
    size_t start = std::stoul(range->substr(range->find('=') + 1));
    r.status = 206;
    r.body = body.substr(start);
    r.headers.push_back({"Content-Range", "bytes " + std::to_string(start) + "-" +
                                              std::to_string(body.size() - 1) + "/" +
                                              std::to_string(body.size())});
  }
  return r;
}

using testing::BlobDesc;
using testing::Pattern;

class ClientTest : public ::testing::Test {
 protected:
  std::unique_ptr<Repository> Open(FaultServer& srv, HttpClient& http) {
    RepositoryOptions o;
    o.retry.initial_backoff = std::chrono::milliseconds(10);
    o.retry.max_backoff = std::chrono::milliseconds(50);
    auto r = Repository::Open(http, hosts_, srv.host(), "library/x", o);
    EXPECT_TRUE(r) << r.error().message;
    return std::move(*r);
  }
  RegistryHosts hosts_;
};

TEST_F(ClientTest, BlobResumesWithRangeAfterACut) {
  std::string body = Pattern(3 << 20, 12345);
  std::atomic<int> calls{0};
  FaultServer srv([&](const testing::SeenRequest& req) {
    FaultReply r = RangeReply(req, body);
    if (calls++ == 0) r.cut_after = 1 << 20;  // the first answer dies after 1 MiB
    return r;
  });
  HttpClient http;
  auto repo = Open(srv, http);
  StringWriter w;
  uint64_t last = 0;
  Status st = repo->FetchBlob(BlobDesc(body), w, [&](uint64_t done, uint64_t) { last = done; });
  ASSERT_TRUE(st) << st.error().message;
  EXPECT_EQ(w.str(), body);
  EXPECT_EQ(last, body.size());
  auto seen = srv.requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_FALSE(seen[0].headers.Has("Range"));
  EXPECT_EQ(seen[1].headers.Get("Range").value_or(""), "bytes=1048576-");
}

TEST_F(ClientTest, ServerIgnoringRangeIsSkippedNotDuplicated) {
  std::string body = Pattern(2 << 20, 12345);
  std::atomic<int> calls{0};
  FaultServer srv([&](const testing::SeenRequest&) {
    FaultReply r;
    r.body = body;  // always 200 with the whole blob
    if (calls++ == 0) r.cut_after = 700000;
    return r;
  });
  HttpClient http;
  auto repo = Open(srv, http);
  StringWriter w;
  ASSERT_TRUE(repo->FetchBlob(BlobDesc(body), w));
  EXPECT_EQ(w.str(), body);
}

TEST_F(ClientTest, RetriesOn5xxAnd429WithRetryAfter) {
  std::string body = Pattern(1000, 12345);
  std::atomic<int> calls{0};
  FaultServer srv([&](const testing::SeenRequest& req) {
    int n = calls++;
    if (n == 0) return FaultReply{503, {}, "busy", {}};
    if (n == 1) return FaultReply{429, {{"Retry-After", "1"}}, "slow down", {}};
    return RangeReply(req, body);
  });
  HttpClient http;
  auto repo = Open(srv, http);
  StringWriter w;
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(repo->FetchBlob(BlobDesc(body), w));
  EXPECT_EQ(w.str(), body);
  EXPECT_EQ(calls.load(), 3);
  // Retry-After: 1 was honoured.
  EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(900));
}

TEST_F(ClientTest, StalledTransferIsAbortedAndResumed) {
  std::string body = Pattern(200000, 12345);
  std::atomic<int> calls{0};
  FaultServer srv([&](const testing::SeenRequest& req) {
    FaultReply r = RangeReply(req, body);
    if (calls++ == 0) {
      r.cut_after = 50000;  // then silence with the connection open
      r.stall = std::chrono::milliseconds(2500);
    }
    return r;
  });
  HttpOptions ho;
  ho.low_speed_time = std::chrono::seconds(1);
  HttpClient http(ho);
  auto repo = Open(srv, http);
  StringWriter w;
  Status st = repo->FetchBlob(BlobDesc(body), w);
  ASSERT_TRUE(st) << st.error().message;
  EXPECT_EQ(w.str(), body);
  auto seen = srv.requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[1].headers.Get("Range").value_or(""), "bytes=50000-");
}

TEST_F(ClientTest, CorruptOrOversizedBlobIsDataLoss) {
  std::string body = Pattern(100000, 12345);
  std::string bad = body;
  bad[5000] ^= 1;
  FaultServer srv([&](const testing::SeenRequest& req) {
    if (req.target.find("toolong") != std::string::npos) return FaultReply{200, {}, body + "x"};
    return FaultReply{200, {}, bad, {}};
  });
  HttpClient http;
  auto repo = Open(srv, http);
  StringWriter w;
  Status st = repo->FetchBlob(BlobDesc(body), w);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::kDataLoss);
  EXPECT_NE(st.error().message.find("digest mismatch"), std::string::npos) << st.error().message;
  // A blob longer than its descriptor is refused as the excess arrives.
  FaultServer srv2([&](const testing::SeenRequest&) { return FaultReply{200, {}, body + "x"}; });
  auto repo2 = Open(srv2, http);
  StringWriter w2;
  st = repo2->FetchBlob(BlobDesc(body), w2);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::kDataLoss);
  // The streaming reader reports the failure at its end.
  auto r = repo->OpenBlob(BlobDesc(body));
  CountingWriter sink;
  auto copied = Copy(*r, sink);
  ASSERT_FALSE(copied);
  EXPECT_EQ(copied.error().code, ErrorCode::kDataLoss);
}

// --- manifests -------------------------------------------------------------------------------

std::string ManifestJson(const std::string& config_digest, const std::string& layer_digest) {
  return "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
         "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"" +
         config_digest +
         "\",\"size\":2},\"layers\":[{\"mediaType\":\"application/"
         "vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"" +
         layer_digest + "\",\"size\":3}]}";
}

TEST_F(ClientTest, ManifestNegotiationVerificationAndPlatforms) {
  std::string d1 = digest::Sha256Of("a").str(), d2 = digest::Sha256Of("b").str();
  std::string amd = ManifestJson(d1, d2), arm = ManifestJson(d2, d1);
  auto desc = [](const std::string& m, const std::string& plat) {
    return "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"" +
           digest::Sha256Of(m).str() + "\",\"size\":" + std::to_string(m.size()) +
           ",\"platform\":" + plat + "}";
  };
  std::string index =
      "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\","
      "\"manifests\":[" +
      desc(amd, "{\"architecture\":\"amd64\",\"os\":\"linux\"}") + "," +
      desc(arm, "{\"architecture\":\"arm\",\"os\":\"linux\",\"variant\":\"v7\"}") + "]}";
  std::string schema1 =
      "{\"schemaVersion\":1,\"name\":\"x\",\"tag\":\"old\",\"fsLayers\":[],\"history\":[]}";
  FaultServer srv([&](const testing::SeenRequest& req) {
    auto doc = [](const std::string& body, std::string_view type) {
      return FaultReply{200,
                        {{"Content-Type", std::string(type)},
                         {"Docker-Content-Digest", digest::Sha256Of(body).str()}},
                        body,
                        {}};
    };
    const std::string& t = req.target;
    if (t.ends_with("/manifests/multi")) return doc(index, mt::kOciIndex);
    if (t.ends_with("/manifests/" + digest::Sha256Of(amd).str())) return doc(amd, mt::kOciManifest);
    if (t.ends_with("/manifests/" + digest::Sha256Of(arm).str())) return doc(arm, mt::kOciManifest);
    if (t.ends_with("/manifests/old")) {
      return FaultReply{
          200, {{"Content-Type", std::string(mt::kDockerSchema1SignedManifest)}}, schema1, {}};
    }
    if (t.ends_with("/manifests/lying")) {
      return FaultReply{
          200,
          {{"Content-Type", std::string(mt::kOciManifest)}, {"Docker-Content-Digest", d1}},
          amd,
          {}};
    }
    if (t.ends_with("/manifests/huge")) {
      return FaultReply{200,
                        {{"Content-Type", std::string(mt::kOciManifest)}},
                        std::string(kMaxManifestSize + 1, ' '),
                        {}};
    }
    return FaultReply{404,
                      {{"Content-Type", "application/json"}},
                      "{\"errors\":[{\"code\":\"MANIFEST_UNKNOWN\",\"message\":\"manifest "
                      "unknown\",\"detail\":\"unknown tag\"}]}",
                      {}};
  });
  HttpClient http;
  auto repo = Open(srv, http);
  auto ref = [&](const std::string& s) { return *image::ParseNormalizedNamed(s); };
  std::string name = srv.host() + "/library/x";

  auto amd64 = repo->Resolve(ref(name + ":multi"), *image::ParsePlatform("linux/amd64"));
  ASSERT_TRUE(amd64) << amd64.error().message;
  EXPECT_EQ(amd64->digest, digest::Sha256Of(index));  // the index is what the tag names
  EXPECT_EQ(amd64->manifest_doc.bytes, amd);
  EXPECT_EQ(amd64->manifest.config.digest.str(), d1);
  auto armv7 = repo->Resolve(ref(name + ":multi"), *image::ParsePlatform("linux/arm/v7"));
  ASSERT_TRUE(armv7);
  EXPECT_EQ(armv7->manifest_doc.bytes, arm);
  // Accept lists all four manifest types.
  auto seen = srv.requests();
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.back().headers.Get("Accept").value_or(""), ManifestAcceptHeader());

  auto none = repo->Resolve(ref(name + ":multi"), *image::ParsePlatform("linux/arm64"));
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().message,
            "no matching manifest for linux/arm64 in the manifest list entries (available: "
            "linux/amd64, linux/arm/v7)");

  auto old = repo->Resolve(ref(name + ":old"), image::HostPlatform());
  ASSERT_FALSE(old);
  EXPECT_EQ(old.error().code, ErrorCode::kUnimplemented);
  EXPECT_NE(old.error().message.find("schema 1 support has been removed"), std::string::npos);

  auto lying = repo->GetManifest("lying");
  ASSERT_FALSE(lying);
  EXPECT_EQ(lying.error().message, "manifest verification failed for digest " + d1);
  // By digest, the bytes must be what was asked for.
  auto wrong = repo->GetManifest(d2);
  ASSERT_FALSE(wrong);

  auto huge = repo->GetManifest("huge");
  ASSERT_FALSE(huge);
  EXPECT_NE(huge.error().message.find("larger than 4194304"), std::string::npos)
      << huge.error().message;

  auto missing = repo->Resolve(ref(name + ":gone"), image::HostPlatform());
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(missing.error().message, "manifest for " + name +
                                         ":gone not found: manifest "
                                         "unknown: manifest unknown");
}

TEST_F(ClientTest, MirrorFallsBackToOrigin) {
  std::string body = Pattern(5000, 12345);
  FaultServer mirror([&](const testing::SeenRequest&) {
    return FaultReply{404, {}, "{\"errors\":[{\"code\":\"BLOB_UNKNOWN\",\"message\":\"x\"}]}"};
  });
  FaultServer origin([&](const testing::SeenRequest& req) { return RangeReply(req, body); });
  RegistryHosts hosts;
  ASSERT_TRUE(hosts.AddMirror(origin.host(), "http://" + mirror.host()));
  HttpClient http;
  auto repo = Repository::Open(http, hosts, origin.host(), "library/x");
  ASSERT_TRUE(repo);
  ASSERT_TRUE((*repo)->endpoints().front().mirror);
  StringWriter w;
  ASSERT_TRUE((*repo)->FetchBlob(BlobDesc(body), w));
  EXPECT_EQ(w.str(), body);
  EXPECT_EQ(mirror.requests().size(), 1u);
  EXPECT_EQ(origin.requests().size(), 1u);
}

// --- the real distribution registry --------------------------------------------------------

TEST(ClientRegistryTest, TagsAndBlobsFromDistribution) {
  auto t = TempDir::Create("/tmp", "strata-client-");
  ASSERT_TRUE(t);
  testing::Registry reg;
  std::string why = reg.Start(t->path(), "", "");
  if (why.find("not installed") != std::string::npos) GTEST_SKIP() << why;
  ASSERT_EQ(why, "");
  // Push a blob and two manifests with the HTTP client itself.
  HttpClient http;
  std::string base = "http://" + reg.host() + "/v2/r/";
  std::string cfg = "{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}";
  Request post;
  post.method = "POST";
  post.url = base + "blobs/uploads/";
  auto up = http.Send(post);
  ASSERT_TRUE(up);
  ASSERT_EQ(up->status, 202);
  auto loc = ResolveUrl(post.url, up->headers.Get("Location").value_or(""));
  ASSERT_TRUE(loc);
  Request put;
  put.method = "PUT";
  put.url = *loc + (loc->find('?') == std::string::npos ? "?" : "&") +
            "digest=" + UrlEncode(digest::Sha256Of(cfg).str());
  StringReader body(cfg);
  put.body = &body;
  put.body_size = cfg.size();
  auto done = http.Send(put);
  ASSERT_TRUE(done);
  ASSERT_EQ(done->status, 201) << done->body;
  std::string man =
      "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
      "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"" +
      digest::Sha256Of(cfg).str() + "\",\"size\":" + std::to_string(cfg.size()) +
      "},\"layers\":[]}";
  for (std::string tag : {"a", "b"}) {
    Request pm;
    pm.method = "PUT";
    pm.url = base + "manifests/" + tag;
    pm.headers.Set("Content-Type", std::string(mt::kOciManifest));
    StringReader mb(man);
    pm.body = &mb;
    pm.body_size = man.size();
    auto r = http.Send(pm);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 201) << r->body;
  }
  RegistryHosts hosts;
  auto repo = Repository::Open(http, hosts, reg.host(), "r");
  ASSERT_TRUE(repo);
  auto tags = (*repo)->ListTags();
  ASSERT_TRUE(tags) << tags.error().message;
  std::sort(tags->begin(), tags->end());
  EXPECT_EQ(*tags, (std::vector<std::string>{"a", "b"}));
  auto head = (*repo)->HeadManifest("a");
  ASSERT_TRUE(head);
  ASSERT_TRUE(*head);
  EXPECT_EQ(**head, digest::Sha256Of(man));
  auto res =
      (*repo)->Resolve(*image::ParseNormalizedNamed(reg.host() + "/r:b"), image::HostPlatform());
  ASSERT_TRUE(res) << res.error().message;
  EXPECT_EQ(res->digest, digest::Sha256Of(man));
  auto c = (*repo)->GetBlob(res->manifest.config);
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(*c, cfg);
}

}  // namespace
}  // namespace strata::registry
