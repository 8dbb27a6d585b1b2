#include "registry/http.h"

#include <gtest/gtest.h>

#include <thread>

#include "registry/test_support.h"

namespace strata::registry {
namespace {

using testing::Reply;
using testing::SeenRequest;
using testing::TestServer;

TEST(HeadersTest, CaseInsensitiveAndMultiValued) {
  Headers h;
  h.Add("WWW-Authenticate", "Bearer realm=\"a\"");
  h.Add("www-authenticate", "Basic realm=\"b\"");
  h.Add("Content-Type", "x");
  EXPECT_EQ(h.Get("Www-Authenticate").value(), "Bearer realm=\"a\"");
  EXPECT_EQ(h.GetAll("WWW-AUTHENTICATE").size(), 2u);
  h.Set("content-type", "y");
  EXPECT_EQ(h.GetAll("Content-Type"), std::vector<std::string>{"y"});
  h.Remove("WWW-Authenticate");
  EXPECT_FALSE(h.Has("www-authenticate"));
}

TEST(UrlTest, Base64RoundTripAndDockerValue) {
  // What docker writes into config.json for user "testuser", password "testpassword".
  EXPECT_EQ(Base64Encode("testuser:testpassword"), "dGVzdHVzZXI6dGVzdHBhc3N3b3Jk");
  for (const std::string& s :
       std::vector<std::string>{"", "a", "ab", "abc", "abcd", std::string("\0\xff\x10", 3)}) {
    EXPECT_EQ(Base64Decode(Base64Encode(s)).value(), s);
  }
  EXPECT_FALSE(Base64Decode("ab$c"));
}

TEST(UrlTest, RedactDropsQueryAndUserinfo) {
  EXPECT_EQ(RedactUrl("https://u:secret@s3.example.com/b/x?X-Amz-Signature=abc"),
            "https://s3.example.com/b/x");
  EXPECT_EQ(RedactUrl("http://127.0.0.1:5000/v2/"), "http://127.0.0.1:5000/v2/");
}

TEST(UrlTest, ResolveAndOrigin) {
  EXPECT_EQ(ResolveUrl("http://a:1/v2/x/blobs/y", "/other?q=1").value(), "http://a:1/other?q=1");
  EXPECT_EQ(ResolveUrl("http://a:1/v2/x", "https://b/c").value(), "https://b/c");
  auto p = ParseUrl("https://Registry.Example.com/v2/").value();
  EXPECT_EQ(p.host, "registry.example.com");
  EXPECT_EQ(p.Origin(), "https://registry.example.com:443");
  auto v6 = ParseUrl("http://[::1]:5000/v2/").value();
  EXPECT_EQ(v6.host, "::1");
  EXPECT_EQ(v6.HostPort(), "[::1]:5000");
}

TEST(HttpClientTest, BufferedGetWithHeadersAndRange) {
  TestServer srv([](const SeenRequest& r) {
    Reply rep;
    rep.body = "hello " + r.target;
    rep.headers = {{"Docker-Content-Digest", "sha256:abc"}, {"X-Multi", "1"}, {"x-multi", "2"}};
    return rep;
  });
  HttpClient http;
  Request req;
  req.url = srv.url() + "/v2/path";
  req.headers.Add("Accept", "application/vnd.oci.image.index.v1+json");
  req.range = ByteRange{10, std::nullopt};
  auto resp = http.Send(req);
  ASSERT_TRUE(resp) << resp.error().message;
  EXPECT_EQ(resp->status, 200);
  EXPECT_EQ(resp->body, "hello /v2/path");
  EXPECT_EQ(resp->headers.Get("docker-content-digest").value(), "sha256:abc");
  EXPECT_EQ(resp->headers.GetAll("X-MULTI"), (std::vector<std::string>{"1", "2"}));
  EXPECT_EQ(resp->http_version, 11);
  auto seen = srv.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].headers.Get("Range").value(), "bytes=10-");
  EXPECT_EQ(seen[0].headers.Get("Accept").value(), "application/vnd.oci.image.index.v1+json");
}

