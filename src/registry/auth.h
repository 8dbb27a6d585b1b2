// Registry authentication: the /v2/ ping, WWW-Authenticate challenges, the token flows of
// the distribution token spec (anonymous, Basic, OAuth2 POST), and an Authorizer that
// every registry request goes through.
//
// Walk-through: Ping() an endpoint; a 401 carries challenges. Authorizer::Send(request,
// scopes) adds what it knows for the host (a cached bearer token for exactly these scopes,
// or Basic credentials); on a 401 it reads the challenge, fetches a token for the request's
// scopes plus the challenge's, and sends once more. Tokens are cached per (realm, service,
// scope set) until shortly before they expire.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "registry/hosts.h"
#include "registry/http.h"
#include "util/result.h"

namespace strata::registry {

// One challenge of a WWW-Authenticate header: scheme lowercased, parameter names
// lowercased, values unquoted.
struct Challenge {
  std::string scheme;  // "bearer", "basic", ...
  std::map<std::string, std::string> params;
  std::string Param(std::string_view name) const;
  bool operator==(const Challenge&) const = default;
};

// Parses every challenge in the given header values (RFC 7235: several per value,
// comma-separated; auth-params with token or quoted-string values and backslash escapes).
// Malformed parts are skipped, never fatal: this is input from the network.
std::vector<Challenge> ParseChallenges(const std::vector<std::string>& header_values);

// An access scope of the token spec: "repository:library/busybox:pull,push".
struct Scope {
  std::string type = "repository";
  std::string name;
  std::set<std::string> actions;
  std::string String() const;  // actions sorted, comma-joined
  bool operator==(const Scope&) const = default;
  auto operator<=>(const Scope&) const = default;
};
// Parses "type:name:actions"; the name may contain ':' (a port in the resource name).
Result<Scope> ParseScope(std::string_view s);
Scope RepositoryScope(std::string_view repository, bool push);

// A set of scopes with actions merged per resource, so pull + push on one repository is
// one "repository:x:pull,push" and a cross-repo mount adds "repository:src:pull".
class ScopeSet {
 public:
  ScopeSet() = default;
  ScopeSet(std::initializer_list<Scope> scopes);
  void Add(const Scope& s);
  void Add(const ScopeSet& o);
  std::vector<std::string> Strings() const;  // sorted, one per resource
  bool empty() const { return scopes_.empty(); }
  bool operator==(const ScopeSet&) const = default;

 private:
  std::map<std::pair<std::string, std::string>, std::set<std::string>> scopes_;
};

// What a user gave for a registry (from the docker config file or login flags).
struct Credentials {
  std::string username;
  std::string password;
  // A refresh token from an earlier login (docker's `identitytoken`): used with the
  // OAuth2 refresh_token grant instead of the password.
  std::string identity_token;
  // A bearer token to send as is (docker's `registrytoken`).
  std::string registry_token;
  bool empty() const {
    return username.empty() && password.empty() && identity_token.empty() && registry_token.empty();
  }
};

struct Token {
  std::string token;
  std::string refresh_token;  // set when the server issued one (offline access / login)
  std::chrono::system_clock::time_point expires;
};

// Parses a token endpoint's JSON answer: `token` or `access_token` (the latter wins, as in
// docker), `expires_in` (at least 60 s), `issued_at` (RFC 3339, default now), and
// `refresh_token`.
Result<Token> ParseTokenResponse(std::string_view body, std::chrono::system_clock::time_point now);

struct TokenRequest {
  std::string realm;
  std::string service;
  ScopeSet scopes;
  Credentials credentials;
  std::string client_id = "strata";
  // Ask for a refresh token (login): offline_token=true on GET, access_type=offline on POST.
  bool offline = false;
  // Use the OAuth2 POST with grant_type=password even without an identity token.
  bool force_oauth = false;
};

// Fetches a token: the OAuth2 POST when there is an identity token (refresh_token grant)
// or force_oauth (password grant), falling back to GET on 404; otherwise GET with Basic
// credentials when there are any, anonymous without. `tls` applies to the realm's host.
Result<Token> FetchToken(HttpClient& http, const TokenRequest& req, const TlsConfig& tls);

struct PingResult {
  int status = 0;                     // 200 (no auth needed) or 401
  std::vector<Challenge> challenges;  // from a 401
  std::string api_version;            // Docker-Distribution-API-Version
};

// GET <endpoint>/v2/. A 200 or 401 is an answer; anything else is an error (404: not a v2
// registry).
Result<PingResult> Ping(HttpClient& http, const Endpoint& endpoint);

// The error for a registry response that is not a success: the distribution error JSON
// ("errors":[{"code","message","detail"}]) rendered as docker does ("unauthorized:
// authentication required"), else the status line. 401 -> kUnauthenticated, 403 ->
// kDenied, 404 -> kNotFound, 429/5xx -> kUnavailable.
Error ResponseError(const Response& resp);

struct AuthorizerOptions {
  Credentials credentials;
  // Used for realms (token servers) on other hosts; nullptr: system defaults.
  const RegistryHosts* hosts = nullptr;
  bool offline = false;
  bool force_oauth = false;
  std::string client_id = "strata";
};

// Authorizes requests to one registry (with its credentials). Thread-safe: share it
// between the parallel transfers of a pull or push.
class Authorizer {
 public:
  Authorizer(HttpClient& http, AuthorizerOptions options);

  // Sends the request with authorization for `scopes`; on 401 fetches a token from the
  // challenge and sends once more (if the body can be rewound). The final response is
  // returned whatever its status; use ResponseError on failure.
  Result<Response> Send(Request request, const ScopeSet& scopes);

  // Records what a Ping() said about a host, so the first request already carries
  // authorization.
  void AddChallenges(std::string_view host, const std::vector<Challenge>& challenges);

  // The refresh token the last token response carried (after a login with offline access).
  std::string refresh_token() const;

  // Drops every cached token (e.g. after the registry rejected one).
  void ClearTokens();

 private:
  Result<std::string> AuthorizationFor(std::string_view host, const ScopeSet& scopes, bool refresh);

  HttpClient& http_;
  AuthorizerOptions options_;
  mutable std::mutex mu_;
  std::map<std::string, Challenge> challenges_;  // host -> challenge in use
  std::map<std::string, Token> tokens_;          // realm|service|scopes -> token
  std::string refresh_token_;
};

}  // namespace strata::registry
