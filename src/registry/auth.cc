#include "registry/auth.h"

#include <cctype>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>

#include "util/ascii.h"

namespace strata::registry {

// --- WWW-Authenticate -----------------------------------------------------------------------

std::string Challenge::Param(std::string_view name) const {
  auto it = params.find(std::string(name));
  return it == params.end() ? std::string() : it->second;
}

namespace {

bool IsTokenChar(char c) {
  if (std::isalnum(static_cast<unsigned char>(c))) return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
      return true;
    default:
      return false;
  }
}

bool IsSpace(char c) { return c == ' ' || c == '\t'; }

class ChallengeParser {
 public:
  explicit ChallengeParser(std::string_view s) : s_(s) {}

  void Parse(std::vector<Challenge>& out) {
    while (i_ < s_.size()) {
      SkipSpaceAndCommas();
      if (i_ >= s_.size()) break;
      std::string scheme = Token();
      if (scheme.empty()) {
        ++i_;  // not a token character: skip it, stay in step
        continue;
      }
      Challenge c;
      c.scheme = AsciiLower(scheme);
      ParseParams(c);
      out.push_back(std::move(c));
    }
  }

 private:
  void SkipSpace() {
    while (i_ < s_.size() && IsSpace(s_[i_])) ++i_;
  }
  void SkipSpaceAndCommas() {
    while (i_ < s_.size() && (IsSpace(s_[i_]) || s_[i_] == ',')) ++i_;
  }
  std::string Token() {
    size_t start = i_;
    while (i_ < s_.size() && IsTokenChar(s_[i_])) ++i_;
    return std::string(s_.substr(start, i_ - start));
  }
  std::string Quoted() {  // at the opening quote
    std::string v;
    ++i_;
    while (i_ < s_.size()) {
      char c = s_[i_++];
      if (c == '"') return v;
      if (c == '\\' && i_ < s_.size()) c = s_[i_++];
      v += c;
    }
    return v;  // unterminated: take what there is
  }

  void ParseParams(Challenge& c) {
    for (;;) {
      SkipSpaceAndCommas();
      if (i_ >= s_.size()) return;
      size_t start = i_;
      std::string name = Token();
      if (name.empty()) {
        // Garbage where a parameter should be: skip to the next comma.
        while (i_ < s_.size() && s_[i_] != ',') ++i_;
        continue;
      }
      SkipSpace();
      if (i_ >= s_.size() || s_[i_] != '=') {
        // A token not followed by '=': the next challenge's scheme.
        i_ = start;
        return;
      }
      // token68 ("Negotiate abc==") is '=' padding ending at a comma or the end.
      size_t eq = i_;
      while (i_ < s_.size() && s_[i_] == '=') ++i_;
      size_t after = i_;
      SkipSpace();
      if (i_ >= s_.size() || s_[i_] == ',') {
        (void)eq;
        (void)after;
        continue;  // token68: nothing we use
      }
      if (after - eq > 1) {
        while (i_ < s_.size() && s_[i_] != ',') ++i_;
        continue;
      }
      std::string value;
      if (s_[i_] == '"') {
        value = Quoted();
      } else {
        size_t vstart = i_;
        while (i_ < s_.size() && s_[i_] != ',' && !IsSpace(s_[i_])) ++i_;
        value = std::string(s_.substr(vstart, i_ - vstart));
      }
      c.params.emplace(AsciiLower(name), std::move(value));  // the first one wins
      SkipSpace();
      if (i_ < s_.size() && s_[i_] != ',') {
        // Junk after a value: skip to the next comma.
        while (i_ < s_.size() && s_[i_] != ',') ++i_;
      }
    }
  }

  std::string_view s_;
  size_t i_ = 0;
};

}  // namespace

std::vector<Challenge> ParseChallenges(const std::vector<std::string>& header_values) {
  std::vector<Challenge> out;
  for (const auto& v : header_values) ChallengeParser(v).Parse(out);
  return out;
}

