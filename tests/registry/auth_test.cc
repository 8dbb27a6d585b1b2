#include "registry/auth.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>

#include "registry/test_support.h"
#include "util/fs.h"

namespace strata::registry {
namespace {

using testing::QueryValues;
using testing::Reply;
using testing::SeenRequest;
using testing::TestServer;

// --- challenges ------------------------------------------------------------------------------

TEST(ChallengeTest, DockerHubBearer) {
  auto cs = ParseChallenges(
      {R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull")"});
  ASSERT_EQ(cs.size(), 1u);
  EXPECT_EQ(cs[0].scheme, "bearer");
  EXPECT_EQ(cs[0].Param("realm"), "https://auth.docker.io/token");
  EXPECT_EQ(cs[0].Param("service"), "registry.docker.io");
  EXPECT_EQ(cs[0].Param("scope"), "repository:library/busybox:pull");
}

TEST(ChallengeTest, BasicFromDistributionRegistry) {
  // What the distribution registry's htpasswd backend sends.
  auto cs = ParseChallenges({R"(Basic realm="Registry Realm")"});
  ASSERT_EQ(cs.size(), 1u);
  EXPECT_EQ(cs[0].scheme, "basic");
  EXPECT_EQ(cs[0].Param("realm"), "Registry Realm");
}

TEST(ChallengeTest, SeveralChallengesEscapesAndCase) {
  auto cs = ParseChallenges(
      {R"(Newauth realm="apps", type=1, title="Login to \"apps\"", BASIC REALM="simple")",
       "Bearer realm=https://t.example/token,scope=\"a b\"", "Negotiate abc==, Basic realm=x"});
  ASSERT_EQ(cs.size(), 5u);
  EXPECT_EQ(cs[0].scheme, "newauth");
  EXPECT_EQ(cs[0].Param("title"), R"(Login to "apps")");
  EXPECT_EQ(cs[0].Param("type"), "1");
  EXPECT_EQ(cs[1].scheme, "basic");
  EXPECT_EQ(cs[1].Param("realm"), "simple");
  EXPECT_EQ(cs[2].scheme, "bearer");
  EXPECT_EQ(cs[2].Param("realm"), "https://t.example/token");
  EXPECT_EQ(cs[2].Param("scope"), "a b");
  EXPECT_EQ(cs[3].scheme, "negotiate");
  EXPECT_EQ(cs[4].scheme, "basic");
  EXPECT_EQ(cs[4].Param("realm"), "x");
}

TEST(ChallengeTest, HostileInputNeverCrashes) {
  for (const std::string& s : std::vector<std::string>{
           "", ",,,", "=", "\"", "Bearer", "Bearer realm",
           "Bearer realm=", "Bearer realm=\"unterminated", "Bearer realm=\"a\\",
           "Bearer ===", "@@@ Bearer realm=x", "Bearer realm=x junk junk, service=y",
           std::string(10000, '"'), std::string("Bearer \0realm=x", 15)}) {
    auto cs = ParseChallenges({s});
    for (const auto& c : cs) EXPECT_FALSE(c.scheme.empty());
  }
  auto cs = ParseChallenges({"Bearer realm=\"unterminated"});
  ASSERT_EQ(cs.size(), 1u);
  EXPECT_EQ(cs[0].Param("realm"), "unterminated");
  cs = ParseChallenges({"Bearer realm=x junk junk, service=y"});
  ASSERT_EQ(cs.size(), 1u);
  EXPECT_EQ(cs[0].Param("service"), "y");
}

// --- scopes and tokens -----------------------------------------------------------------------

TEST(ScopeTest, MergesActionsPerRepository) {
  ScopeSet s;
  s.Add(RepositoryScope("library/busybox", false));
  s.Add(RepositoryScope("library/busybox", true));
  s.Add(RepositoryScope("other/src", false));
  EXPECT_EQ(s.Strings(), (std::vector<std::string>{"repository:library/busybox:pull,push",
                                                   "repository:other/src:pull"}));
  auto sc = ParseScope("repository:localhost:5000/x:pull");
  ASSERT_TRUE(sc);
  EXPECT_EQ(sc->name, "localhost:5000/x");
  EXPECT_EQ(sc->String(), "repository:localhost:5000/x:pull");
  EXPECT_EQ(ParseScope("registry:catalog:*")->String(), "registry:catalog:*");
  EXPECT_FALSE(ParseScope("nonsense"));
}

TEST(TokenTest, ParsesDockerAndOAuthShapes) {
  auto now = std::chrono::system_clock::from_time_t(1700000000);
  auto t = ParseTokenResponse(R"({"token":"T1","expires_in":300})", now);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->token, "T1");
  EXPECT_EQ(t->expires, now + std::chrono::seconds(300));
  t = ParseTokenResponse(R"({"token":"T1","access_token":"A1","refresh_token":"R"})", now);
  EXPECT_EQ(t->token, "A1");
  EXPECT_EQ(t->refresh_token, "R");
  EXPECT_EQ(t->expires, now + std::chrono::seconds(60));  // docker's minimum lifetime
  t = ParseTokenResponse(R"({"token":"T","expires_in":3600,"issued_at":"2023-11-14T22:13:20Z"})",
                         now);
  EXPECT_EQ(t->expires, std::chrono::system_clock::from_time_t(1700000000 + 3600));
  t = ParseTokenResponse(
      R"({"token":"T","expires_in":60,"issued_at":"2023-11-14T23:13:20.123456+01:00"})", now);
  EXPECT_EQ(t->expires, std::chrono::system_clock::from_time_t(1700000000 + 60));
  auto bad = ParseTokenResponse(R"({"expires_in":5})", now);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "authorization server did not include a token in the response");
  EXPECT_FALSE(ParseTokenResponse("<html>", now));
}

