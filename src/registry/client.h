// The distribution client for one repository: resolves references to manifests (content
// negotiation, digest checks, platform selection) and streams blobs with retries and Range
// resume, trying mirrors before the origin; and pushes blobs and manifests (HEAD, cross-repo
// mount, monolithic and chunked uploads).
//
// Walk-through: Repository::Open(reference domain + path, hosts, credentials) prepares the
// endpoints. Resolve(reference, platform) returns the manifest that the reference names for
// that platform (following an index), with the digest the caller records as RepoDigest.
// FetchBlob/OpenBlob stream a blob to the caller; the bytes are checked against the
// descriptor's size as they arrive and against its digest at the end, so a caller that
// wrote them somewhere must still drop what it wrote when the fetch fails.
//
// Push (Open with options.push): StatBlob says whether the repository has a blob; MountBlob
// asks it to link one from another repository of the same registry; PushBlob uploads a blob
// whose digest is known; StartUpload + UploadChunk + FinishUpload upload one whose digest is
// known only at the end (compressed while it is sent); PutManifest comes last, once every
// blob it names is there. Push requests go to the origin only, never to mirrors.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "digest/digest.h"
#include "image/descriptor.h"
#include "image/manifest.h"
#include "image/platform.h"
#include "image/reference.h"
#include "registry/auth.h"
#include "registry/hosts.h"
#include "registry/http.h"
#include "util/io.h"
#include "util/result.h"

namespace strata::registry {

// Manifests and indexes larger than this are refused (as containerd and moby do).
inline constexpr size_t kMaxManifestSize = 4 << 20;

// The Accept header of a manifest request: OCI index and manifest, Docker list and schema 2.
std::string ManifestAcceptHeader();

struct RetryPolicy {
  int max_attempts = 5;
  std::chrono::milliseconds initial_backoff{250};
  std::chrono::milliseconds max_backoff{10'000};
};

struct RepositoryOptions {
  Credentials credentials;
  RetryPolicy retry;
  // Ask for pull and push access (tokens with the push action).
  bool push = false;
};

// An upload session: the URL its next request goes to (the registry's last Location, made
// absolute) and how many bytes the registry holds.
struct Upload {
  std::string location;
  uint64_t offset = 0;
};

struct PushBlobOptions {
  // Blobs up to this size go as one POST + PUT with the body (monolithic upload).
  uint64_t monolithic_max = 1 << 20;
  // Larger ones as PATCH requests of this many bytes each; 0: the whole blob in one PATCH.
  uint64_t chunk_size = 0;
};

// Opens a blob's bytes from an offset (for resuming an upload after a failure).
using BlobOpener = std::function<Result<std::unique_ptr<Reader>>(uint64_t offset)>;

// A manifest or index document as the registry served it.
struct FetchedManifest {
  std::string media_type;
  std::string bytes;
  digest::Digest digest;  // sha256 of bytes, checked against what the registry said
};

// What a reference resolves to for one platform.
struct Resolved {
  // The digest of what the reference names (the index for a multi-platform image): what
  // docker prints as "Digest:" and records as RepoDigest.
  digest::Digest digest;
  std::optional<FetchedManifest> index;  // when the reference named an index
  FetchedManifest manifest_doc;
  image::Manifest manifest;
};

// Progress of one blob transfer: bytes delivered so far (resumed bytes count once).
using BlobProgress = std::function<void(uint64_t done, uint64_t total)>;

class Repository {
 public:
  // `domain` is a normalized reference's domain ("docker.io", "127.0.0.1:5000"), `path`
  // its repository path ("library/busybox"). `http` and `hosts` must outlive the object.
  static Result<std::unique_ptr<Repository>> Open(HttpClient& http, const RegistryHosts& hosts,
                                                  std::string domain, std::string path,
                                                  RepositoryOptions options = {});

  const std::string& path() const { return path_; }

  // GET of /v2/<path>/manifests/<tag or digest>. Schema 1 is refused with docker's
  // message; the bytes must hash to the Docker-Content-Digest header and, for a digest,
  // to that digest. A 404 is NotFound with the registry's error text.
  Result<FetchedManifest> GetManifest(std::string_view tag_or_digest);
  // HEAD of the same: the digest the registry reports, if it reports one.
  Result<std::optional<digest::Digest>> HeadManifest(std::string_view tag_or_digest);

  // Resolves a reference (tag or digest) to an image manifest for `platform`, following an
  // index. Errors: NotFound "manifest for <ref> not found: <registry error>", and
  // "no matching manifest for <platform> in the manifest list entries". `found` is called
  // once the reference's own document arrived (docker prints "Pulling from" then).
  Result<Resolved> Resolve(const image::Reference& ref, const image::Platform& platform,
                           const std::function<void()>& found = {});

  // Reads a small blob (a config) whole, verified.
  Result<std::string> GetBlob(const image::Descriptor& desc, size_t max_bytes = 16 << 20);