// --- scopes ----------------------------------------------------------------------------------

std::string Scope::String() const {
  std::string a;
  for (const auto& x : actions) a += (a.empty() ? "" : ",") + x;
  return type + ":" + name + ":" + a;
}

Result<Scope> ParseScope(std::string_view s) {
  auto first = s.find(':');
  auto last = s.rfind(':');
  if (first == std::string_view::npos || first == last) {
    return InvalidArgument("invalid scope \"" + std::string(s) + "\"");
  }
  Scope sc;
  sc.type = std::string(s.substr(0, first));
  sc.name = std::string(s.substr(first + 1, last - first - 1));
  std::string_view acts = s.substr(last + 1);
  while (!acts.empty()) {
    auto comma = acts.find(',');
    std::string_view a = acts.substr(0, comma);
    if (!a.empty()) sc.actions.emplace(a);
    if (comma == std::string_view::npos) break;
    acts.remove_prefix(comma + 1);
  }
  if (sc.type.empty() || sc.name.empty()) {
    return InvalidArgument("invalid scope \"" + std::string(s) + "\"");
  }
  return sc;
}

Scope RepositoryScope(std::string_view repository, bool push) {
  Scope s;
  s.name = std::string(repository);
  s.actions.insert("pull");
  if (push) s.actions.insert("push");
  return s;
}

ScopeSet::ScopeSet(std::initializer_list<Scope> scopes) {
  for (const auto& s : scopes) Add(s);
}

void ScopeSet::Add(const Scope& s) {
  auto& acts = scopes_[{s.type, s.name}];
  acts.insert(s.actions.begin(), s.actions.end());
}

void ScopeSet::Add(const ScopeSet& o) {
  for (const auto& [k, acts] : o.scopes_) scopes_[k].insert(acts.begin(), acts.end());
}

std::vector<std::string> ScopeSet::Strings() const {
  std::vector<std::string> out;
  for (const auto& [k, acts] : scopes_) out.push_back(Scope{k.first, k.second, acts}.String());
  return out;
}

// --- tokens ----------------------------------------------------------------------------------

namespace {

constexpr std::chrono::seconds kMinimumTokenLifetime{60};

// RFC 3339 ("2024-01-02T03:04:05.123Z", "+01:00" offsets) to a time point.
std::optional<std::chrono::system_clock::time_point> ParseRfc3339(const std::string& s) {
  int y, mo, d, h, mi, sec;
  int n = 0;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6) {
    return std::nullopt;
  }
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  time_t t = timegm(&tm);
  size_t i = static_cast<size_t>(n);
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
  }
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    int oh = 0, om = 0;
    if (std::sscanf(s.c_str() + i + 1, "%2d:%2d", &oh, &om) != 2) return std::nullopt;
    long off = (oh * 60L + om) * 60L;
    t -= s[i] == '+' ? off : -off;
  } else if (i >= s.size() || (s[i] != 'Z' && s[i] != 'z')) {
    return std::nullopt;
  }
  return std::chrono::system_clock::from_time_t(t);
}

std::string JoinScopes(const ScopeSet& s, std::string_view sep) {
  std::string out;
  for (const auto& x : s.Strings()) {
    if (!out.empty()) out += sep;
    out += x;
  }
  return out;
}

std::string AddQuery(const std::string& url, const std::string& query) {
  if (query.empty()) return url;
  return url + (url.find('?') == std::string::npos ? "?" : "&") + query;
}

}  // namespace