TEST(HttpClientTest, BufferedBodyOverCapIsAnError) {
  TestServer srv([](const SeenRequest&) { return Reply{200, {}, std::string(5000, 'x')}; });
  HttpClient http;
  Request req;
  req.url = srv.url() + "/m";
  req.max_body_size = 4096;
  auto resp = http.Send(req);
  ASSERT_FALSE(resp);
  EXPECT_NE(resp.error().message.find("larger than 4096 bytes"), std::string::npos);
  req.max_body_size = 5000;
  EXPECT_TRUE(http.Send(req));
}

TEST(HttpClientTest, StreamsSuccessIntoSinkButBuffersErrors) {
  std::string big(3 << 20, 'b');
  TestServer srv([&](const SeenRequest& r) {
    if (r.target == "/missing") return Reply{404, {}, R"({"errors":[{"code":"BLOB_UNKNOWN"}]})"};
    return Reply{200, {}, big};
  });
  HttpClient http;
  StringWriter sink;
  Request req;
  req.url = srv.url() + "/blob";
  req.sink = &sink;
  req.max_body_size = 1;  // the cap is for buffered bodies only
  auto resp = http.Send(req);
  ASSERT_TRUE(resp) << resp.error().message;
  EXPECT_EQ(sink.str().size(), big.size());
  EXPECT_TRUE(resp->body.empty());
  EXPECT_EQ(resp->body_bytes, big.size());

  StringWriter sink2;
  req.url = srv.url() + "/missing";
  req.sink = &sink2;
  resp = http.Send(req);
  ASSERT_TRUE(resp);
  EXPECT_EQ(resp->status, 404);
  EXPECT_TRUE(sink2.str().empty());
  EXPECT_NE(resp->body.find("BLOB_UNKNOWN"), std::string::npos);
}

TEST(HttpClientTest, SinkErrorStopsTransfer) {
  TestServer srv([](const SeenRequest&) { return Reply{200, {}, std::string(100000, 'z')}; });
  struct Failing : Writer {
    using Writer::Write;
    Status Write(const void*, size_t) override { return DataLoss("disk full"); }
  } sink;
  HttpClient http;
  Request req;
  req.url = srv.url() + "/b";
  req.sink = &sink;
  auto resp = http.Send(req);
  ASSERT_FALSE(resp);
  EXPECT_EQ(resp.error().code, ErrorCode::kDataLoss);
  EXPECT_NE(resp.error().message.find("disk full"), std::string::npos);
}

TEST(HttpClientTest, UploadsKnownAndUnknownLength) {
  TestServer srv([](const SeenRequest& r) {
    return Reply{201, {{"Location", "/v2/x/blobs/sha256:1"}}, ""};
  });
  HttpClient http;
  std::string payload(200000, 'p');
  payload[7] = 'q';
  {
    StringReader body(payload);
    Request req;
    req.method = "PUT";
    req.url = srv.url() + "/upload?digest=sha256%3A1";
    req.body = &body;
    req.body_size = payload.size();
    req.headers.Set("Content-Type", "application/octet-stream");
    auto resp = http.Send(req);
    ASSERT_TRUE(resp) << resp.error().message;
    EXPECT_EQ(resp->status, 201);
  }
  {
    StringReader body(payload);
    Request req;
    req.method = "PATCH";
    req.url = srv.url() + "/upload";
    req.body = &body;  // unknown length: chunked
    ASSERT_TRUE(http.Send(req));
  }
  {
    Request req;  // a POST with no body at all (start of an upload)
    req.method = "POST";
    req.url = srv.url() + "/v2/x/blobs/uploads/";
    ASSERT_TRUE(http.Send(req));
  }
  auto seen = srv.requests();
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].method, "PUT");
  EXPECT_EQ(seen[0].headers.Get("Content-Length").value(), std::to_string(payload.size()));
  EXPECT_FALSE(seen[0].headers.Has("Expect"));
  EXPECT_EQ(seen[0].body, payload);
  EXPECT_EQ(seen[1].method, "PATCH");
  EXPECT_EQ(seen[1].headers.Get("Transfer-Encoding").value(), "chunked");
  EXPECT_EQ(seen[1].body, payload);
  EXPECT_EQ(seen[2].method, "POST");
  EXPECT_EQ(seen[2].headers.Get("Content-Length").value(), "0");
}