TEST(ResponseErrorTest, DistributionErrorsAsDockerPrintsThem) {
  Response r;
  r.status = 401;
  r.body =
      R"({"errors":[{"code":"UNAUTHORIZED","message":"authentication required","detail":null}]})";
  Error e = ResponseError(r);
  EXPECT_EQ(e.code, ErrorCode::kUnauthenticated);
  EXPECT_EQ(e.message, "unauthorized: authentication required");
  r.status = 404;
  r.body = R"({"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]})";
  e = ResponseError(r);
  EXPECT_EQ(e.code, ErrorCode::kNotFound);
  EXPECT_EQ(e.message, "manifest unknown: manifest unknown");
  r.status = 503;
  r.body = "";
  e = ResponseError(r);
  EXPECT_EQ(e.code, ErrorCode::kUnavailable);
  EXPECT_EQ(e.message, "received unexpected HTTP status: 503 Service Unavailable");
  r.status = 401;
  r.body = R"({"details":"incorrect username or password"})";
  EXPECT_EQ(ResponseError(r).message, "unauthorized: incorrect username or password");
}

// --- token flows against a loopback token server + registry ----------------------------------

// Plays a registry that wants bearer tokens and the token server that issues them.
class BearerFlowTest : public ::testing::Test {
 protected:
  BearerFlowTest() : server_([this](const SeenRequest& r) { return Handle(r); }) {}

  Reply Handle(const SeenRequest& r) {
    std::string realm = server_.url() + "/token";
    if (r.target.starts_with("/token")) {
      if (r.method == "POST" && !oauth_) return Reply{404, {}, "404 page not found"};
      std::string user;
      if (r.method == "GET") {
        auto a = r.headers.Get("Authorization");
        if (a) {
          if (*a != "Basic " + Base64Encode("alice:s3cret")) {
            return Reply{401, {}, R"({"details":"incorrect username or password"})"};
          }
          user = "alice";
        }
        scopes_seen_ = QueryValues(r.target, "scope");
      } else {
        form_ = r.body;
      }
      int n = ++issued_;
      std::string tok = "tok-" + std::to_string(n) + (user.empty() ? "-anon" : "-" + user);
      tokens_.push_back(tok);
      return Reply{200,
                   {{"Content-Type", "application/json"}},
                   R"({"token":")" + tok + R"(","expires_in":300,"refresh_token":"refresh-)" +
                       std::to_string(n) + R"("})"};
    }
    auto a = r.headers.Get("Authorization");
    bool ok = a && a->starts_with("Bearer tok-") &&
              std::find(tokens_.begin(), tokens_.end(), a->substr(7)) != tokens_.end();
    if (require_user_ && ok && a->find("-alice") == std::string::npos) ok = false;
    if (!ok) {
      return Reply{401,
                   {{"WWW-Authenticate", "Bearer realm=\"" + realm +
                                             "\",service=\"test-registry\",scope=\"repository:"
                                             "x/y:pull\""},
                    {"Content-Type", "application/json"}},
                   R"({"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]})"};
    }
    return Reply{200, {}, "content for " + r.target};
  }

  Request Get(const std::string& path) {
    Request req;
    req.url = server_.url() + path;
    return req;
  }

  std::atomic<int> issued_{0};
  std::vector<std::string> tokens_;
  std::vector<std::string> scopes_seen_;
  std::string form_;
  bool oauth_ = false;
  bool require_user_ = false;
  TestServer server_;
};