Result<Token> ParseTokenResponse(std::string_view body, std::chrono::system_clock::time_point now) {
  nlohmann::json doc = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return InvalidArgument("unable to decode token response: not a JSON object");
  }
  auto str = [&](const char* k) -> std::string {
    auto it = doc.find(k);
    return it != doc.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  Token t;
  t.token = str("access_token");
  if (t.token.empty()) t.token = str("token");
  if (t.token.empty()) {
    return InvalidArgument("authorization server did not include a token in the response");
  }
  t.refresh_token = str("refresh_token");
  std::chrono::seconds lifetime{0};
  if (auto it = doc.find("expires_in"); it != doc.end() && it->is_number()) {
    double v = it->get<double>();
    if (v > 0 && v < 1e9) lifetime = std::chrono::seconds(static_cast<int64_t>(v));
  }
  if (lifetime < kMinimumTokenLifetime) lifetime = kMinimumTokenLifetime;
  auto issued = now;
  if (auto s = str("issued_at"); !s.empty()) {
    if (auto p = ParseRfc3339(s)) issued = *p;
  }
  t.expires = issued + lifetime;
  return t;
}

namespace {

Result<Token> TokenFromResponse(const Response& resp, std::string_view how) {
  if (!resp.ok()) {
    return ResponseError(resp).Wrap(std::string(how) + " token from " + RedactUrl(resp.url));
  }
  auto t = ParseTokenResponse(resp.body, std::chrono::system_clock::now());
  if (!t) return std::move(t).error().Wrap(std::string(how) + " token from " + RedactUrl(resp.url));
  return t;
}

Result<Token> FetchTokenGet(HttpClient& http, const TokenRequest& tr, const TlsConfig& tls) {
  std::string q;
  auto add = [&](std::string_view k, std::string_view v) {
    q += (q.empty() ? "" : "&") + std::string(k) + "=" + UrlEncode(v);
  };
  if (!tr.service.empty()) add("service", tr.service);
  for (const auto& s : tr.scopes.Strings()) add("scope", s);
  Request req;
  req.url = AddQuery(tr.realm, q);
  req.tls = tls;
  const Credentials& c = tr.credentials;
  if (!c.username.empty() && !c.password.empty()) {
    req.url = AddQuery(req.url, "account=" + UrlEncode(c.username));
    req.headers.Set("Authorization", "Basic " + Base64Encode(c.username + ":" + c.password));
  }
  if (tr.offline) {
    req.url = AddQuery(req.url, "offline_token=true&client_id=" + UrlEncode(tr.client_id));
  }
  STRATA_ASSIGN_OR_RETURN(Response resp, http.Send(req));
  return TokenFromResponse(resp, "fetch");
}

}  // namespace

Result<Token> FetchToken(HttpClient& http, const TokenRequest& tr, const TlsConfig& tls) {
  STRATA_ASSIGN_OR_RETURN(UrlParts realm, ParseUrl(tr.realm));
  if (realm.scheme != "https" && realm.scheme != "http") {
    return InvalidArgument("token realm " + RedactUrl(tr.realm) + " is not an http(s) URL");
  }
  const Credentials& c = tr.credentials;
  bool oauth = !c.identity_token.empty() || (tr.force_oauth && !c.username.empty());
  if (!oauth) return FetchTokenGet(http, tr, tls);

  std::string form;
  auto add = [&](std::string_view k, std::string_view v) {
    form += (form.empty() ? "" : "&") + std::string(k) + "=" + UrlEncode(v);
  };
  add("scope", JoinScopes(tr.scopes, " "));
  add("service", tr.service);
  add("client_id", tr.client_id);
  if (!c.identity_token.empty()) {
    add("grant_type", "refresh_token");
    add("refresh_token", c.identity_token);
  } else {
    add("grant_type", "password");
    add("username", c.username);
    add("password", c.password);
  }
  if (tr.offline) add("access_type", "offline");
  StringReader body(form);
  Request req;
  req.method = "POST";
  req.url = tr.realm;
  req.tls = tls;
  req.headers.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8");
  req.body = &body;
  req.body_size = form.size();
  STRATA_ASSIGN_OR_RETURN(Response resp, http.Send(req));
  // Token servers without the OAuth2 endpoint answer 404 (docker falls back to GET).
  if (resp.status == 404) return FetchTokenGet(http, tr, tls);
  return TokenFromResponse(resp, "oauth2");
}

