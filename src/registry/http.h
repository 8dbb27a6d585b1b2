// HTTP transport for registry traffic: one libcurl-based client shared by every request of a
// process (connections, DNS and TLS sessions are reused), with streaming bodies both ways.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/io.h"
#include "util/result.h"

namespace strata::registry {

// Header fields in arrival order; names compare case-insensitively, a name may repeat
// (WWW-Authenticate can carry one challenge per field).
class Headers {
 public:
  void Add(std::string name, std::string value);
  // Replaces every field called `name` by one.
  void Set(std::string name, std::string value);
  void Remove(std::string_view name);
  std::optional<std::string> Get(std::string_view name) const;  // the first one
  std::vector<std::string> GetAll(std::string_view name) const;
  bool Has(std::string_view name) const { return Get(name).has_value(); }
  const std::vector<std::pair<std::string, std::string>>& fields() const { return fields_; }

 private:
  std::vector<std::pair<std::string, std::string>> fields_;
};

bool EqualsIgnoreCase(std::string_view a, std::string_view b);

// How to trust a TLS server and which client certificate to show (docker's certs.d layout).
struct TlsConfig {
  // Off only for registries listed as insecure, as dockerd does for their https attempt.
  bool verify = true;
  // PEM files trusted in addition to the system CA store.
  std::vector<std::string> ca_files;
  // Client certificate and key (PEM), both or neither.
  std::string client_cert;
  std::string client_key;
  bool operator==(const TlsConfig&) const = default;
};

struct ByteRange {
  uint64_t start = 0;
  std::optional<uint64_t> end;  // inclusive; open-ended when absent
};

struct Response;

struct Request {
  std::string method = "GET";
  std::string url;
  Headers headers;
  // Optional request body (borrowed). Its size when known; otherwise it is sent chunked
  // (HTTP/1.1) or as a stream of DATA frames (HTTP/2).
  Reader* body = nullptr;
  std::optional<uint64_t> body_size;
  // Rewinds `body` so the request can be sent again (e.g. after a 401); without it a
  // request that has a body is never retried.
  std::function<Status()> rewind_body;
  std::optional<ByteRange> range;
  // Follow 3xx (GET/HEAD of blobs: registries redirect to storage). Authorization is
  // dropped when a redirect leaves the original scheme://host:port.
  bool follow_redirects = false;
  // Where a 2xx body goes as it arrives. Without a sink the body is buffered in
  // Response::body up to max_body_size (larger is an error). Non-2xx bodies are always
  // buffered (capped) so errors can be read.
  Writer* sink = nullptr;
  // Called with the final response's status and headers just before its first 2xx body
  // byte goes to `sink` (a resumed blob needs to know whether the server sent 206 or 200).
  std::function<Status(const Response&)> on_body_start;
  size_t max_body_size = 4 << 20;
  TlsConfig tls;
  // Overrides the client's total timeout for this request when non-zero.
  std::chrono::milliseconds timeout{0};
};

struct Response {
  int status = 0;
  Headers headers;
  std::string body;       // buffered body (see Request::sink)
  std::string url;        // the URL that answered, after redirects
  long http_version = 0;  // 11, 20
  uint64_t body_bytes = 0;
  // Connections opened for this response (0: an existing one was reused).
  long new_connections = 0;
  bool ok() const { return status >= 200 && status < 300; }
};

struct HttpOptions {
  std::chrono::milliseconds connect_timeout{30'000};
  // 0: no limit on a whole transfer (blobs can be large); stalls are caught below.
  std::chrono::milliseconds timeout{0};
  // A transfer slower than low_speed_limit bytes/s for low_speed_time is aborted.
  long low_speed_limit = 1;
  std::chrono::seconds low_speed_time{30};
  int max_redirects = 10;
  std::string user_agent = "strata/0.1";
  // Prefer HTTP/2 over TLS when the server offers it (ALPN); HTTP/1.1 otherwise.
  bool http2 = true;
};

// A client for many requests from many threads. Send blocks the calling thread; call it
// from several threads at once for parallel transfers. Connections, DNS answers and TLS
// sessions are shared between all of them.
class HttpClient {
 public:
  explicit HttpClient(HttpOptions options = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends the request. Transport failures are errors (kUnavailable for connection, DNS
  // and stall problems, kFailedPrecondition for TLS verification); any HTTP status,
  // including 4xx/5xx, is a Response.
  Result<Response> Send(const Request& request);

  const HttpOptions& options() const { return options_; }

 private:
  struct Impl;
  HttpOptions options_;
  std::unique_ptr<Impl> impl_;
};

// The URL without userinfo and query (signed storage URLs carry credentials there), for
// messages and logs.
std::string RedactUrl(std::string_view url);

// Parts of an absolute URL, lowercased scheme and host; port empty when not given.
struct UrlParts {
  std::string scheme;
  std::string host;  // without brackets for IPv6
  std::string port;
  std::string path_and_query;
  // host[:port] as written in a registry name ("[::1]:5000").
  std::string HostPort() const;
  // scheme://host:port with the scheme's default port filled in: the origin that a
  // redirect must keep for Authorization to follow it.
  std::string Origin() const;
};
Result<UrlParts> ParseUrl(std::string_view url);
// Resolves a (possibly relative) Location against the URL it came from.
Result<std::string> ResolveUrl(std::string_view base, std::string_view ref);

// application/x-www-form-urlencoded escaping of one value.
std::string UrlEncode(std::string_view s);

std::string Base64Encode(std::string_view data);
Result<std::string> Base64Decode(std::string_view data);

}  // namespace strata::registry
