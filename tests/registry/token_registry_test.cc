// The bearer token flow against the real distribution registry configured with `auth: token`,
// and a token server run by the test that issues RS256 JWTs (signed with the openssl CLI).
#include <gtest/gtest.h>

#include <ctime>
#include <nlohmann/json.hpp>

#include "registry/auth.h"
#include "registry/test_support.h"
#include "util/fs.h"

namespace strata::registry {
namespace {

using testing::QueryValues;
using testing::ReadText;
using testing::Reply;
using testing::SeenRequest;
using testing::TestServer;
using testing::WriteText;

std::string Base64Url(std::string_view data) {
  std::string s = Base64Encode(data);
  for (char& c : s) c = c == '+' ? '-' : c == '/' ? '_' : c;
  while (!s.empty() && s.back() == '=') s.pop_back();
  return s;
}

class TokenRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testing::HaveProgram("openssl")) GTEST_SKIP() << "openssl CLI not installed";
    auto t = TempDir::Create("/tmp", "strata-reg-token-");
    ASSERT_TRUE(t);
    tmp_ = std::move(*t);
    dir_ = tmp_.path();
    ASSERT_EQ(testing::Sh("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "
                          "/CN=strata-token-issuer -keyout " +
                          dir_ + "/tok.key -out " + dir_ + "/tok.crt >" + dir_ +
                          "/openssl.log 2>&1 && openssl x509 -in " + dir_ +
                          "/tok.crt -outform DER -out " + dir_ + "/tok.der"),
              0)
        << ReadText(dir_ + "/openssl.log");
    cert_der_ = ReadText(dir_ + "/tok.der");
    token_server_ = std::make_unique<TestServer>([this](const SeenRequest& r) { return Issue(r); });
    std::string why =
        registry_.Start(dir_ + "/reg", "",
                        "auth:\n  token:\n    realm: " + token_server_->url() +
                            "/token\n    service: test-registry\n    issuer: strata-test-issuer\n"
                            "    rootcertbundle: " +
                            dir_ + "/tok.crt\n");
    if (why.find("not installed") != std::string::npos) GTEST_SKIP() << why;
    ASSERT_EQ(why, "");
  }

  // The token server: Basic credentials alice/s3cret get what they ask for, "reader" gets
  // pull only, anonymous callers get nothing but a valid token.
  Reply Issue(const SeenRequest& r) {
    std::string user;
    if (auto a = r.headers.Get("Authorization")) {
      if (*a == "Basic " + Base64Encode("alice:s3cret")) {
        user = "alice";
      } else if (*a == "Basic " + Base64Encode("reader:pw")) {
        user = "reader";
      } else {
        return Reply{401, {}, R"({"details":"incorrect username or password"})"};
      }
    }
    nlohmann::json access = nlohmann::json::array();
    for (const auto& s : QueryValues(r.target, "scope")) {
      auto sc = ParseScope(s);
      if (!sc || user.empty()) continue;
      nlohmann::json actions = nlohmann::json::array();
      for (const auto& a : sc->actions) {
        if (user == "alice" || a == "pull") actions.push_back(a);
      }
      access.push_back({{"type", sc->type}, {"name", sc->name}, {"actions", actions}});
    }
    long now = static_cast<long>(std::time(nullptr));
    nlohmann::json header = {{"typ", "JWT"}, {"alg", "RS256"}, {"x5c", {Base64Encode(cert_der_)}}};
    nlohmann::json claims = {{"iss", "strata-test-issuer"},
                             {"sub", user},
                             {"aud", "test-registry"},
                             {"exp", now + 300},
                             {"nbf", now - 10},
                             {"iat", now},
                             {"jti", std::to_string(++issued_)},
                             {"access", access}};
    std::string signing = Base64Url(header.dump()) + "." + Base64Url(claims.dump());
    WriteText(dir_ + "/signing", signing);
    if (testing::Sh("openssl dgst -sha256 -sign " + dir_ + "/tok.key -out " + dir_ + "/sig " +
                    dir_ + "/signing") != 0) {
      return Reply{500, {}, "signing failed"};
    }
    std::string jwt = signing + "." + Base64Url(ReadText(dir_ + "/sig"));
    nlohmann::json body = {{"token", jwt}, {"expires_in", 300}};
    return Reply{200, {{"Content-Type", "application/json"}}, body.dump()};
  }

  Request Req(const std::string& method, const std::string& path) {
    Request req;
    req.method = method;
    req.url = "http://" + registry_.host() + path;
    return req;
  }

  TempDir tmp_;
  std::string dir_, cert_der_;
  int issued_ = 0;
  std::unique_ptr<TestServer> token_server_;
  testing::Registry registry_;
};

