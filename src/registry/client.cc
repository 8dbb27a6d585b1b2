#include "registry/client.h"

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "digest/hasher.h"
#include "image/index.h"
#include "image/media_types.h"

namespace strata::registry {

namespace mt = image::media_type;

std::string ManifestAcceptHeader() {
  return std::string(mt::kOciIndex) + ", " + std::string(mt::kOciManifest) + ", " +
         std::string(mt::kDockerManifestList) + ", " + std::string(mt::kDockerManifest);
}

Repository::Repository(HttpClient& http, std::string domain, std::string path, RepositoryOptions o)
    : http_(http), domain_(std::move(domain)), path_(std::move(path)), options_(std::move(o)) {}

Result<std::unique_ptr<Repository>> Repository::Open(HttpClient& http, const RegistryHosts& hosts,
                                                     std::string domain, std::string path,
                                                     RepositoryOptions options) {
  std::unique_ptr<Repository> r(
      new Repository(http, std::move(domain), std::move(path), std::move(options)));
  STRATA_ASSIGN_OR_RETURN(r->endpoints_, hosts.Endpoints(r->domain_));
  if (r->endpoints_.empty()) return Internal("no endpoints for " + r->domain_);
  AuthorizerOptions ao;
  ao.credentials = r->options_.credentials;
  ao.hosts = &hosts;
  r->auth_ = std::make_unique<Authorizer>(http, ao);
  r->scopes_.Add(RepositoryScope(r->path_, r->options_.push));
  return r;
}

Result<Response> Repository::SendTo(const Endpoint& ep, Request req) {
  req.tls = ep.tls;
  return auth_->Send(std::move(req), scopes_);
}

Result<Response> Repository::SendAny(const std::function<Request(const Endpoint&)>& make,
                                     bool /*is_blob*/) {
  std::optional<Result<Response>> last;
  size_t start = preferred_.load();
  for (size_t i = start; i < endpoints_.size(); ++i) {
    const Endpoint& ep = endpoints_[i];
    auto resp = SendTo(ep, make(ep));
    bool next = i + 1 < endpoints_.size();
    if (resp && (resp->ok() || !ep.mirror)) {
      preferred_.store(i);
      return resp;
    }
    // A mirror that cannot help (down, or without the content) passes to the origin; an
    // origin that cannot be reached over https passes to plain http when that is allowed.
    if (!resp && !ep.mirror && resp.error().code != ErrorCode::kUnavailable &&
        resp.error().code != ErrorCode::kFailedPrecondition) {
      return resp;
    }
    last = std::move(resp);
    if (!next) break;
  }
  return std::move(*last);
}

Result<FetchedManifest> Repository::GetManifest(std::string_view ref) {
  std::string path = "/v2/" + path_ + "/manifests/" + std::string(ref);
  auto resp = SendAny(
      [&](const Endpoint& ep) {
        Request req;
        req.url = ep.BaseUrl() + path;
        req.headers.Set("Accept", ManifestAcceptHeader());
        req.max_body_size = kMaxManifestSize;
        return req;
      },
      false);
  if (!resp) {
    if (resp.error().message.find("larger than") != std::string::npos) {
      return InvalidArgument("manifest " + std::string(ref) + " is larger than " +
                             std::to_string(kMaxManifestSize) + " bytes");
    }
    return std::move(resp).error();
  }
  if (!resp->ok()) return ResponseError(*resp);
  FetchedManifest m;
  m.bytes = std::move(resp->body);
  m.digest = digest::Sha256Of(m.bytes);
  std::string ct = resp->headers.Get("Content-Type").value_or("");
  if (auto semi = ct.find(';'); semi != std::string::npos) ct.resize(semi);
  while (!ct.empty() && ct.back() == ' ') ct.pop_back();
  if (mt::IsManifest(ct) || mt::IsIndex(ct) || mt::IsSchema1(ct)) {
    m.media_type = ct;
  } else {
    STRATA_ASSIGN_OR_RETURN(m.media_type, image::DetectMediaType(m.bytes));
  }
  if (mt::IsSchema1(m.media_type)) {
    return Unimplemented(
        "Docker Image Format v1 and Docker Image manifest version 2, schema 1 support has been "
        "removed. Suggest the author of " +
        domain_ + "/" + path_ +
        " to upgrade the image to the OCI Format or Docker Image manifest v2, schema 2. More "
        "information at https://docs.docker.com/go/deprecated-image-specs/");
  }
  if (!mt::IsManifest(m.media_type) && !mt::IsIndex(m.media_type)) {
    return InvalidArgument("unsupported manifest media type " + m.media_type);
  }
  // Verification as moby's: the bytes must hash to what the registry claims and to the
  // digest asked for.
  if (auto hdr = resp->headers.Get("Docker-Content-Digest")) {
    auto d = digest::Digest::Parse(*hdr);
    if (d && d->algorithm() == "sha256" && *d != m.digest) {
      return DataLoss("manifest verification failed for digest " + d->str());
    }
  }
  if (ref.starts_with("sha256:") && m.digest.str() != ref) {
    return DataLoss("manifest verification failed for digest " + std::string(ref));
  }
  return m;
}

Result<std::optional<digest::Digest>> Repository::HeadManifest(std::string_view ref) {
  std::string path = "/v2/" + path_ + "/manifests/" + std::string(ref);
  STRATA_ASSIGN_OR_RETURN(auto resp, SendAny(
                                         [&](const Endpoint& ep) {
                                           Request req;
                                           req.method = "HEAD";
                                           req.url = ep.BaseUrl() + path;
                                           req.headers.Set("Accept", ManifestAcceptHeader());
                                           return req;
                                         },
                                         false));
  if (!resp.ok()) return ResponseError(resp);
  std::optional<digest::Digest> out;
  if (auto hdr = resp.headers.Get("Docker-Content-Digest")) {
    if (auto d = digest::Digest::Parse(*hdr)) out = *d;
  }
  return out;
}

Result<Resolved> Repository::Resolve(const image::Reference& ref, const image::Platform& platform,
                                     const std::function<void()>& found) {
  std::string want = ref.HasDigest() ? ref.Digest().str() : ref.Tag();
  if (want.empty()) want = std::string(image::kDefaultTag);
  auto first = GetManifest(want);
  if (!first) {
    Error e = std::move(first).error();
    if (e.code == ErrorCode::kNotFound) {
      return NotFound("manifest for " + ref.FamiliarString() + " not found: " + e.message);
    }
    if (e.code == ErrorCode::kUnauthenticated || e.code == ErrorCode::kDenied) {
      return Error{e.code,
                   "pull access denied for " + ref.FamiliarName() +
                       ", repository does not exist or may require 'docker login': " + e.message};
    }
    return e;
  }
  if (found) found();
  Resolved out;
  out.digest = first->digest;
  if (mt::IsIndex(first->media_type)) {
    STRATA_ASSIGN_OR_RETURN(auto idx, image::Index::Parse(first->bytes, first->media_type));
    image::PlatformMatcher matcher(platform);
    // docker 20.10 (containerd 1.4's matcher) never substitutes another architecture
    // (arm64 does not fall back to arm), only older variants of the same one.
    std::vector<image::Descriptor> same_arch;
    for (const auto& m : idx.manifests) {
      if (m.platform && image::Normalize(*m.platform).architecture == platform.architecture) {
        same_arch.push_back(m);
      }
    }
    auto pick = image::SelectManifest(same_arch, matcher);
    const image::Descriptor* d = pick ? &same_arch[*pick] : nullptr;
    if (d == nullptr) {
      std::string have;
      for (const auto& m : idx.manifests) {
        if (!m.platform) continue;
        have += (have.empty() ? "" : ", ") + image::FormatPlatform(*m.platform);
      }
      return NotFound("no matching manifest for " + image::FormatPlatform(platform) +
                      " in the manifest list entries" +
                      (have.empty() ? "" : " (available: " + have + ")"));
    }
    image::Descriptor chosen = *d;
    out.index = std::move(*first);
    STRATA_ASSIGN_OR_RETURN(out.manifest_doc, GetManifest(chosen.digest.str()));
    if (static_cast<int64_t>(out.manifest_doc.bytes.size()) != chosen.size) {
      return DataLoss("manifest " + chosen.digest.str() + ": size " +
                      std::to_string(out.manifest_doc.bytes.size()) + " does not match " +
                      std::to_string(chosen.size));
    }
  } else {
    out.manifest_doc = std::move(*first);
  }
  if (!mt::IsManifest(out.manifest_doc.media_type)) {
    return InvalidArgument("unsupported manifest media type " + out.manifest_doc.media_type);
  }
  STRATA_ASSIGN_OR_RETURN(
      out.manifest, image::Manifest::Parse(out.manifest_doc.bytes, out.manifest_doc.media_type));
  return out;
}

Result<std::string> Repository::GetBlob(const image::Descriptor& desc, size_t max_bytes) {
  if (desc.size < 0 || static_cast<uint64_t>(desc.size) > max_bytes) {
    return InvalidArgument("blob " + desc.digest.str() + " is larger than " +
                           std::to_string(max_bytes) + " bytes");
  }
  StringWriter w;
  STRATA_TRY(FetchBlob(desc, w));
  return w.take();
}

namespace {

// Where a blob's bytes go, across attempts: skips what a server that ignored Range sends
// again, hashes and counts what is new, and refuses more bytes than the descriptor says.
class BlobSink : public Writer {
 public:
  BlobSink(Writer& out, const image::Descriptor& desc, const BlobProgress& progress,
           const std::atomic<bool>* cancel)
      : out_(out), desc_(desc), progress_(progress), cancel_(cancel) {}
  using Writer::Write;
  // A new response begins at stream offset `at`.
  void Begin(uint64_t at) { pos_ = at; }
  Status Write(const void* buf, size_t n) override {
    if (cancel_ != nullptr && cancel_->load()) {
      failed_ = true;
      return Cancelled("blob " + desc_.digest.str() + ": cancelled");
    }
    const char* p = static_cast<const char*>(buf);
    if (pos_ < delivered_) {  // bytes already delivered before a restart
      uint64_t skip = std::min<uint64_t>(n, delivered_ - pos_);
      pos_ += skip;
      p += skip;
      n -= skip;
    }
    if (n == 0) return Ok();
    if (delivered_ + n > static_cast<uint64_t>(desc_.size)) {
      failed_ = true;
      return DataLoss("blob " + desc_.digest.str() + ": more bytes than the " +
                      std::to_string(desc_.size) + " the manifest says");
    }
    if (auto st = out_.Write(p, n); !st) {
      failed_ = true;
      return st;
    }
    hasher_.Update(p, n);
    delivered_ += n;
    pos_ += n;
    if (progress_) progress_(delivered_, static_cast<uint64_t>(desc_.size));
    return Ok();
  }
  uint64_t delivered() const { return delivered_; }
  bool failed() const { return failed_; }
  digest::Digest Sum() const { return hasher_.Sum(); }