TEST_F(BearerFlowTest, AnonymousTokenRetryAndCache) {
  HttpClient http;
  Authorizer auth(http, {});
  ScopeSet pull{RepositoryScope("x/y", false)};
  auto resp = auth.Send(Get("/v2/x/y/manifests/latest"), pull);
  ASSERT_TRUE(resp) << resp.error().message;
  EXPECT_EQ(resp->status, 200);
  EXPECT_EQ(issued_, 1);
  EXPECT_EQ(scopes_seen_, std::vector<std::string>{"repository:x/y:pull"});
  auto reqs = server_.requests();
  ASSERT_EQ(reqs.size(), 3u);  // 401, token, retry
  EXPECT_TRUE(QueryValues(reqs[1].target, "service") == std::vector<std::string>{"test-registry"});
  EXPECT_FALSE(reqs[1].headers.Has("Authorization"));
  // The cached token goes out with the next request of the same scopes: no new 401.
  resp = auth.Send(Get("/v2/x/y/blobs/sha256:1"), pull);
  ASSERT_TRUE(resp);
  EXPECT_EQ(resp->status, 200);
  EXPECT_EQ(issued_, 1);
  EXPECT_EQ(server_.requests().size(), 4u);
}

TEST_F(BearerFlowTest, PushWithMountAsksForAllScopesInOneToken) {
  HttpClient http;
  Authorizer auth(http, {});
  ScopeSet scopes{RepositoryScope("x/y", true), RepositoryScope("src/repo", false)};
  auto resp = auth.Send(Get("/v2/x/y/blobs/uploads/"), scopes);
  ASSERT_TRUE(resp);
  EXPECT_EQ(resp->status, 200);
  EXPECT_EQ(scopes_seen_,
            (std::vector<std::string>{"repository:src/repo:pull", "repository:x/y:pull,push"}));
  // A pull-only request is another scope set: another token.
  resp = auth.Send(Get("/v2/x/y/manifests/a"), ScopeSet{RepositoryScope("x/y", false)});
  ASSERT_TRUE(resp);
  EXPECT_EQ(issued_, 2);
}

TEST_F(BearerFlowTest, BasicCredentialsOnTokenGet) {
  require_user_ = true;
  HttpClient http;
  AuthorizerOptions o;
  o.credentials.username = "alice";
  o.credentials.password = "s3cret";
  Authorizer auth(http, o);
  auto resp = auth.Send(Get("/v2/x/y/tags/list"), ScopeSet{RepositoryScope("x/y", false)});
  ASSERT_TRUE(resp) << resp.error().message;
  EXPECT_EQ(resp->status, 200);
  auto reqs = server_.requests();
  ASSERT_GE(reqs.size(), 2u);
  EXPECT_EQ(QueryValues(reqs[1].target, "account"), std::vector<std::string>{"alice"});

  o.credentials.password = "wrong";
  Authorizer bad(http, o);
  auto r2 = bad.Send(Get("/v2/x/y/tags/list"), ScopeSet{RepositoryScope("x/y", false)});
  ASSERT_FALSE(r2);
  EXPECT_EQ(r2.error().code, ErrorCode::kUnauthenticated);
  EXPECT_NE(r2.error().message.find("unauthorized: incorrect username or password"),
            std::string::npos);
  EXPECT_EQ(r2.error().message.find("wrong"), std::string::npos);
}

TEST_F(BearerFlowTest, OAuthPostWithIdentityToken) {
  oauth_ = true;
  HttpClient http;
  AuthorizerOptions o;
  o.credentials.identity_token = "my-refresh-token";
  Authorizer auth(http, o);
  auto resp = auth.Send(Get("/v2/x/y/manifests/latest"), ScopeSet{RepositoryScope("x/y", false)});
  ASSERT_TRUE(resp) << resp.error().message;
  EXPECT_EQ(resp->status, 200);
  EXPECT_NE(form_.find("grant_type=refresh_token"), std::string::npos) << form_;
  EXPECT_NE(form_.find("refresh_token=my-refresh-token"), std::string::npos);
  EXPECT_NE(form_.find("service=test-registry"), std::string::npos);
  EXPECT_NE(form_.find("scope=repository%3Ax%2Fy%3Apull"), std::string::npos);
  EXPECT_NE(form_.find("client_id=strata"), std::string::npos);
  EXPECT_EQ(auth.refresh_token(), "refresh-1");
}