TEST_F(TokenRegistryTest, PingAndAnonymousToken) {
  HttpClient http;
  Endpoint ep{.scheme = "http", .host = registry_.host()};
  auto ping = Ping(http, ep);
  ASSERT_TRUE(ping) << ping.error().message;
  EXPECT_EQ(ping->status, 401);
  ASSERT_EQ(ping->challenges.size(), 1u);
  EXPECT_EQ(ping->challenges[0].scheme, "bearer");
  EXPECT_EQ(ping->challenges[0].Param("realm"), token_server_->url() + "/token");
  EXPECT_EQ(ping->challenges[0].Param("service"), "test-registry");

  Authorizer auth(http, {});
  auth.AddChallenges(registry_.host(), ping->challenges);
  auto resp = auth.Send(Req("GET", "/v2/"), {});
  ASSERT_TRUE(resp) << resp.error().message;
  EXPECT_EQ(resp->status, 200) << resp->body << registry_.log();
  EXPECT_EQ(issued_, 1);  // the ping's challenge was used up front: no 401 round trip
}

TEST_F(TokenRegistryTest, PushScopeFromTheRegistrysChallenge) {
  HttpClient http;
  AuthorizerOptions o;
  o.credentials = {"alice", "s3cret"};
  Authorizer auth(http, o);
  ScopeSet push{RepositoryScope("team/app", true)};
  auto resp = auth.Send(Req("POST", "/v2/team/app/blobs/uploads/"), push);
  ASSERT_TRUE(resp) << resp.error().message;
  EXPECT_EQ(resp->status, 202) << resp->body << registry_.log();
  EXPECT_TRUE(resp->headers.Has("Location"));
  auto reqs = token_server_->requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(QueryValues(reqs[0].target, "scope"),
            std::vector<std::string>{"repository:team/app:pull,push"});
  EXPECT_EQ(QueryValues(reqs[0].target, "account"), std::vector<std::string>{"alice"});
  // Same scopes again: the cached token, no new token request.
  resp = auth.Send(Req("POST", "/v2/team/app/blobs/uploads/"), push);
  ASSERT_TRUE(resp);
  EXPECT_EQ(resp->status, 202);
  EXPECT_EQ(token_server_->requests().size(), 1u);
}

TEST_F(TokenRegistryTest, PullOnlyTokenCannotPush) {
  HttpClient http;
  AuthorizerOptions o;
  o.credentials = {"reader", "pw"};
  Authorizer auth(http, o);
  auto resp = auth.Send(Req("POST", "/v2/team/app/blobs/uploads/"),
                        ScopeSet{RepositoryScope("team/app", true)});
  ASSERT_TRUE(resp) << resp.error().message;
  EXPECT_EQ(resp->status, 401);
  Error e = ResponseError(*resp);
  EXPECT_EQ(e.code, ErrorCode::kUnauthenticated);
  EXPECT_EQ(e.message, "unauthorized: authentication required");

  o.credentials = {"alice", "wrong"};
  Authorizer bad(http, o);
  auto r2 = bad.Send(Req("GET", "/v2/"), {});
  ASSERT_FALSE(r2);
  EXPECT_EQ(r2.error().code, ErrorCode::kUnauthenticated);
  EXPECT_NE(r2.error().message.find("unauthorized: incorrect username or password"),
            std::string::npos);
}

}  // namespace
}  // namespace strata::registry