// --- ping and errors -------------------------------------------------------------------------

Result<PingResult> Ping(HttpClient& http, const Endpoint& endpoint) {
  Request req;
  req.url = endpoint.BaseUrl() + "/v2/";
  req.tls = endpoint.tls;
  req.max_body_size = 64 << 10;
  STRATA_ASSIGN_OR_RETURN(Response resp, http.Send(req));
  PingResult r;
  r.status = resp.status;
  r.api_version = resp.headers.Get("Docker-Distribution-API-Version").value_or("");
  if (resp.status == 401) {
    r.challenges = ParseChallenges(resp.headers.GetAll("WWW-Authenticate"));
    return r;
  }
  if (resp.ok()) return r;
  return ResponseError(resp).Wrap("ping " + RedactUrl(req.url));
}

namespace {

std::string StatusText(int status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 409:
      return "Conflict";
    case 416:
      return "Requested Range Not Satisfiable";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "";
  }
}

ErrorCode CodeForStatus(int status) {
  if (status == 401) return ErrorCode::kUnauthenticated;
  if (status == 403) return ErrorCode::kDenied;
  if (status == 404) return ErrorCode::kNotFound;
  if (status == 409) return ErrorCode::kConflict;
  if (status == 429 || status >= 500) return ErrorCode::kUnavailable;
  if (status == 400 || status == 405 || status == 416) return ErrorCode::kInvalidArgument;
  return ErrorCode::kInternal;
}

}  // namespace

Error ResponseError(const Response& resp) {
  ErrorCode code = CodeForStatus(resp.status);
  nlohmann::json doc = nlohmann::json::parse(resp.body, nullptr, /*allow_exceptions=*/false);
  std::vector<std::string> msgs;
  if (doc.is_object()) {
    if (auto it = doc.find("errors"); it != doc.end() && it->is_array()) {
      for (const auto& e : *it) {
        if (!e.is_object()) continue;
        std::string c = e.contains("code") && e["code"].is_string() ? e["code"].get<std::string>()
                                                                    : std::string("unknown");
        for (char& ch : c) {
          ch = ch == '_' ? ' ' : static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        }
        std::string m = e.contains("message") && e["message"].is_string()
                            ? e["message"].get<std::string>()
                            : std::string();
        msgs.push_back(m.empty() ? c : c + ": " + m);
      }
    } else if (auto d = doc.find("details"); d != doc.end() && d->is_string()) {
      // Token servers (Docker Hub's) answer {"details": "..."}.
      msgs.push_back((resp.status == 401 ? "unauthorized: " : "") + d->get<std::string>());
    }
  }
  if (msgs.size() == 1) return Error{code, msgs[0]};
  if (msgs.size() > 1) {
    std::string all = "errors:\n";
    for (const auto& m : msgs) all += m + "\n";
    return Error{code, all};
  }
  if (resp.status == 401) return Error{code, "unauthorized: authentication required"};
  if (resp.status == 403) return Error{code, "denied: requested access to the resource is denied"};
  std::string text = StatusText(resp.status);
  return Error{code, "received unexpected HTTP status: " + std::to_string(resp.status) +
                         (text.empty() ? "" : " " + text)};
}

// --- Authorizer ------------------------------------------------------------------------------

Authorizer::Authorizer(HttpClient& http, AuthorizerOptions options)
    : http_(http), options_(std::move(options)) {}

void Authorizer::AddChallenges(std::string_view host, const std::vector<Challenge>& challenges) {
  const Challenge* pick = nullptr;
  for (const auto& c : challenges) {
    if (c.scheme == "bearer" && !c.Param("realm").empty()) {
      pick = &c;
      break;
    }
    if (c.scheme == "basic" && pick == nullptr) pick = &c;
  }
  if (pick == nullptr) return;
  std::lock_guard lk(mu_);
  challenges_[std::string(host)] = *pick;
}

