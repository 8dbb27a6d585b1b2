#include "engine/http_source.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <ctime>

#include "digest/hasher.h"
#include "util/io.h"
#include "util/url_escape.h"

namespace strata::engine {

bool IsHttpSource(std::string_view src) {
  return src.starts_with("http://") || src.starts_with("https://");
}

namespace {

// Ends a transfer between two chunks of the body once the build stops.
class StoppableWriter : public Writer {
 public:
  StoppableWriter(Writer& w, const std::function<bool()>& stop) : w_(w), stop_(stop) {}
  using Writer::Write;
  Status Write(const void* buf, size_t n) override {
    if (stop_ && stop_()) return Cancelled("build cancelled");
    return w_.Write(buf, n);
  }

 private:
  Writer& w_;
  const std::function<bool()>& stop_;
};

}  // namespace

std::string HttpSourceFileName(std::string_view url) {
  constexpr const char* kUnnamed = "__unnamed__";
  size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return kUnnamed;
  std::string_view rest = url.substr(scheme + 3);
  // The path starts after the authority and ends at the query or fragment.
  size_t path_at = rest.find_first_of("/?#");
  if (path_at == std::string_view::npos || rest[path_at] != '/') return kUnnamed;
  std::string_view raw = rest.substr(path_at);
  raw = raw.substr(0, raw.find_first_of("?#"));
  auto path = PathUnescape(raw);
  if (!path) return kUnnamed;
  // path.Base: trailing slashes dropped, then the last element.
  while (!path->empty() && path->back() == '/') path->pop_back();
  if (path->empty()) return kUnnamed;
  std::string base = path->substr(path->rfind('/') + 1);
  // ".." and NUL could not name a file in the scratch directory.
  if (base.empty() || base == "." || base == ".." || base.find('\0') != std::string::npos) {
    return kUnnamed;
  }
  return base;
}

std::optional<int64_t> ParseHttpDate(std::string_view s) {
  std::string text(s);
  // RFC 1123 (what servers send), RFC 850, then asctime: Go's http.TimeFormat and
  // http.ParseTime's fallbacks.
  for (const char* fmt :
       {"%a, %d %b %Y %H:%M:%S GMT", "%A, %d-%b-%y %H:%M:%S GMT", "%a %b %e %H:%M:%S %Y"}) {
    std::tm tm{};
    const char* end = ::strptime(text.c_str(), fmt, &tm);
    if (end != nullptr && *end == '\0') return static_cast<int64_t>(::timegm(&tm));
  }
  return std::nullopt;
}

Result<HttpDownload> FetchHttpSource(registry::HttpClient& client, const std::string& url,
                                     const std::string& tmp_dir, std::function<bool()> stop) {
  HttpDownload d;
  d.name = HttpSourceFileName(url);
  STRATA_ASSIGN_OR_RETURN(d.dir, TempDir::Create(tmp_dir, "http-"));
  UniqueFd fd(::open(d.path().c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!fd) return ErrnoError("create " + d.path());
  FdWriter file(fd.get());
  digest::HashingWriter hashed(file);
  StoppableWriter sink(hashed, stop);

  registry::Request req;
  req.url = url;
  req.follow_redirects = true;  // as Go's http.Client
  req.sink = &sink;
  auto resp = client.Send(req);
  if (!resp) {
    // Go's url.Error: `Get "<url>": <cause>`; the client's own prefix is "GET <url>: ".
    if (resp.error().code == ErrorCode::kCancelled) return resp.error();
    std::string cause = resp.error().message;
    std::string prefix = "GET " + registry::RedactUrl(url) + ": ";
    if (cause.starts_with(prefix)) cause = cause.substr(prefix.size());
    return Error{resp.error().code, "Get \"" + url + "\": " + cause};
  }
  // Go's client follows redirects and BuildKit accepts any status below 400.
  if (resp->status < 200 || resp->status >= 400) {
    ErrorCode code = resp->status == 404 ? ErrorCode::kNotFound : ErrorCode::kUnavailable;
    return Error{code, "invalid response status " + std::to_string(resp->status)};
  }
  if (::fsync(fd.get()) != 0) return ErrnoError("write " + d.path());
  d.digest = hashed.Sum();
  d.size = hashed.size();
  // BuildKit dates the file by Last-Modified, else the epoch; the mode stays 0600 whatever
  // the umask did to open's.
  int64_t mtime = 0;
  if (auto lm = resp->headers.Get("Last-Modified")) mtime = ParseHttpDate(*lm).value_or(0);
  timespec ts[2] = {{mtime, 0}, {mtime, 0}};
  if (::fchmod(fd.get(), 0600) != 0 || ::futimens(fd.get(), ts) != 0) {
    return ErrnoError("set times of " + d.path());
  }
  return d;
}

}  // namespace strata::engine