TEST_F(BearerFlowTest, OAuthPost404FallsBackToGet) {
  oauth_ = false;
  HttpClient http;
  AuthorizerOptions o;
  o.credentials.username = "alice";
  o.credentials.password = "s3cret";
  o.force_oauth = true;
  Authorizer auth(http, o);
  auto resp = auth.Send(Get("/v2/x/y/manifests/latest"), ScopeSet{RepositoryScope("x/y", false)});
  ASSERT_TRUE(resp) << resp.error().message;
  EXPECT_EQ(resp->status, 200);
  auto reqs = server_.requests();
  ASSERT_EQ(reqs.size(), 4u);  // 401, POST 404, GET token, retry
  EXPECT_EQ(reqs[1].method, "POST");
  EXPECT_EQ(reqs[2].method, "GET");
  EXPECT_TRUE(reqs[2].target.starts_with("/token?"));
}

TEST_F(BearerFlowTest, BodyWithoutRewindIsNotRetried) {
  HttpClient http;
  Authorizer auth(http, {});
  std::string data = "manifest";
  StringReader body(data);
  Request req = Get("/v2/x/y/manifests/latest");
  req.method = "PUT";
  req.body = &body;
  req.body_size = data.size();
  auto resp = auth.Send(req, ScopeSet{RepositoryScope("x/y", true)});
  ASSERT_TRUE(resp);
  EXPECT_EQ(resp->status, 401);
  // With a rewind the same request succeeds, the body sent whole the second time.
  StringReader body2(data);
  req.body = &body2;
  req.rewind_body = [&] {
    body2 = StringReader(data);
    return Ok();
  };
  resp = auth.Send(req, ScopeSet{RepositoryScope("x/y", true)});
  ASSERT_TRUE(resp);
  EXPECT_EQ(resp->status, 200);
  EXPECT_EQ(server_.requests().back().body, data);
}

// --- the real distribution registry: htpasswd Basic auth over TLS ----------------------------

class TlsBasicRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testing::HaveProgram("openssl")) GTEST_SKIP() << "openssl CLI not installed";
    auto t = TempDir::Create("/tmp", "strata-reg-tls-");
    ASSERT_TRUE(t);
    tmp_ = std::move(*t);
    std::string why = pki_.Make(tmp_.path());
    ASSERT_EQ(why, "");
    std::string line = testing::Htpasswd("testuser", "testpassword", tmp_.path());
    if (line.empty()) GTEST_SKIP() << "neither htpasswd (apache2-utils) nor python3 crypt bcrypt";
    testing::WriteText(tmp_.path() + "/htpasswd", line + "\n");
    why = registry_.Start(
        tmp_.path() + "/reg",
        "  tls:\n    certificate: " + pki_.server_crt + "\n    key: " + pki_.server_key + "\n",
        "auth:\n  htpasswd:\n    realm: Registry Realm\n    path: " + tmp_.path() + "/htpasswd\n");
    if (why.find("not installed") != std::string::npos) GTEST_SKIP() << why;
    ASSERT_EQ(why, "");
    // The CA goes where dockerd looks for it: certs.d/<host:port>/ca.crt.
    certs_ = tmp_.path() + "/certs.d";
    std::filesystem::create_directories(certs_ + "/" + registry_.host());
    std::filesystem::copy_file(pki_.ca_crt, certs_ + "/" + registry_.host() + "/ca.crt");
    // 127.0.0.1 is insecure by default; this test wants verified TLS, so ask for a
    // verifying config explicitly.
    HostsOptions o;
    o.certs_dirs = {certs_};
    hosts_ = std::move(*RegistryHosts::Load(o));
    auto tls = hosts_.TlsFor(registry_.host());
    ASSERT_TRUE(tls);
    endpoint_.scheme = "https";
    endpoint_.host = registry_.host();
    endpoint_.tls = *tls;
    endpoint_.tls.verify = true;
  }

  TempDir tmp_;
  testing::TestPki pki_;
  testing::Registry registry_;
  std::string certs_;
  RegistryHosts hosts_;
  Endpoint endpoint_;
};

TEST_F(TlsBasicRegistryTest, PingShowsBasicChallengeOverHttp2) {
  HttpClient http;
  auto ping = Ping(http, endpoint_);
  ASSERT_TRUE(ping) << ping.error().message;
  EXPECT_EQ(ping->status, 401);
  EXPECT_EQ(ping->api_version, "registry/2.0");
  ASSERT_EQ(ping->challenges.size(), 1u);
  EXPECT_EQ(ping->challenges[0].scheme, "basic");
  EXPECT_EQ(ping->challenges[0].Param("realm"), "Registry Realm");

  Request req;
  req.url = endpoint_.BaseUrl() + "/v2/";
  req.tls = endpoint_.tls;
  auto resp = http.Send(req);
  ASSERT_TRUE(resp);
  EXPECT_EQ(resp->http_version, 20);  // Go's server offers h2 over TLS
  resp = http.Send(req);
  ASSERT_TRUE(resp);
  EXPECT_EQ(resp->new_connections, 0);  // the TLS connection is reused
}