std::string Authorizer::refresh_token() const {
  std::lock_guard lk(mu_);
  return refresh_token_;
}

void Authorizer::ClearTokens() {
  std::lock_guard lk(mu_);
  tokens_.clear();
}

Result<std::string> Authorizer::AuthorizationFor(std::string_view host, const ScopeSet& scopes,
                                                 bool refresh) {
  Challenge ch;
  std::string key;
  {
    std::lock_guard lk(mu_);
    auto it = challenges_.find(std::string(host));
    if (it == challenges_.end()) return std::string();
    ch = it->second;
    const Credentials& c = options_.credentials;
    if (ch.scheme == "basic") {
      if (c.username.empty() && c.password.empty()) return std::string();
      return "Basic " + Base64Encode(c.username + ":" + c.password);
    }
    if (!c.registry_token.empty()) return "Bearer " + c.registry_token;
    key = ch.Param("realm") + "|" + ch.Param("service") + "|" + JoinScopes(scopes, " ");
    auto t = tokens_.find(key);
    if (!refresh && t != tokens_.end() &&
        std::chrono::system_clock::now() + std::chrono::seconds(5) < t->second.expires) {
      return "Bearer " + t->second.token;
    }
  }
  TokenRequest tr;
  tr.realm = ch.Param("realm");
  tr.service = ch.Param("service");
  tr.scopes = scopes;
  tr.credentials = options_.credentials;
  tr.client_id = options_.client_id;
  tr.offline = options_.offline;
  tr.force_oauth = options_.force_oauth;
  TlsConfig tls;
  if (options_.hosts != nullptr) {
    STRATA_ASSIGN_OR_RETURN(UrlParts realm, ParseUrl(tr.realm));
    STRATA_ASSIGN_OR_RETURN(tls, options_.hosts->TlsFor(realm.HostPort()));
  }
  STRATA_ASSIGN_OR_RETURN(Token t, FetchToken(http_, tr, tls));
  std::lock_guard lk(mu_);
  if (!t.refresh_token.empty()) refresh_token_ = t.refresh_token;
  std::string header = "Bearer " + t.token;
  tokens_[key] = std::move(t);
  return header;
}

Result<Response> Authorizer::Send(Request request, const ScopeSet& scopes) {
  STRATA_ASSIGN_OR_RETURN(UrlParts url, ParseUrl(request.url));
  std::string host = url.HostPort();
  ScopeSet want = scopes;
  bool retried = false;
  for (;;) {
    STRATA_ASSIGN_OR_RETURN(std::string auth, AuthorizationFor(host, want, retried));
    if (!auth.empty()) request.headers.Set("Authorization", auth);
    STRATA_ASSIGN_OR_RETURN(Response resp, http_.Send(request));
    if (resp.status != 401 || retried) return resp;
    // Basic credentials that were just refused will not be accepted a second time.
    if (auth.starts_with("Basic ")) return resp;
    auto challenges = ParseChallenges(resp.headers.GetAll("WWW-Authenticate"));
    AddChallenges(host, challenges);
    bool usable = false;
    for (const auto& c : challenges) {
      if (c.scheme == "bearer" && !c.Param("realm").empty()) {
        usable = true;
        // The registry says what it wants for this request; ask for that too.
        std::string scope_param = c.Param("scope");
        std::string_view sc = scope_param;
        while (!sc.empty()) {
          auto sp = sc.find(' ');
          if (auto s = ParseScope(sc.substr(0, sp))) want.Add(*s);
          if (sp == std::string_view::npos) break;
          sc.remove_prefix(sp + 1);
        }
        break;
      }
      if (c.scheme == "basic") {
        usable = !options_.credentials.username.empty() || !options_.credentials.password.empty();
      }
    }
    if (!usable) return resp;
    if (request.body != nullptr) {
      if (!request.rewind_body) return resp;
      STRATA_TRY_CTX(request.rewind_body(), "rewind request body");
    }
    retried = true;
  }
}

}  // namespace strata::registry