TEST(HttpClientTest, RedirectKeepsAuthorizationOnlyOnSameOrigin) {
  TestServer storage([](const SeenRequest&) { return Reply{200, {}, "blob-bytes"}; });
  TestServer reg([&](const SeenRequest& r) {
    if (r.target == "/v2/x/blobs/cross") {
      return Reply{307, {{"Location", storage.url() + "/bucket/obj?X-Sig=s3cr3t"}}, ""};
    }
    if (r.target == "/v2/x/blobs/same") return Reply{302, {{"Location", "/final"}}, ""};
    return Reply{200, {}, "same-origin"};
  });
  HttpClient http;
  Request req;
  req.url = reg.url() + "/v2/x/blobs/cross";
  req.headers.Set("Authorization", "Bearer registry-token");
  req.follow_redirects = true;
  auto resp = http.Send(req);
  ASSERT_TRUE(resp) << resp.error().message;
  EXPECT_EQ(resp->body, "blob-bytes");
  EXPECT_EQ(resp->url, storage.url() + "/bucket/obj?X-Sig=s3cr3t");
  ASSERT_EQ(storage.requests().size(), 1u);
  EXPECT_FALSE(storage.requests()[0].headers.Has("Authorization"));

  req.url = reg.url() + "/v2/x/blobs/same";
  resp = http.Send(req);
  ASSERT_TRUE(resp);
  EXPECT_EQ(resp->body, "same-origin");
  auto seen = reg.requests();
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[2].target, "/final");
  EXPECT_EQ(seen[2].headers.Get("Authorization").value(), "Bearer registry-token");

  // Without follow_redirects the 3xx itself is the answer.
  req.follow_redirects = false;
  resp = http.Send(req);
  ASSERT_TRUE(resp);
  EXPECT_EQ(resp->status, 302);
}

TEST(HttpClientTest, LoopbackBypassesEnvironmentProxy) {
  TestServer srv([](const SeenRequest&) { return Reply{200, {}, "direct"}; });
  std::string dead = "http://127.0.0.1:" + std::to_string(testing::FreePort());
  ::setenv("http_proxy", dead.c_str(), 1);
  ::setenv("HTTPS_PROXY", dead.c_str(), 1);
  HttpClient http;
  Request req;
  req.url = srv.url() + "/x";
  auto resp = http.Send(req);
  ::unsetenv("http_proxy");
  ::unsetenv("HTTPS_PROXY");
  ASSERT_TRUE(resp) << resp.error().message;
  EXPECT_EQ(resp->body, "direct");
}

TEST(HttpClientTest, ConnectionRefusedIsUnavailable) {
  HttpClient http;
  Request req;
  req.url = "http://127.0.0.1:" + std::to_string(testing::FreePort()) + "/v2/";
  auto resp = http.Send(req);
  ASSERT_FALSE(resp);
  EXPECT_EQ(resp.error().code, ErrorCode::kUnavailable);
}

TEST(HttpClientTest, StallIsDetected) {
  TestServer srv([](const SeenRequest&) {
    Reply r{200, {}, std::string(100000, 's')};
    r.stall = std::chrono::milliseconds(3500);
    r.stall_after = 10;
    return r;
  });
  HttpOptions opts;
  opts.low_speed_limit = 1000;
  opts.low_speed_time = std::chrono::seconds(1);
  HttpClient http(opts);
  Request req;
  req.url = srv.url() + "/slow";
  auto start = std::chrono::steady_clock::now();
  auto resp = http.Send(req);
  ASSERT_FALSE(resp);
  EXPECT_EQ(resp.error().code, ErrorCode::kUnavailable);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(3400));
}

TEST(HttpClientTest, ParallelRequestsFromThreads) {
  TestServer srv([](const SeenRequest& r) { return Reply{200, {}, r.target}; });
  HttpClient http;
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5; ++i) {
        Request req;
        req.url = srv.url() + "/t" + std::to_string(t) + "/" + std::to_string(i);
        auto resp = http.Send(req);
        if (resp && resp->body == "/t" + std::to_string(t) + "/" + std::to_string(i)) ++ok;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), 20);
}

}  // namespace
}  // namespace strata::registry
