// ADD <http(s) URL>: BuildKit's HTTP source. The file is streamed into a scratch directory
// of its own (hashed on the way), named and dated as BuildKit names and dates it, so the
// builder copies it into the rootfs with build::Copy like any other source.
//
// What docker 20.10's BuildKit does (DOCKER_BUILDKIT=1 docker build, served by python3
// http.server on loopback; recorded 2026-12):
// - the file is named after the last element of the URL's path (query and trailing '/'
//   ignored): `.../hello.txt?x=1` → hello.txt, `.../dir/` → dir, `http://host/` →
//   __unnamed__; dest rules are COPY's (`/a/` → /a/hello.txt, `/b` → the file /b, an
//   existing directory → inside it, a relative dest is under WORKDIR);
// - mode 0600, owner 0:0 (--chown applies, to the file and the directories it creates);
//   mtime from Last-Modified, the epoch (0) when the response has none;
// - an archive (.tar.gz) is never extracted;
// - the cache key is the content digest (and name): an unchanged file hits the cache even
//   when its Last-Modified moved, a changed one misses;
// - errors: `failed to load cache key: invalid response status 404`, `failed to load cache
//   key: Get "<url>": dial tcp ...: connection refused`; exit code 1.
// Not seen on 20.10 (its frontend rejects `--checksum` and ignores `--chmod` for URLs); from
// BuildKit's current source instead: --checksum mismatch is `digest mismatch for <url>: <got>
// (expected: <want>)`, and --chmod sets the file's mode.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "digest/digest.h"
#include "registry/http.h"
#include "util/fs.h"
#include "util/result.h"

namespace strata::engine {

// "http://…" or "https://…": ADD fetches it instead of reading the context.
bool IsHttpSource(std::string_view src);

// dockerfile2llb's file name for a URL: path.Base of the (percent-decoded) path, or
// "__unnamed__" when the path has no last element.
std::string HttpSourceFileName(std::string_view url);

// An HTTP-date (RFC 1123, RFC 850 or asctime, as Go's http.ParseTime) as unix seconds.
std::optional<int64_t> ParseHttpDate(std::string_view s);

// One fetched URL: dir() holds the single file name().
struct HttpDownload {
  TempDir dir;
  std::string name;
  digest::Digest digest;
  uint64_t size = 0;
  std::string path() const { return dir.path() + "/" + name; }
};

// GETs url (redirects followed, proxies from the environment) into a new directory under
// tmp_dir: the body streams to disk through a sha256, never whole in memory. The file gets
// mode 0600 and Last-Modified as mtime. Errors carry BuildKit's wording, without the
// "failed to load cache key" the caller adds. `stop`, when set, is asked as the body arrives:
// true ends the transfer with a kCancelled error (Ctrl-C, or another stage failed).
Result<HttpDownload> FetchHttpSource(registry::HttpClient& client, const std::string& url,
                                     const std::string& tmp_dir,
                                     std::function<bool()> stop = nullptr);

}  // namespace strata::engine