 private:
  Writer& out_;
  const image::Descriptor& desc_;
  const BlobProgress& progress_;
  const std::atomic<bool>* cancel_;
  digest::Hasher hasher_;
  uint64_t delivered_ = 0;
  uint64_t pos_ = 0;
  bool failed_ = false;
};

constexpr std::chrono::milliseconds kMaxRetryAfter{60'000};

std::chrono::milliseconds RetryAfter(const Response& r) {
  auto v = r.headers.Get("Retry-After");
  if (!v || v->empty() || v->size() > 6) return std::chrono::milliseconds(0);
  for (char c : *v) {
    if (c < '0' || c > '9') return std::chrono::milliseconds(0);
  }
  return std::chrono::seconds(std::stoi(*v));
}

}  // namespace

Status Repository::FetchBlob(const image::Descriptor& desc, Writer& out,
                             const BlobProgress& progress, const std::atomic<bool>* cancel) {
  BlobSink sink(out, desc, progress, cancel);
  std::string path = "/v2/" + path_ + "/blobs/" + desc.digest.str();
  std::string what = "blob " + desc.digest.str();
  auto backoff = options_.retry.initial_backoff;
  int attempts = 0;
  std::optional<Error> last;
  while (attempts < options_.retry.max_attempts) {
    if (cancel != nullptr && cancel->load()) return Cancelled(what + ": cancelled");
    ++attempts;
    uint64_t before = sink.delivered();
    std::chrono::milliseconds wait{0};
    bool retry = false;
    auto resp = SendAny(
        [&](const Endpoint& ep) {
          Request req;
          req.url = ep.BaseUrl() + path;
          req.follow_redirects = true;
          req.sink = &sink;
          if (sink.delivered() > 0) req.range = ByteRange{sink.delivered(), std::nullopt};
          req.on_body_start = [&sink](const Response& r) -> Status {
            // 206 continues where the last attempt stopped; 200 starts over.
            sink.Begin(r.status == 206 ? sink.delivered() : 0);
            return Ok();
          };
          return req;
        },
        true);
    if (!resp) {
      if (sink.failed() || resp.error().code != ErrorCode::kUnavailable) {
        return std::move(resp).error();
      }
      last = std::move(resp).error();
      retry = true;
    } else if (resp->ok()) {
      if (sink.delivered() == static_cast<uint64_t>(desc.size)) {
        digest::Digest got = sink.Sum();
        if (got != desc.digest) {
          return DataLoss(what + ": digest mismatch: content has digest " + got.str());
        }
        return Ok();
      }
      last = Unavailable(what + ": short read: " + std::to_string(sink.delivered()) + " of " +
                         std::to_string(desc.size) + " bytes");
      retry = true;
    } else if (resp->status == 429 || resp->status >= 500) {
      last = ResponseError(*resp);
      wait = RetryAfter(*resp);
      retry = true;
    } else if (resp->status == 416 && sink.delivered() == static_cast<uint64_t>(desc.size)) {
      // Everything was there already; only the digest is left to check.
      if (sink.Sum() != desc.digest) return DataLoss(what + ": digest mismatch");
      return Ok();
    } else {
      return ResponseError(*resp).Wrap(what);
    }
    if (!retry) break;
    // Progress made: this was a resumable hiccup, not a failing server.
    if (sink.delivered() > before) attempts = std::min(attempts, 1);
    if (attempts >= options_.retry.max_attempts) break;
    // Retry-After is the server's word and wins over the backoff (bounded, for sanity).
    std::this_thread::sleep_for(wait.count() > 0 ? std::min(wait, kMaxRetryAfter) : backoff);
    backoff = std::min(backoff * 2, options_.retry.max_backoff);
  }
  return last ? last->Wrap(what) : Unavailable(what + ": failed");
}

namespace {

// A bounded byte pipe between FetchBlob (writer, its own thread) and a consumer (reader).
class BlobPipeReader : public Reader {
 public:
  static constexpr size_t kMaxQueued = 8 << 20;