TEST_F(TlsBasicRegistryTest, BasicAuthWithRightAndWrongPassword) {
  HttpClient http;
  AuthorizerOptions o;
  o.credentials.username = "testuser";
  o.credentials.password = "testpassword";
  Authorizer auth(http, o);
  Request req;
  req.url = endpoint_.BaseUrl() + "/v2/";
  req.tls = endpoint_.tls;
  auto resp = auth.Send(req, {});
  ASSERT_TRUE(resp) << resp.error().message;
  EXPECT_EQ(resp->status, 200);
  // Now the host is known to want Basic: the next request carries it at once.
  req.url = endpoint_.BaseUrl() + "/v2/_catalog";
  resp = auth.Send(req, {});
  ASSERT_TRUE(resp);
  EXPECT_EQ(resp->status, 200);
  EXPECT_NE(resp->body.find("repositories"), std::string::npos);

  o.credentials.password = "not-the-password";
  Authorizer bad(http, o);
  req.url = endpoint_.BaseUrl() + "/v2/";
  resp = bad.Send(req, {});
  ASSERT_TRUE(resp);
  EXPECT_EQ(resp->status, 401);
  Error e = ResponseError(*resp);
  EXPECT_EQ(e.code, ErrorCode::kUnauthenticated);
  EXPECT_EQ(e.message, "unauthorized: authentication required");
  EXPECT_EQ(e.message.find("not-the-password"), std::string::npos);
}

TEST_F(TlsBasicRegistryTest, UnknownCaIsATlsError) {
  HttpClient http;
  Endpoint e = endpoint_;
  e.tls.ca_files.clear();
  auto ping = Ping(http, e);
  ASSERT_FALSE(ping);
  EXPECT_EQ(ping.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(ping.error().message.find("tls:"), std::string::npos) << ping.error().message;
  // dockerd's insecure mode (verification off) reaches it.
  e.tls.verify = false;
  ping = Ping(http, e);
  ASSERT_TRUE(ping) << ping.error().message;
  EXPECT_EQ(ping->status, 401);
}

// --- the real distribution registry, open, over plain HTTP -----------------------------------

TEST(PlainRegistryTest, PingOpenRegistryAndHttpFallbackEndpoint) {
  auto t = TempDir::Create("/tmp", "strata-reg-plain-");
  ASSERT_TRUE(t);
  testing::Registry reg;
  std::string why = reg.Start(t->path(), "", "");
  if (why.find("not installed") != std::string::npos) GTEST_SKIP() << why;
  ASSERT_EQ(why, "");
  auto hosts = RegistryHosts::Load({.certs_dirs = {t->path() + "/none"}});
  ASSERT_TRUE(hosts);
  auto eps = hosts->Endpoints(reg.host());
  ASSERT_TRUE(eps);
  ASSERT_EQ(eps->size(), 2u);
  HttpClient http;
  // https against a plain-HTTP server fails; dockerd then falls back to http.
  auto first = Ping(http, (*eps)[0]);
  ASSERT_FALSE(first);
  EXPECT_EQ(first.error().code, ErrorCode::kUnavailable);
  auto second = Ping(http, (*eps)[1]);
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_EQ(second->status, 200);
  EXPECT_EQ(second->api_version, "registry/2.0");
  // Keep-alive: the next request to the same registry reuses the connection.
  Request again;
  again.url = (*eps)[1].BaseUrl() + "/v2/";
  auto r1 = http.Send(again);
  ASSERT_TRUE(r1);
  EXPECT_EQ(r1->new_connections, 0);
  // Unknown manifests come back as the registry JSON error.
  Request req;
  req.url = (*eps)[1].BaseUrl() + "/v2/no/such/manifests/latest";
  auto resp = http.Send(req);
  ASSERT_TRUE(resp);
  Error e = ResponseError(*resp);
  EXPECT_EQ(e.code, ErrorCode::kNotFound);
  // What distribution 2.8 answers for a repository it has never seen.
  EXPECT_EQ(e.message, "manifest unknown: manifest unknown");
}

}  // namespace
}  // namespace strata::registry