  // Streams a blob into `out`, in order, each byte once. Connection resets, stalls, 5xx and
  // 429 (honouring Retry-After) are retried with backoff, resuming with Range from the byte
  // reached (a server that ignores Range has its first bytes skipped). Fails with DataLoss
  // on a size or digest mismatch. A `cancel` flag that becomes true stops the transfer.
  Status FetchBlob(const image::Descriptor& desc, Writer& out, const BlobProgress& progress = {},
                   const std::atomic<bool>* cancel = nullptr);

  // FetchBlob on a thread of its own, as a Reader: the consumer (decompress, apply) runs
  // while the bytes arrive. The reader's last Read fails if the fetch failed. Destroying it
  // early cancels the transfer.
  std::unique_ptr<Reader> OpenBlob(const image::Descriptor& desc, BlobProgress progress = {});

  // Tags of the repository (/v2/<path>/tags/list, following Link pagination).
  Result<std::vector<std::string>> ListTags();

  // ---- push ----

  // HEAD of a blob: its size when the repository has it, nullopt when it does not (404).
  Result<std::optional<int64_t>> StatBlob(const digest::Digest& d);

  // POST ?mount=<digest>&from=<repository path> (same registry): true when the registry
  // mounted the blob (201). Otherwise (202) the registry opened an upload session instead;
  // it is returned in `upload` when that is not null, cancelled otherwise.
  Result<bool> MountBlob(const digest::Digest& d, const std::string& from, Upload* upload);

  // POST of a new upload session.
  Result<Upload> StartUpload();
  // PATCH of `body` at the session's offset, then follows the new Location. With a size,
  // the request carries Content-Range and Content-Length; without, the body is streamed
  // (chunked transfer) until `body` ends. A 416 (the registry holds another offset) is
  // FailedPrecondition; QueryUpload tells where to go on from.
  Status UploadChunk(Upload& up, Reader& body, std::optional<uint64_t> size,
                     const BlobProgress& progress = {});
  // GET of the session: updates up.offset from the registry's Range header.
  Status QueryUpload(Upload& up);
  // PUT ?digest=<d> that completes the session, with `tail` (tail_size bytes, may be null)
  // as the last bytes. The registry checks the digest; a mismatch is DataLoss.
  Status FinishUpload(Upload& up, const digest::Digest& d, Reader* tail = nullptr,
                      uint64_t tail_size = 0);
  // DELETE of the session (best effort: used after a failure).
  void CancelUpload(const Upload& up);

  // Uploads a blob of known digest and size. Connection failures, 5xx and 429 retry with
  // backoff: a chunked upload resumes at the offset the registry reports, a monolithic one
  // starts over.
  Status PushBlob(const image::Descriptor& desc, const BlobOpener& open,
                  const BlobProgress& progress = {}, const PushBlobOptions& options = {});

  // PUT of a manifest under a tag or digest; returns its digest.
  Result<digest::Digest> PutManifest(std::string_view tag_or_digest, std::string_view media_type,
                                     std::string_view bytes);

  // The endpoints tried, in order (mirrors first).
  const std::vector<Endpoint>& endpoints() const { return endpoints_; }

 private:
  Repository(HttpClient& http, std::string domain, std::string path, RepositoryOptions o);
  // Sends `make(endpoint)` to the endpoints in order: a mirror that fails in any way, or
  // an origin that cannot be reached, passes to the next; the last answer is returned.
  Result<Response> SendAny(const std::function<Request(const Endpoint&)>& make, bool is_blob);
  Result<Response> SendTo(const Endpoint& ep, Request req);
  // Sends a push request to the origin (plain http after https when that is allowed); the
  // scopes are the repository's plus `extra` (a mount's source).
  Result<Response> SendPush(const std::function<Request(const Endpoint&)>& make,
                            const ScopeSet* extra = nullptr);
  // Sends a request to an upload session's URL.
  Result<Response> SendUpload(Request req);
  Status AdvanceUpload(Upload& up, const Response& resp);
  // One attempt at PushBlob.
  Status PushBlobOnce(const image::Descriptor& desc, const BlobOpener& open,
                      const BlobProgress& progress, const PushBlobOptions& o,
                      std::optional<Upload>& up);
  // One attempt at the rest of a blob from `ep`.
  Status FetchFrom(const Endpoint& ep, const image::Descriptor& desc, Writer& out,
                   uint64_t& delivered, std::chrono::milliseconds& retry_after);

  HttpClient& http_;
  std::string domain_;
  std::string path_;
  RepositoryOptions options_;
  std::vector<Endpoint> endpoints_;
  std::atomic<size_t> preferred_{0};  // the endpoint that last answered
  std::unique_ptr<Authorizer> auth_;
  ScopeSet scopes_;
  std::atomic<size_t> push_preferred_{0};  // the origin endpoint that answered a push request
};

}  // namespace strata::registry