  BlobPipeReader(Repository& repo, image::Descriptor desc, BlobProgress progress)
      : desc_(std::move(desc)), progress_(std::move(progress)) {
    thread_ = std::thread([this, &repo] {
      PipeWriter w(*this);
      Status st = repo.FetchBlob(desc_, w, progress_, &cancel_);
      std::lock_guard lk(mu_);
      if (!st) error_ = std::move(st).error();
      done_ = true;
      cv_.notify_all();
    });
  }
  ~BlobPipeReader() override {
    {
      std::lock_guard lk(mu_);
      closed_ = true;
      cancel_ = true;
      cv_.notify_all();
    }
    thread_.join();
  }
  Result<size_t> Read(void* buf, size_t n) override {
    std::unique_lock lk(mu_);
    cv_.wait(lk, [&] { return !queue_.empty() || done_; });
    if (queue_.empty()) {
      if (error_) return *error_;
      return size_t{0};
    }
    std::string& front = queue_.front();
    size_t k = std::min(n, front.size() - pos_);
    std::memcpy(buf, front.data() + pos_, k);
    pos_ += k;
    queued_ -= k;
    if (pos_ == front.size()) {
      queue_.pop_front();
      pos_ = 0;
    }
    cv_.notify_all();
    return k;
  }

 private:
  class PipeWriter : public Writer {
   public:
    explicit PipeWriter(BlobPipeReader& p) : p_(p) {}
    using Writer::Write;
    Status Write(const void* buf, size_t n) override {
      std::unique_lock lk(p_.mu_);
      p_.cv_.wait(lk, [&] { return p_.queued_ < kMaxQueued || p_.closed_; });
      if (p_.closed_) return Cancelled("blob reader closed");
      p_.queue_.emplace_back(static_cast<const char*>(buf), n);
      p_.queued_ += n;
      p_.cv_.notify_all();
      return Ok();
    }

