#include "registry/http.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <map>
#include <mutex>

#include "registry/curl_lib.h"
#include "util/ascii.h"
#include "util/fs.h"

namespace strata::registry {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

void Headers::Add(std::string name, std::string value) {
  fields_.emplace_back(std::move(name), std::move(value));
}

void Headers::Set(std::string name, std::string value) {
  Remove(name);
  Add(std::move(name), std::move(value));
}

void Headers::Remove(std::string_view name) {
  std::erase_if(fields_, [&](const auto& f) { return EqualsIgnoreCase(f.first, name); });
}

std::optional<std::string> Headers::Get(std::string_view name) const {
  for (const auto& [k, v] : fields_) {
    if (EqualsIgnoreCase(k, name)) return v;
  }
  return std::nullopt;
}

std::vector<std::string> Headers::GetAll(std::string_view name) const {
  std::vector<std::string> out;
  for (const auto& [k, v] : fields_) {
    if (EqualsIgnoreCase(k, name)) out.push_back(v);
  }
  return out;
}

namespace {

struct CurlUrl {
  CURLU* u = Curl().url();
  ~CurlUrl() { Curl().url_cleanup(u); }
  std::optional<std::string> Get(CURLUPart part, unsigned flags = 0) const {
    char* s = nullptr;
    if (Curl().url_get(u, part, &s, flags) != CURLUE_OK || s == nullptr) return std::nullopt;
    std::string out(s);
    Curl().free(s);
    return out;
  }
};

}  // namespace

std::string UrlParts::HostPort() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return port.empty() ? h : h + ":" + port;
}

std::string UrlParts::Origin() const {
  std::string p = port;
  if (p.empty()) p = scheme == "https" ? "443" : scheme == "http" ? "80" : "";
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return scheme + "://" + h + ":" + p;
}

Result<UrlParts> ParseUrl(std::string_view url) {
  CurlUrl cu;
  if (Curl().url_set(cu.u, CURLUPART_URL, std::string(url).c_str(), 0) != CURLUE_OK) {
    return InvalidArgument("invalid URL " + RedactUrl(url));
  }
  UrlParts p;
  p.scheme = AsciiLower(cu.Get(CURLUPART_SCHEME).value_or(""));
  p.host = AsciiLower(cu.Get(CURLUPART_HOST).value_or(""));
  if (p.host.size() >= 2 && p.host.front() == '[' && p.host.back() == ']') {
    p.host = p.host.substr(1, p.host.size() - 2);
  }
  p.port = cu.Get(CURLUPART_PORT).value_or("");
  p.path_and_query = cu.Get(CURLUPART_PATH).value_or("/");
  if (auto q = cu.Get(CURLUPART_QUERY)) p.path_and_query += "?" + *q;
  if (p.host.empty()) return InvalidArgument("URL without host: " + RedactUrl(url));
  return p;
}

Result<std::string> ResolveUrl(std::string_view base, std::string_view ref) {
  CurlUrl cu;
  if (Curl().url_set(cu.u, CURLUPART_URL, std::string(base).c_str(), 0) != CURLUE_OK ||
      Curl().url_set(cu.u, CURLUPART_URL, std::string(ref).c_str(), CURLU_NON_SUPPORT_SCHEME) !=
          CURLUE_OK) {
    return InvalidArgument("invalid redirect location " + RedactUrl(ref));
  }
  auto out = cu.Get(CURLUPART_URL);
  if (!out) return InvalidArgument("invalid redirect location " + RedactUrl(ref));
  return *out;
}

std::string RedactUrl(std::string_view url) {
  std::string s(url);
  if (auto q = s.find_first_of("?#"); q != std::string::npos) s.resize(q);
  auto scheme_end = s.find("://");
  size_t host_start = scheme_end == std::string::npos ? 0 : scheme_end + 3;
  size_t path_start = s.find('/', host_start);
  size_t at = s.rfind('@', path_start == std::string::npos ? s.size() : path_start);
  if (at != std::string::npos && at >= host_start) s.erase(host_start, at + 1 - host_start);
  return s;
}

std::string UrlEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

static constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string Base64Encode(std::string_view data) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  auto b = [&](size_t k) { return static_cast<unsigned char>(data[k]); };
  for (; i + 3 <= data.size(); i += 3) {
    uint32_t v = (b(i) << 16) | (b(i + 1) << 8) | b(i + 2);
    for (int s = 18; s >= 0; s -= 6) out += kB64[(v >> s) & 63];
  }
  if (size_t rest = data.size() - i; rest > 0) {
    uint32_t v = b(i) << 16;
    if (rest == 2) v |= b(i + 1) << 8;
    out += kB64[(v >> 18) & 63];
    out += kB64[(v >> 12) & 63];
    out += rest == 2 ? kB64[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

Result<std::string> Base64Decode(std::string_view data) {
  // Accepts standard and URL alphabets, with or without padding (docker's config files
  // hold standard base64 with padding; being lenient costs nothing).
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  size_t pad = 0;
  for (char c : data) {
    int v;
    if (c >= 'A' && c <= 'Z') {
      v = c - 'A';
    } else if (c >= 'a' && c <= 'z') {
      v = c - 'a' + 26;
    } else if (c >= '0' && c <= '9') {
      v = c - '0' + 52;
    } else if (c == '+' || c == '-') {
      v = 62;
    } else if (c == '/' || c == '_') {
      v = 63;
    } else if (c == '=') {
      ++pad;
      continue;
    } else {
      return InvalidArgument("illegal base64 data");
    }
    if (pad > 0) return InvalidArgument("illegal base64 data");
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  if (pad > 2 || bits >= 6) return InvalidArgument("illegal base64 data");
  return out;
}

// ---------------------------------------------------------------------------------------------

namespace {

std::once_flag g_curl_init;

constexpr size_t kErrorBodyCap = 64 << 10;

struct Transfer {
  const Request* req = nullptr;
  Response* resp = nullptr;
  std::optional<Error> error;  // from a sink, a body reader or a size cap
  bool body_started = false;   // on_body_start called for the current response
};

size_t HeaderCallback(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view line(data, size * n);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  if (line.starts_with("HTTP/")) {
    // A new response (after 100 Continue, or the next hop): start over.
    t->resp->headers = Headers();
    t->resp->body.clear();
    t->body_started = false;
    auto sp = line.find(' ');
    t->resp->status =
        sp == std::string_view::npos ? 0 : std::atoi(std::string(line.substr(sp + 1, 3)).c_str());
    return size * n;
  }
  auto colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) return size * n;
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  t->resp->headers.Add(std::string(line.substr(0, colon)), std::string(value));
  return size * n;
}

size_t WriteCallback(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t len = size * n;
  int status = t->resp->status;
  bool success = status >= 200 && status < 300;
  if (success && t->req->sink != nullptr) {
    if (!t->body_started) {
      t->body_started = true;
      if (t->req->on_body_start) {
        if (auto st = t->req->on_body_start(*t->resp); !st) {
          t->error = std::move(st).error();
          return 0;
        }
      }
    }
    if (auto st = t->req->sink->Write(data, len); !st) {
      t->error = std::move(st).error();
      return 0;
    }
  } else if (success) {
    if (t->resp->body.size() + len > t->req->max_body_size) {
      t->error = InvalidArgument("response body larger than " +
                                 std::to_string(t->req->max_body_size) + " bytes");
      return 0;
    }
    t->resp->body.append(data, len);
  } else if (t->resp->body.size() < kErrorBodyCap) {
    t->resp->body.append(data, std::min(len, kErrorBodyCap - t->resp->body.size()));
  }
  t->resp->body_bytes += len;
  return len;
}

size_t ReadCallback(char* buf, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  if (t->req->body == nullptr) return 0;
  auto r = t->req->body->Read(buf, size * n);
  if (!r) {
    t->error = std::move(r).error();
    return CURL_READFUNC_ABORT;
  }
  return *r;
}

Error CurlError(const Request& req, CURLcode code, const char* errbuf) {
  std::string what = req.method + " " + RedactUrl(req.url) + ": ";
  std::string detail = errbuf[0] != '\0' ? errbuf : Curl().easy_strerror(code);
  switch (code) {
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
      return FailedPrecondition(what + "tls: " + detail);
    case CURLE_SSL_CONNECT_ERROR:
      return Unavailable(what + "tls: " + detail);
    case CURLE_OPERATION_TIMEDOUT:
      return Unavailable(what + "timeout: " + detail);
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
      return InvalidArgument(what + detail);
    default:
      return Unavailable(what + detail);
  }
}

bool IsLoopbackHost(const std::string& host) {
  return host == "localhost" || host.ends_with(".localhost") || host == "::1" ||
         host.starts_with("127.");
}

bool IsRedirect(int status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

}  // namespace

struct HttpClient::Impl {
  CURLSH* share = nullptr;
  std::array<std::mutex, CURL_LOCK_DATA_LAST> locks;
  std::mutex pool_mu;
  std::vector<CURL*> pool;
  std::mutex ca_mu;
  std::map<std::vector<std::string>, std::string> ca_blobs;

  static void Lock(CURL*, curl_lock_data d, curl_lock_access, void* user) {
    static_cast<Impl*>(user)->locks[d].lock();
  }
  static void Unlock(CURL*, curl_lock_data d, void* user) {
    static_cast<Impl*>(user)->locks[d].unlock();
  }

  Impl() {
    std::call_once(g_curl_init, [] { Curl().global_init(CURL_GLOBAL_DEFAULT); });
    share = Curl().share_init();
    Curl().share_setopt(share, CURLSHOPT_LOCKFUNC, &Impl::Lock);
    Curl().share_setopt(share, CURLSHOPT_UNLOCKFUNC, &Impl::Unlock);
    Curl().share_setopt(share, CURLSHOPT_USERDATA, this);
    Curl().share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    Curl().share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    Curl().share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
  }
  ~Impl() {
    for (CURL* h : pool) Curl().easy_cleanup(h);
    Curl().share_cleanup(share);
  }

  CURL* Acquire() {
    {
      std::lock_guard lk(pool_mu);
      if (!pool.empty()) {
        CURL* h = pool.back();
        pool.pop_back();
        Curl().easy_reset(h);
        return h;
      }
    }
    return Curl().easy_init();
  }
  void Release(CURL* h) {
    std::lock_guard lk(pool_mu);
    pool.push_back(h);
  }

  // The system CA bundle followed by the extra CAs: libcurl's CAINFO_BLOB replaces the
  // default bundle, and docker trusts certs.d CAs in addition to the system pool.
  Result<std::string> CaBlob(const std::vector<std::string>& files) {
    std::lock_guard lk(ca_mu);
    if (auto it = ca_blobs.find(files); it != ca_blobs.end()) return it->second;
    std::string blob;
    const curl_version_info_data* info = Curl().version_info(CURLVERSION_NOW);
    if (info->cainfo != nullptr) {
      if (auto sys = ReadFile(info->cainfo, 16 << 20)) blob = *sys + "\n";
    }
    for (const auto& f : files) {
      STRATA_ASSIGN_OR_RETURN(std::string pem, ReadFile(f, 4 << 20));
      blob += pem + "\n";
    }
    ca_blobs[files] = blob;
    return blob;
  }
};

HttpClient::HttpClient(HttpOptions options)
    : options_(std::move(options)), impl_(std::make_unique<Impl>()) {}

HttpClient::~HttpClient() = default;

namespace {

struct SList {
  curl_slist* l = nullptr;
  ~SList() { Curl().slist_free_all(l); }
  void Add(const std::string& s) { l = Curl().slist_append(l, s.c_str()); }
};

}  // namespace

Result<Response> HttpClient::Send(const Request& request) {
  Request req = request;  // the hop being sent; changes on redirects
  std::string origin;
  if (req.follow_redirects) {
    STRATA_ASSIGN_OR_RETURN(UrlParts first, ParseUrl(req.url));
    origin = first.Origin();
  }
  for (int hop = 0;; ++hop) {
    Response resp;
    Transfer t{&req, &resp, std::nullopt};
    CURL* h = impl_->Acquire();
    if (h == nullptr) return Internal("curl_easy_init failed");
    char errbuf[CURL_ERROR_SIZE] = {0};
    SList headers;
    std::string ca_blob;

    Curl().easy_setopt(h, CURLOPT_URL, req.url.c_str());
    Curl().easy_setopt(h, CURLOPT_SHARE, impl_->share);
    Curl().easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    Curl().easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    Curl().easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    // Loopback never goes through a proxy from the environment (Go's ProxyFromEnvironment,
    // hence docker, skips it too); elsewhere libcurl's http(s)_proxy/no_proxy handling applies.
    if (auto parts = ParseUrl(req.url); parts && IsLoopbackHost(parts->host)) {
      Curl().easy_setopt(h, CURLOPT_PROXY, "");
    }
    Curl().easy_setopt(h, CURLOPT_HTTP_VERSION,
                       options_.http2 ? CURL_HTTP_VERSION_2TLS : CURL_HTTP_VERSION_1_1);
    Curl().easy_setopt(h, CURLOPT_USERAGENT, options_.user_agent.c_str());
    Curl().easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                       static_cast<long>(options_.connect_timeout.count()));
    auto timeout = req.timeout.count() != 0 ? req.timeout : options_.timeout;
    Curl().easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
    Curl().easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, options_.low_speed_limit);
    Curl().easy_setopt(h, CURLOPT_LOW_SPEED_TIME,
                       static_cast<long>(options_.low_speed_time.count()));
    Curl().easy_setopt(h, CURLOPT_HEADERFUNCTION, &HeaderCallback);
    Curl().easy_setopt(h, CURLOPT_HEADERDATA, &t);
    Curl().easy_setopt(h, CURLOPT_WRITEFUNCTION, &WriteCallback);
    Curl().easy_setopt(h, CURLOPT_WRITEDATA, &t);
    // Redirects are followed here, not by libcurl, so that Authorization is dropped when
    // the origin changes whatever the libcurl version does.
    Curl().easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);

    bool has_body = req.body != nullptr || (req.body_size && *req.body_size > 0);
    if (req.method == "HEAD") {
      Curl().easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (req.method == "GET") {
      Curl().easy_setopt(h, CURLOPT_HTTPGET, 1L);
    } else if (has_body || req.method == "POST" || req.method == "PUT" || req.method == "PATCH") {
      // UPLOAD streams the body from the read callback; CUSTOMREQUEST names the method.
      Curl().easy_setopt(h, CURLOPT_UPLOAD, 1L);
      Curl().easy_setopt(h, CURLOPT_READFUNCTION, &ReadCallback);
      Curl().easy_setopt(h, CURLOPT_READDATA, &t);
      curl_off_t size = req.body == nullptr ? 0
                        : req.body_size     ? static_cast<curl_off_t>(*req.body_size)
                                            : -1;
      Curl().easy_setopt(h, CURLOPT_INFILESIZE_LARGE, size);
      Curl().easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method.c_str());
      headers.Add("Expect:");  // no 100-continue round trip
    } else {
      Curl().easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method.c_str());
    }
    std::string range;
    if (req.range) {
      range = std::to_string(req.range->start) + "-" +
              (req.range->end ? std::to_string(*req.range->end) : "");
      Curl().easy_setopt(h, CURLOPT_RANGE, range.c_str());
    }
    for (const auto& [k, v] : req.headers.fields()) headers.Add(k + ": " + v);
    if (headers.l != nullptr) Curl().easy_setopt(h, CURLOPT_HTTPHEADER, headers.l);

    Curl().easy_setopt(h, CURLOPT_SSL_VERIFYPEER, req.tls.verify ? 1L : 0L);
    Curl().easy_setopt(h, CURLOPT_SSL_VERIFYHOST, req.tls.verify ? 2L : 0L);
    if (!req.tls.ca_files.empty()) {
      auto blob = impl_->CaBlob(req.tls.ca_files);
      if (!blob) {
        impl_->Release(h);
        return std::move(blob).error().Wrap("load CA certificates");
      }
      ca_blob = std::move(*blob);
      curl_blob b{ca_blob.data(), ca_blob.size(), CURL_BLOB_NOCOPY};
      Curl().easy_setopt(h, CURLOPT_CAINFO_BLOB, &b);
    }
    if (!req.tls.client_cert.empty()) {
      Curl().easy_setopt(h, CURLOPT_SSLCERT, req.tls.client_cert.c_str());
      Curl().easy_setopt(h, CURLOPT_SSLKEY, req.tls.client_key.c_str());
    }

    CURLcode rc = Curl().easy_perform(h);
    long status = 0, version = 0;
    char* eff = nullptr;
    Curl().easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    Curl().easy_getinfo(h, CURLINFO_HTTP_VERSION, &version);
    Curl().easy_getinfo(h, CURLINFO_EFFECTIVE_URL, &eff);
    Curl().easy_getinfo(h, CURLINFO_NUM_CONNECTS, &resp.new_connections);
    resp.url = eff != nullptr ? eff : req.url;
    // The easy handle must not keep pointers into this frame.
    Curl().easy_setopt(h, CURLOPT_ERRORBUFFER, nullptr);
    Curl().easy_setopt(h, CURLOPT_HTTPHEADER, nullptr);
    impl_->Release(h);

    if (t.error) return t.error->Wrap(req.method + " " + RedactUrl(req.url));
    if (rc != CURLE_OK) return CurlError(req, rc, errbuf);
    resp.status = static_cast<int>(status);
    resp.http_version = version == CURL_HTTP_VERSION_2_0   ? 20
                        : version == CURL_HTTP_VERSION_1_0 ? 10
                                                           : 11;

    if (!req.follow_redirects || !IsRedirect(resp.status) || req.body != nullptr) return resp;
    auto location = resp.headers.Get("Location");
    if (!location) return resp;
    if (hop >= options_.max_redirects) {
      return Unavailable(req.method + " " + RedactUrl(request.url) + ": stopped after " +
                         std::to_string(options_.max_redirects) + " redirects");
    }
    STRATA_ASSIGN_OR_RETURN(std::string next, ResolveUrl(req.url, *location));
    STRATA_ASSIGN_OR_RETURN(UrlParts np, ParseUrl(next));
    if (np.scheme != "http" && np.scheme != "https") {
      return InvalidArgument("redirect to unsupported URL " + RedactUrl(next));
    }
    if (np.Origin() != origin) {
      // Storage backends get their own credentials in the URL; the registry's must not
      // leak to them. The TLS settings of the registry do not apply either.
      req.headers.Remove("Authorization");
      req.tls = TlsConfig{};
    }
    if (resp.status == 303) req.method = "GET";
    req.url = std::move(next);
  }
}

}  // namespace strata::registry