   private:
    BlobPipeReader& p_;
  };

  image::Descriptor desc_;
  BlobProgress progress_;
  std::atomic<bool> cancel_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;
  size_t pos_ = 0;
  size_t queued_ = 0;
  bool done_ = false;
  bool closed_ = false;
  std::optional<Error> error_;
  std::thread thread_;
};

}  // namespace

std::unique_ptr<Reader> Repository::OpenBlob(const image::Descriptor& desc, BlobProgress progress) {
  return std::make_unique<BlobPipeReader>(*this, desc, std::move(progress));
}

Result<std::vector<std::string>> Repository::ListTags() {
  std::vector<std::string> tags;
  std::string next = "/v2/" + path_ + "/tags/list";
  for (int page = 0; page < 1000 && !next.empty(); ++page) {
    std::string base;
    STRATA_ASSIGN_OR_RETURN(auto resp,
                            SendAny(
                                [&](const Endpoint& ep) {
                                  base = ep.BaseUrl();
                                  Request req;
                                  req.url = next.starts_with("http") ? next : ep.BaseUrl() + next;
                                  return req;
                                },
                                false));
    if (!resp.ok()) return ResponseError(resp);
    auto j = nlohmann::json::parse(resp.body, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return InvalidArgument("tags list: invalid JSON");
    if (j.contains("tags") && j["tags"].is_array()) {
      for (auto& t : j["tags"]) {
        if (t.is_string()) tags.push_back(t.get<std::string>());
      }
    }
    next.clear();
    // Link: </v2/x/tags/list?last=a&n=100>; rel="next"
    if (auto link = resp.headers.Get("Link")) {
      auto lt = link->find('<'), gt = link->find('>');
      if (lt != std::string::npos && gt != std::string::npos && gt > lt &&
          link->find("rel=\"next\"") != std::string::npos) {
        next = link->substr(lt + 1, gt - lt - 1);
      }
    }
  }
  return tags;
}

// ---------------------------------------------------------------------------------------------
// Push.

namespace {

// Counts what a request body reads, for progress.
class ProgressReader : public Reader {
 public:
  ProgressReader(Reader& r, const BlobProgress& progress, uint64_t base, uint64_t total)
      : r_(r), progress_(progress), done_(base), total_(total) {}
  Result<size_t> Read(void* buf, size_t n) override {
    STRATA_ASSIGN_OR_RETURN(size_t k, r_.Read(buf, n));
    done_ += k;
    if (progress_ && k > 0) progress_(done_, total_);
    return k;
  }

 private:
  Reader& r_;
  const BlobProgress& progress_;
  uint64_t done_;
  uint64_t total_;
};

bool Retryable(const Error& e) { return e.code == ErrorCode::kUnavailable; }

// Authorization failures read as docker prints them (the registry's words alone); other
// failures say what was being done.
Error PushResponseError(const Response& r, const std::string& what) {
  Error e = ResponseError(r);
  if (r.status == 401 || r.status == 403) return e;
  return e.Wrap(what);
}

// A registry asking for Basic credentials that the user has none for: docker's words.
bool WantsBasicWithout(const Response& r, const Credentials& c) {
  if (r.status != 401 || !c.empty()) return false;
  for (const auto& ch : ParseChallenges(r.headers.GetAll("WWW-Authenticate"))) {
    if (ch.scheme == "basic") return true;
  }
  return false;
}

// Range: 0-<last> of an upload status or PATCH answer -> bytes the registry holds.
std::optional<uint64_t> RangeEnd(const Response& r) {
  auto v = r.headers.Get("Range");
  if (!v) return std::nullopt;
  auto dash = v->find('-');
  if (dash == std::string::npos) return std::nullopt;
  std::string last = v->substr(dash + 1);
  if (last.empty() || last.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  return std::stoull(last) + 1;
}

}  // namespace

Result<Response> Repository::SendPush(const std::function<Request(const Endpoint&)>& make,
                                      const ScopeSet* extra) {
  ScopeSet scopes = scopes_;
  if (extra != nullptr) scopes.Add(*extra);
  std::optional<Result<Response>> last;
  size_t first = 0;
  while (first < endpoints_.size() && endpoints_[first].mirror) ++first;
  size_t start = std::max(first, push_preferred_.load());
  for (size_t i = start; i < endpoints_.size(); ++i) {
    const Endpoint& ep = endpoints_[i];
    Request req = make(ep);
    req.tls = ep.tls;
    auto resp = auth_->Send(std::move(req), scopes);
    if (resp) {
      push_preferred_.store(i);
      if (WantsBasicWithout(*resp, options_.credentials)) {
        return Error{ErrorCode::kUnauthenticated, "no basic auth credentials"};
      }
      return resp;
    }
    // Only a failure to reach https passes to plain http (insecure registries).
    if (resp.error().code != ErrorCode::kUnavailable &&
        resp.error().code != ErrorCode::kFailedPrecondition) {
      return resp;
    }
    last = std::move(resp);
  }
  if (!last) return Internal("no push endpoint for " + domain_);
  return std::move(*last);
}

Result<Response> Repository::SendUpload(Request req) {
  size_t i = push_preferred_.load();
  if (i < endpoints_.size()) req.tls = endpoints_[i].tls;
  return auth_->Send(std::move(req), scopes_);
}

Status Repository::AdvanceUpload(Upload& up, const Response& resp) {
  auto loc = resp.headers.Get("Location");
  if (!loc) return InvalidArgument("upload: the registry sent no Location");
  STRATA_ASSIGN_OR_RETURN(up.location,
                          ResolveUrl(up.location.empty() ? resp.url : up.location, *loc));
  if (auto end = RangeEnd(resp)) up.offset = *end;
  return Ok();
}

Result<std::optional<int64_t>> Repository::StatBlob(const digest::Digest& d) {
  std::string path = "/v2/" + path_ + "/blobs/" + d.str();
  STRATA_ASSIGN_OR_RETURN(auto resp, SendPush([&](const Endpoint& ep) {
                            Request req;
                            req.method = "HEAD";
                            req.url = ep.BaseUrl() + path;
                            req.follow_redirects = true;
                            return req;
                          }));
  if (resp.status == 404) return std::optional<int64_t>();
  if (!resp.ok()) return PushResponseError(resp, "blob " + d.str());
  int64_t size = -1;
  if (auto cl = resp.headers.Get("Content-Length")) {
    if (!cl->empty() && cl->find_first_not_of("0123456789") == std::string::npos) {
      size = std::stoll(*cl);
    }
  }
  return std::optional<int64_t>(size);
}

Result<bool> Repository::MountBlob(const digest::Digest& d, const std::string& from,
                                   Upload* upload) {
  std::string path =
      "/v2/" + path_ + "/blobs/uploads/?mount=" + UrlEncode(d.str()) + "&from=" + UrlEncode(from);
  ScopeSet extra;
  extra.Add(RepositoryScope(from, /*push=*/false));
  STRATA_ASSIGN_OR_RETURN(auto resp, SendPush(
                                         [&](const Endpoint& ep) {
                                           Request req;
                                           req.method = "POST";
                                           req.url = ep.BaseUrl() + path;
                                           return req;
                                         },
                                         &extra));
  if (resp.status == 201) return true;
  if (resp.status != 202) return PushResponseError(resp, "mount " + d.str() + " from " + from);
  Upload up;
  up.location = resp.url;
  STRATA_TRY(AdvanceUpload(up, resp));
  if (upload != nullptr) {
    *upload = std::move(up);
  } else {
    CancelUpload(up);
  }
  return false;
}

Result<Upload> Repository::StartUpload() {
  std::string path = "/v2/" + path_ + "/blobs/uploads/";
  STRATA_ASSIGN_OR_RETURN(auto resp, SendPush([&](const Endpoint& ep) {
                            Request req;
                            req.method = "POST";
                            req.url = ep.BaseUrl() + path;
                            req.body_size = 0;
                            return req;
                          }));
  if (resp.status != 202) return PushResponseError(resp, "start upload");
  Upload up;
  up.location = resp.url;
  STRATA_TRY(AdvanceUpload(up, resp));
  up.offset = 0;
  return up;
}

Status Repository::UploadChunk(Upload& up, Reader& body, std::optional<uint64_t> size,
                               const BlobProgress& progress) {
  ProgressReader counted(body, progress, up.offset, 0);
  Request req;
  req.method = "PATCH";
  req.url = up.location;
  req.body = &counted;
  req.headers.Set("Content-Type", "application/octet-stream");
  if (size) {
    if (*size == 0) return Ok();
    req.body_size = *size;
    req.headers.Set("Content-Range",
                    std::to_string(up.offset) + "-" + std::to_string(up.offset + *size - 1));
  }
  STRATA_ASSIGN_OR_RETURN(auto resp, SendUpload(std::move(req)));
  if (resp.status == 416) {
    return FailedPrecondition("upload: the registry holds another range than " +
                              std::to_string(up.offset) + " bytes");
  }
  if (resp.status != 202) return PushResponseError(resp, "upload");
  uint64_t before = up.offset;
  STRATA_TRY(AdvanceUpload(up, resp));
  if (!resp.headers.Get("Range")) up.offset = before + (size ? *size : 0);
  return Ok();
}

Status Repository::QueryUpload(Upload& up) {
  Request req;
  req.url = up.location;
  STRATA_ASSIGN_OR_RETURN(auto resp, SendUpload(std::move(req)));
  if (resp.status != 204 && resp.status != 200) return PushResponseError(resp, "upload status");
  uint64_t keep = 0;
  up.offset = 0;
  if (auto end = RangeEnd(resp)) keep = *end;
  if (resp.headers.Get("Location")) STRATA_TRY(AdvanceUpload(up, resp));
  up.offset = keep;
  return Ok();
}

Status Repository::FinishUpload(Upload& up, const digest::Digest& d, Reader* tail,
                                uint64_t tail_size) {
  Request req;
  req.method = "PUT";
  req.url = up.location + (up.location.find('?') == std::string::npos ? "?" : "&") +
            "digest=" + UrlEncode(d.str());
  req.body = tail;
  req.body_size = tail != nullptr ? tail_size : 0;
  req.headers.Set("Content-Type", "application/octet-stream");
  STRATA_ASSIGN_OR_RETURN(auto resp, SendUpload(std::move(req)));
  if (resp.status == 201 || resp.status == 204 || resp.status == 200) {
    if (auto got = resp.headers.Get("Docker-Content-Digest"); got && *got != d.str()) {
      return DataLoss("upload of " + d.str() + ": the registry stored " + *got);
    }
    return Ok();
  }
  if (resp.status == 400 && resp.body.find("DIGEST_INVALID") != std::string::npos) {
    return DataLoss("upload of " + d.str() + ": " + ResponseError(resp).message);
  }
  return PushResponseError(resp, "upload of " + d.str());
}

void Repository::CancelUpload(const Upload& up) {
  if (up.location.empty()) return;
  Request req;
  req.method = "DELETE";
  req.url = up.location;
  req.timeout = std::chrono::milliseconds(10'000);
  (void)SendUpload(std::move(req));
}

Status Repository::PushBlobOnce(const image::Descriptor& desc, const BlobOpener& open,
                                const BlobProgress& progress, const PushBlobOptions& o,
                                std::optional<Upload>& up) {
  uint64_t size = static_cast<uint64_t>(desc.size);
  if (!up) {
    STRATA_ASSIGN_OR_RETURN(auto started, StartUpload());
    up = std::move(started);
  }
  if (size <= o.monolithic_max && up->offset == 0) {
    // Monolithic: the PUT that closes the session carries the whole blob.
    STRATA_ASSIGN_OR_RETURN(auto r, open(0));
    ProgressReader counted(*r, progress, 0, size);
    STRATA_TRY(FinishUpload(*up, desc.digest, &counted, size));
    return Ok();
  }
  while (up->offset < size) {
    uint64_t n = size - up->offset;
    if (o.chunk_size > 0) n = std::min(n, o.chunk_size);
    STRATA_ASSIGN_OR_RETURN(auto r, open(up->offset));
    LimitedReader limited(*r, n);
    BlobProgress p = progress ? BlobProgress([&](uint64_t done, uint64_t) { progress(done, size); })
                              : BlobProgress();
    STRATA_TRY(UploadChunk(*up, limited, n, p));
  }
  return FinishUpload(*up, desc.digest);
}

Status Repository::PushBlob(const image::Descriptor& desc, const BlobOpener& open,
                            const BlobProgress& progress, const PushBlobOptions& o) {
  std::string what = "blob " + desc.digest.str();
  auto backoff = options_.retry.initial_backoff;
  std::optional<Upload> up;
  for (int attempt = 1;; ++attempt) {
    uint64_t before = up ? up->offset : 0;
    Status st = PushBlobOnce(desc, open, progress, o, up);
    if (st) return st;
    Error e = std::move(st).error();
    bool resumable = e.code == ErrorCode::kFailedPrecondition && up;  // 416
    if ((!Retryable(e) && !resumable) || attempt >= options_.retry.max_attempts) {
      if (up) CancelUpload(*up);
      bool auth = e.code == ErrorCode::kUnauthenticated || e.code == ErrorCode::kDenied;
      return auth ? e : e.Wrap(what);
    }
    // Where to go on from: the registry says how much of a chunked upload it kept; a
    // monolithic one (or a session that is gone) starts over.
    if (up && static_cast<uint64_t>(desc.size) > o.monolithic_max) {
      if (!QueryUpload(*up)) {
        CancelUpload(*up);
        up.reset();
      }
    } else if (up) {
      CancelUpload(*up);
      up.reset();
    }
    if (up && up->offset > before) attempt = 0;  // progress made: a hiccup, not a dead server
    std::this_thread::sleep_for(backoff);
    backoff = std::min(backoff * 2, options_.retry.max_backoff);
  }
}

Result<digest::Digest> Repository::PutManifest(std::string_view ref, std::string_view media_type,
                                               std::string_view bytes) {
  std::string path = "/v2/" + path_ + "/manifests/" + std::string(ref);
  digest::Digest want = digest::Sha256Of(bytes);
  auto backoff = options_.retry.initial_backoff;
  for (int attempt = 1;; ++attempt) {
    StringReader body(bytes);
    auto resp = SendPush([&](const Endpoint& ep) {
      Request req;
      req.method = "PUT";
      req.url = ep.BaseUrl() + path;
      req.headers.Set("Content-Type", std::string(media_type));
      req.body = &body;
      req.body_size = bytes.size();
      req.rewind_body = [&body, bytes]() -> Status {
        body = StringReader(bytes);
        return Ok();
      };
      return req;
    });
    std::optional<Error> err;
    if (!resp) {
      err = std::move(resp).error();
    } else if (resp->status == 201 || resp->status == 200 || resp->status == 202) {
      if (auto got = resp->headers.Get("Docker-Content-Digest"); got && *got != want.str()) {
        return DataLoss("manifest " + want.str() + ": the registry stored " + *got);
      }
      return want;
    } else {
      err = ResponseError(*resp);
    }
    if (!Retryable(*err) || attempt >= options_.retry.max_attempts) return *err;
    std::this_thread::sleep_for(backoff);
    backoff = std::min(backoff * 2, options_.retry.max_backoff);
  }
}

}  // namespace strata::registry
