#include "engine/pull.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "engine/images.h"
#include "engine/layers.h"
#include "engine/timefmt.h"
#include "image/config.h"
#include "image/media_types.h"
#include "image/reference.h"
#include "registry/auth.h"
#include "registry/credentials.h"
#include "util/fs.h"

namespace strata::engine {
namespace {

namespace mt = image::media_type;

// One layer to fetch: what the manifest and config say, and what the download produced.
struct LayerJob {
  size_t index = 0;
  image::Descriptor desc;
  std::string diff_id;  // from the config
  std::string short_id;
  bool local_blob = false;  // the blob is in content/ already (no download)
  // Overlay: the layer unpacked as an overlay diff into dir/fs while it streamed in.
  std::unique_ptr<TempDir> dir;
  std::unique_ptr<LayerTarKeeper> keeper;
  // The compressed blob went to content/ during the download (PartialIngest), so the keeper
  // was not needed.
  bool blob_kept = false;
  AppliedLayer applied;
  std::optional<Error> error;
  bool done = false;
};

// Range requests for the rest of a blob that an earlier process began (Repository::FetchBlob
// always starts at byte 0 of a process's own transfer). It shares the pull's HTTP client
// and credentials and talks to the same endpoints, mirrors first.
struct RangeClient {
  registry::HttpClient* http = nullptr;
  std::unique_ptr<registry::Authorizer> auth;
  std::vector<registry::Endpoint> endpoints;
  registry::ScopeSet scopes;
  std::string path;
  registry::RetryPolicy retry;
  std::atomic<size_t> preferred{0};  // the endpoint that last answered
};

// The outcome of asking for the rest of a blob.
enum class TailResult { kDone, kRangeIgnored };

// Where the tail's bytes go: refuses more than the descriptor's size, counts the offset.
class TailSink : public Writer {
 public:
  TailSink(Writer& out, uint64_t pos, uint64_t size, const std::atomic<bool>& cancel)
      : out_(out), pos_(pos), size_(size), cancel_(cancel) {}
  using Writer::Write;
  Status Write(const void* buf, size_t n) override {
    if (cancel_) return Cancelled("pull cancelled");
    if (pos_ + n > size_)
      return DataLoss("more bytes than the " + std::to_string(size_) + " the manifest says");
    STRATA_TRY(out_.Write(buf, n));
    pos_ += n;
    return Ok();
  }
  uint64_t pos() const { return pos_; }

 private:
  Writer& out_;
  uint64_t pos_;
  uint64_t size_;
  const std::atomic<bool>& cancel_;
};

// Appends the bytes of `desc` from `from` on to `out` with Range requests, retrying
// transport errors, 5xx and 429 from where the last attempt stopped. A server that answers
// anything but a 206 starting at `from` is reported as kRangeIgnored before any byte is
// written: the caller starts over.
Result<TailResult> FetchTail(RangeClient& rc, const image::Descriptor& desc, uint64_t from,
                             Writer& out, const std::atomic<bool>& cancel,
                             const std::function<void()>& on_resumed) {
  std::string what = "blob " + desc.digest.str();
  const uint64_t size = static_cast<uint64_t>(desc.size);
  TailSink sink(out, from, size, cancel);
  auto backoff = rc.retry.initial_backoff;
  std::optional<Error> last;
  bool resumed = false;
  for (int attempts = 0; attempts < std::max(1, rc.retry.max_attempts);) {
    if (cancel) return Cancelled(what + ": cancelled");
    ++attempts;
    uint64_t before = sink.pos();
    bool ignored = false;
    std::optional<Result<registry::Response>> resp;
    // As Repository::SendAny: from the endpoint that last answered; a mirror that cannot
    // help passes to the next, and so does an origin unreachable over https when plain
    // http is allowed (it is listed next).
    for (size_t i = rc.preferred.load(); i < rc.endpoints.size(); ++i) {
      const registry::Endpoint& ep = rc.endpoints[i];
      registry::Request req;
      req.url = ep.BaseUrl() + "/v2/" + rc.path + "/blobs/" + desc.digest.str();
      req.follow_redirects = true;
      req.sink = &sink;
      req.tls = ep.tls;
      req.range = registry::ByteRange{sink.pos(), std::nullopt};
      uint64_t at = sink.pos();
      req.on_body_start = [&, at](const registry::Response& r) -> Status {
        auto cr = r.headers.Get("Content-Range");
        std::string want = "bytes " + std::to_string(at) + "-";
        if (r.status != 206 || !cr || !cr->starts_with(want)) {
          ignored = true;
          return Cancelled("the registry ignored Range");
        }
        if (!resumed) {
          resumed = true;
          if (on_resumed) on_resumed();
        }
        return Ok();
      };
      resp = rc.auth->Send(std::move(req), rc.scopes);
      // Once bytes went on, starting over is no longer ours to decide: the reader has them.
      if (ignored && resumed) return Unavailable(what + ": the registry stopped honouring Range");
      if (ignored) return TailResult::kRangeIgnored;
      if (*resp && ((**resp).ok() || !ep.mirror)) {
        rc.preferred.store(i);
        break;
      }
      if (!*resp && !ep.mirror && (*resp).error().code != ErrorCode::kUnavailable &&
          (*resp).error().code != ErrorCode::kFailedPrecondition) {
        break;
      }
      if (sink.pos() != at) break;  // bytes arrived: retry here, not elsewhere
    }
    if (!*resp) {
      Error e = std::move(*resp).error();
      if (e.code == ErrorCode::kDataLoss || e.code == ErrorCode::kCancelled) return e.Wrap(what);
      last = std::move(e);
    } else if ((**resp).ok()) {
      if (sink.pos() == size) return TailResult::kDone;
      last = Unavailable("short read: " + std::to_string(sink.pos()) + " of " +
                         std::to_string(size) + " bytes");
    } else if ((**resp).status == 429 || (**resp).status >= 500) {
      last = registry::ResponseError(**resp);
    } else if (!resumed && sink.pos() == from) {
      // 416 and the like before any byte: the partial cannot be continued.
      return TailResult::kRangeIgnored;
    } else {
      return registry::ResponseError(**resp).Wrap(what);
    }
    if (sink.pos() > before) attempts = std::min(attempts, 1);
    if (attempts >= rc.retry.max_attempts) break;
    std::this_thread::sleep_for(backoff);
    backoff = std::min(backoff * 2, rc.retry.max_backoff);
  }
  return last ? last->Wrap(what) : Unavailable(what + ": failed");
}

// A blob being downloaded into a file, read by the unpack while it grows: the download
// appends (Grow), the reader waits for bytes, for the end, or for the download's error. The
// bytes pass through the page cache once, and whatever the process had received when it
// died stays in the file for the next pull to resume.
class GrowingFile {
 public:
  explicit GrowingFile(uint64_t have) : size_(have) {}
  void Grow(uint64_t n) {
    std::lock_guard lk(mu_);
    size_ += n;
    cv_.notify_all();
  }
  // Until Start the reader waits: the bytes already there may yet be discarded.
  void Start(uint64_t have) {
    std::lock_guard lk(mu_);
    size_ = have;
    started_ = true;
    cv_.notify_all();
  }
  void Finish(std::optional<Error> err) {
    std::lock_guard lk(mu_);
    started_ = true;
    done_ = true;
    error_ = std::move(err);
    cv_.notify_all();
  }
  // Waits until more than `pos` bytes are there (returns how many) or the download ended.
  Result<uint64_t> WaitPast(uint64_t pos) {
    std::unique_lock lk(mu_);
    cv_.wait(lk, [&] { return (started_ && size_ > pos) || done_; });
    if (error_) return *error_;
    return size_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  uint64_t size_ = 0;
  bool started_ = false;
  bool done_ = false;
  std::optional<Error> error_;
};

// Appends to the partial blob and tells the reader.
class GrowingWriter : public Writer {
 public:
  GrowingWriter(content::PartialIngest& w, GrowingFile& f, const std::atomic<bool>& cancel,
                std::function<void(uint64_t)> on_size)
      : w_(w), f_(f), cancel_(cancel), on_size_(std::move(on_size)) {}
  using Writer::Write;
  Status Write(const void* buf, size_t n) override {
    if (cancel_) return Cancelled("pull cancelled");
    STRATA_TRY(w_.Write(buf, n));
    f_.Grow(n);
    if (on_size_) on_size_(w_.size());
    return Ok();
  }

 private:
  content::PartialIngest& w_;
  GrowingFile& f_;
  const std::atomic<bool>& cancel_;
  std::function<void(uint64_t)> on_size_;
};

class GrowingReader : public Reader {
 public:
  GrowingReader(UniqueFd fd, GrowingFile& f) : fd_(std::move(fd)), f_(f) {}
  Result<size_t> Read(void* buf, size_t n) override {
    if (n == 0) return size_t{0};
    STRATA_ASSIGN_OR_RETURN(uint64_t have, f_.WaitPast(pos_));
    if (have <= pos_) return size_t{0};
    size_t want = static_cast<size_t>(std::min<uint64_t>(n, have - pos_));
    for (;;) {
      ssize_t k = ::pread(fd_.get(), buf, want, static_cast<off_t>(pos_));
      if (k < 0 && errno == EINTR) continue;
      if (k < 0) return ErrnoError("read partial blob");
      if (k == 0) return DataLoss("partial blob shorter than written");
      pos_ += static_cast<uint64_t>(k);
      return static_cast<size_t>(k);
    }
  }

 private:
  UniqueFd fd_;
  GrowingFile& f_;
  uint64_t pos_ = 0;
};

// docker's message when the layers do not hash to the config's rootfs.
Error RootFsMismatch(size_t i, const std::string& want, const std::string& got) {
  return DataLoss("layers from manifest don't match image configuration: layer " +
                  std::to_string(i) + " has diff ID " + got + ", config says " + want);
}

class Puller {
 public:
  Puller(Store& s, registry::Repository& repo, RangeClient* range, const PullOptions& o,
         ProgressOut& progress, snapshot::Snapshotter& snaps)
      : s_(s), repo_(repo), range_(range), o_(o), progress_(progress), snaps_(snaps) {}

  Result<PullResult> Run(const image::Reference& ref, const image::Platform& platform);

 private:
  // Fetches (and, with overlay, unpacks) a layer. Compressed blobs go through a partial
  // ingest that outlives the process; a partial left by an earlier pull is resumed.
  Status Download(LayerJob& job);
  // The blob through the process-local path: from content/ or the registry, no partial.
  Status DownloadWhole(LayerJob& job);
  // Appends the blob's missing bytes to `partial` (Range when it has some), telling `file`.
  Status FetchPartial(LayerJob& job, content::PartialIngest& partial, GrowingFile& file);
  // Copy driver: the blob into content/, unpacked in order at commit time.
  Status FetchToContent(LayerJob& job, content::PartialIngest& partial);
  // Overlay: unpacks the blob into a staged diff while it downloads, then keeps the blob.
  Status StreamLayer(LayerJob& job, content::PartialIngest& partial);
  Result<store::LayerRecord> CommitLayer(LayerJob& job, const std::optional<std::string>& parent);

  Store& s_;
  registry::Repository& repo_;
  RangeClient* range_;
  const PullOptions& o_;
  ProgressOut& progress_;
  snapshot::Snapshotter& snaps_;
  bool stage_ = false;
  std::atomic<bool> cancel_{false};
};

Status Puller::Download(LayerJob& job) {
  bool compressed = mt::LayerCompression(job.desc.media_type) != mt::Compression::kNone;
  // A blob we have is read from content/; an uncompressed layer unpacked as an overlay diff
  // keeps only its tar-split (LayerTarKeeper) rather than the blob.
  if (job.local_blob || (stage_ && !compressed)) return DownloadWhole(job);
  for (int round = 0;; ++round) {
    auto partial = s_.content().OpenPartial(job.desc.digest);
    if (!partial) {
      // Another pull is fetching the same blob: fetch our own copy.
      if (partial.error().code == ErrorCode::kConflict) return DownloadWhole(job);
      return std::move(partial).error();
    }
    bool resumed = partial->offset() > 0;
    Status st = stage_ ? StreamLayer(job, *partial) : FetchToContent(job, *partial);
    if (st) return st;
    Error e = std::move(st).error();
    // A lost connection or a cancelled pull keeps what arrived, for the next pull.
    if (e.code == ErrorCode::kUnavailable || e.code == ErrorCode::kCancelled) return e;
    // Anything else may come from bytes an earlier process left (a torn write, another
    // blob's bytes): those go, and one fresh download decides.
    partial->Remove();
    if (!resumed || round > 0) return e;
  }
}

Status Puller::FetchPartial(LayerJob& job, content::PartialIngest& partial, GrowingFile& file) {
  const uint64_t size = static_cast<uint64_t>(job.desc.size);
  GrowingWriter w(partial, file, cancel_,
                  [this, &job, last = uint64_t{0}, size](uint64_t done) mutable {
                    if (done - last < (512u << 10) && done != size) return;
                    last = done;
                    progress_.Emit(job.short_id, "Downloading", done, size);
                  });
  if (partial.offset() > size) STRATA_TRY(partial.Discard());
  if (partial.offset() == size && size > 0) {
    file.Start(size);  // all there: an earlier process died before it committed
    return Ok();
  }
  if (partial.offset() > 0 && range_ != nullptr) {
    uint64_t from = partial.offset();
    auto tail = FetchTail(*range_, job.desc, from, w, cancel_, [&] { file.Start(from); });
    if (!tail) return std::move(tail).error();
    if (*tail == TailResult::kDone) return Ok();
  }
  // Nothing to resume, or the registry would not continue it: from the first byte.
  if (partial.offset() > 0) STRATA_TRY(partial.Discard());
  file.Start(0);
  return repo_.FetchBlob(job.desc, w, {}, &cancel_);
}

Status Puller::FetchToContent(LayerJob& job, content::PartialIngest& partial) {
  // The resumed part was not hashed by this process: the ingest checks it all at commit.
  if (partial.offset() > 0) STRATA_TRY(partial.HashFromStart());
  GrowingFile file(partial.offset());
  STRATA_TRY(FetchPartial(job, partial, file));
  progress_.Emit(job.short_id, "Verifying Checksum");
  STRATA_TRY(partial.Commit(job.desc.size));
  progress_.Emit(job.short_id, "Download complete");
  return Ok();
}

Status Puller::StreamLayer(LayerJob& job, content::PartialIngest& partial) {
  STRATA_ASSIGN_OR_RETURN(auto tmp, TempDir::Create(s_.TmpDir(), "pull-"));
  job.dir = std::make_unique<TempDir>(std::move(tmp));
  std::string fs = job.dir->path() + "/fs";
  STRATA_TRY(MakeDirs(fs));
  STRATA_ASSIGN_OR_RETURN(UniqueFd rfd, OpenFile(partial.path(), O_RDONLY | O_CLOEXEC));
  // One pass: the download appends to the partial blob on its own thread while this one
  // reads it back from the page cache, decompresses, hashes and applies it.
  GrowingFile file(partial.offset());
  Status fetched = Ok();
  std::thread fetcher([&] {
    fetched = FetchPartial(job, partial, file);
    file.Finish(fetched ? std::nullopt : std::optional<Error>(fetched.error()));
  });
  GrowingReader src(std::move(rfd), file);
  // Bytes this process fetches from the first one are checked by the client; bytes resumed
  // from an earlier process are checked only by the unpack's hash of everything it read.
  const bool resuming = partial.offset() > 0;
  auto applied = ApplyLayerStream(src, fs, archive::ApplyMode::kOverlayDiff, job.desc.digest.str(),
                                  nullptr, /*hash_compressed=*/resuming);
  // A tar ends before its blob does (padding); the rest still belongs to the blob, and the
  // digest check happens at its end. Read it even when the apply failed: bytes that do not
  // match their digest are the cause to report, not the tar error they led to.
  CountingWriter rest;
  auto drained = Copy(src, rest);
  fetcher.join();
  auto verification_failed = [&](const std::string& why) {
    return DataLoss("filesystem layer verification failed for digest " + job.desc.digest.str() +
                    ": " + why);
  };
  if (!fetched) {
    if (fetched.error().code == ErrorCode::kDataLoss) {
      return verification_failed(fetched.error().message);
    }
    return fetched;
  }
  if (!drained) return std::move(drained).error();
  if (!applied) return std::move(applied).error();
  job.applied = std::move(*applied);
  progress_.Emit(job.short_id, "Verifying Checksum");
  if ((resuming && job.applied.compressed_digest != job.desc.digest.str()) ||
      job.applied.compressed_size != job.desc.size) {
    return verification_failed("content has digest " + job.applied.compressed_digest);
  }
  if (job.applied.diff_id != job.diff_id) {
    return RootFsMismatch(job.index, job.diff_id, job.applied.diff_id);
  }
  STRATA_TRY(partial.Commit(job.desc.size));
  job.blob_kept = true;
  progress_.Emit(job.short_id, "Download complete");
  return Ok();
}

Status Puller::DownloadWhole(LayerJob& job) {
  auto emit_progress = [this, &job, last = uint64_t{0}](uint64_t done, uint64_t total) mutable {
    if (done - last < (512u << 10) && done != total) return;
    last = done;
    progress_.Emit(job.short_id, "Downloading", done, total);
  };
  if (!stage_) {
    // Copy driver: the blob goes to content/ and is unpacked in order at commit time.
    if (!job.local_blob) {
      STRATA_ASSIGN_OR_RETURN(auto w, s_.content().Ingest());
      STRATA_TRY(repo_.FetchBlob(job.desc, w, emit_progress, &cancel_));
      progress_.Emit(job.short_id, "Verifying Checksum");
      STRATA_TRY(w.Commit(job.desc.digest, job.desc.size));
    }
    progress_.Emit(job.short_id, "Download complete");
    return Ok();
  }
  STRATA_ASSIGN_OR_RETURN(auto tmp, TempDir::Create(s_.TmpDir(), "pull-"));
  job.dir = std::make_unique<TempDir>(std::move(tmp));
  std::string fs = job.dir->path() + "/fs";
  STRATA_TRY(MakeDirs(fs));
  STRATA_ASSIGN_OR_RETURN(job.keeper, LayerTarKeeper::Create(s_));
  std::unique_ptr<Reader> src;
  if (job.local_blob) {
    STRATA_ASSIGN_OR_RETURN(src, s_.content().Open(job.desc.digest, /*verify=*/true));
  } else {
    src = repo_.OpenBlob(job.desc, emit_progress);
  }
  // One pass: the compressed bytes go to the keeper (the blob) while they are
  // decompressed, hashed into the diff ID and applied.
  TeeReader tee(*src, *job.keeper);
  auto applied =
      ApplyLayerStream(tee, fs, archive::ApplyMode::kOverlayDiff, job.desc.digest.str(), nullptr);
  // A tar ends before its blob does (padding); the rest still belongs to the blob, and the
  // digest check happens at its end. Read it even when the apply failed: bytes that do not
  // match their digest are the cause to report, not the tar error they led to.
  CountingWriter rest;
  if (auto drained = Copy(tee, rest); !drained) {
    if (drained.error().code == ErrorCode::kDataLoss) {
      return DataLoss("filesystem layer verification failed for digest " + job.desc.digest.str() +
                      ": " + drained.error().message);
    }
    return std::move(drained).error();
  }
  if (!applied) return std::move(applied).error();
  job.applied = std::move(*applied);
  progress_.Emit(job.short_id, "Verifying Checksum");
  if (job.applied.diff_id != job.diff_id) {
    return RootFsMismatch(job.index, job.diff_id, job.applied.diff_id);
  }
  progress_.Emit(job.short_id, "Download complete");
  return Ok();
}

Result<store::LayerRecord> Puller::CommitLayer(LayerJob& job,
                                               const std::optional<std::string>& parent) {
  if (stage_ && job.blob_kept) {
    STRATA_ASSIGN_OR_RETURN(auto rec, CommitStagedLayer(s_, job.dir->path() + "/fs", job.applied,
                                                        parent, job.desc.digest.str()));
    job.dir.reset();
    rec.tar_split.reset();
    rec.blob_digest = job.desc.digest.str();
    rec.blob_size = job.desc.size;
    rec.blob_media_type = job.desc.media_type;
    return rec;
  }
  if (stage_) {
    STRATA_ASSIGN_OR_RETURN(auto rec, CommitStagedLayer(s_, job.dir->path() + "/fs", job.applied,
                                                        parent, job.desc.digest.str()));
    // After the snapshot: what the keeper keeps may refer to the files beside it.
    STRATA_TRY(job.keeper->Commit(job.applied, rec, job.desc.digest));
    job.keeper.reset();
    job.dir.reset();
    return rec;
  }
  STRATA_ASSIGN_OR_RETURN(auto r, s_.content().Open(job.desc.digest, /*verify=*/false));
  UnpackOptions uo;
  uo.parent_chain_id = parent;
  uo.label = job.desc.digest.str();
  uo.expected_diff_id = job.diff_id;
  auto rec = UnpackLayer(s_, *r, uo);
  if (!rec) return std::move(rec).error();
  if (rec->diff_id != job.diff_id) return RootFsMismatch(job.index, job.diff_id, rec->diff_id);
  rec->blob_digest = job.desc.digest.str();
  rec->blob_size = job.desc.size;
  rec->blob_media_type = job.desc.media_type;
  return *rec;
}

Result<PullResult> Puller::Run(const image::Reference& ref, const image::Platform& platform) {
  STRATA_ASSIGN_OR_RETURN(snapshot::Snapshotter * snaps, s_.snapshots());
  stage_ = snaps->Driver() == "overlay";
  store::Metadata& md = s_.metadata();
  PullResult out;
  out.reference = ref.String();
  // docker names a digest pull by its whole reference, a tag pull by its tag.
  auto started = [&] {
    if (o_.on_start) o_.on_start(ref.HasDigest() ? ref.String() : ref.Tag(), ref.Path());
  };

  // Re-pull of a tag: a HEAD tells whether the tag still names what we have, without
  // spending a GET on the registry's rate limit.
  if (!ref.HasDigest() && o_.platform.empty() && !o_.import_cache) {
    STRATA_ASSIGN_OR_RETURN(auto have, md.LookupTag(ref.String()));
    if (have) {
      auto head = repo_.HeadManifest(ref.Tag());
      if (head && *head) {
        std::string dref = ref.NameOnly().WithDigest(**head).String();
        STRATA_ASSIGN_OR_RETURN(auto by_digest, md.LookupDigestRef(dref));
        if (by_digest && *by_digest == *have) {
          started();
          out.image_id = *have;
          out.digest = (*head)->str();
          return out;
        }
      }
    }
  }

  STRATA_ASSIGN_OR_RETURN(registry::Resolved res, repo_.Resolve(ref, platform, started));
  out.digest = res.digest.str();
  const image::Manifest& man = res.manifest;
  if (!mt::IsConfig(man.config.media_type) && man.config.media_type != mt::kOciConfig) {
    return InvalidArgument("unsupported config media type " + man.config.media_type);
  }
  out.image_id = man.config.digest.str();
  STRATA_ASSIGN_OR_RETURN(auto existing_image, md.GetImage(out.image_id));
  std::vector<store::LayerRecord> records;
  int64_t size = 0;
  std::optional<std::string> parent;
  std::string config_bytes;
  if (!existing_image) {
    STRATA_ASSIGN_OR_RETURN(config_bytes, repo_.GetBlob(man.config));
    auto cfg = image::Config::Parse(config_bytes);
    if (!cfg) return std::move(cfg).error().Wrap("config " + man.config.digest.str());
    if (cfg->rootfs.diff_ids.size() != man.layers.size()) {
      return InvalidArgument("invalid manifest, layers length mismatch: expected " +
                             std::to_string(cfg->rootfs.diff_ids.size()) + ", got " +
                             std::to_string(man.layers.size()));
    }
    // Which layers are here already (by chain), which blobs are, which to fetch.
    std::vector<std::optional<store::LayerRecord>> have(man.layers.size());
    std::vector<std::unique_ptr<LayerJob>> jobs;
    std::vector<LayerJob*> job_of(man.layers.size(), nullptr);
    std::optional<std::string> chain;
    for (size_t i = 0; i < man.layers.size(); ++i) {
      const image::Descriptor& d = man.layers[i];
      if (!mt::IsLayer(d.media_type) ||
          mt::LayerCompression(d.media_type) == mt::Compression::kUnknown) {
        return InvalidArgument("unsupported layer media type " + d.media_type);
      }
      std::string diff_id = cfg->rootfs.diff_ids[i].str();
      chain = ChainIdOf(chain, diff_id);
      STRATA_ASSIGN_OR_RETURN(auto rec, md.GetLayer(*chain));
      if (rec && snaps->Stat(*chain)) {
        have[i] = *rec;
        progress_.Emit(d.digest.Short(), "Already exists");
        continue;
      }
      auto job = std::make_unique<LayerJob>();
      job->index = i;
      job->desc = d;
      job->diff_id = diff_id;
      job->short_id = d.digest.Short();
      job->local_blob = s_.content().Exists(d.digest);
      job_of[i] = job.get();
      jobs.push_back(std::move(job));
    }
    size_t n = static_cast<size_t>(std::max(1, o_.max_concurrent_downloads));
    for (auto& j : jobs) progress_.Emit(j->short_id, "Pulling fs layer");
    for (size_t k = n; k < jobs.size(); ++k) progress_.Emit(jobs[k]->short_id, "Waiting");

    // Downloads run on up to n threads; this thread commits layers in order as soon as
    // each one and its parents are done.
    std::mutex mu;
    std::condition_variable cv;
    std::atomic<size_t> next{0};
    std::vector<std::thread> workers;
    for (size_t w = 0; w < std::min(n, jobs.size()); ++w) {
      workers.emplace_back([&] {
        for (;;) {
          size_t k = next.fetch_add(1);
          if (k >= jobs.size()) return;
          LayerJob& job = *jobs[k];
          Status st = cancel_ ? Status(Cancelled("pull cancelled")) : Download(job);
          std::lock_guard lk(mu);
          if (!st) {
            job.error = std::move(st).error();
            cancel_ = true;
          }
          job.done = true;
          cv.notify_all();
        }
      });
    }
    auto join = [&] {
      cancel_ = true;
      for (auto& t : workers) t.join();
      workers.clear();
    };
    for (size_t i = 0; i < man.layers.size(); ++i) {
      if (have[i]) {
        records.push_back(*have[i]);
      } else {
        LayerJob& job = *job_of[i];
        {
          std::unique_lock lk(mu);
          cv.wait(lk, [&] { return job.done; });
        }
        if (job.error) {
          // The first failure in order; staged dirs and keepers vanish with the jobs.
          Error e = *job.error;
          join();
          return e;
        }
        auto rec = CommitLayer(job, parent);
        if (!rec) {
          join();
          return std::move(rec).error();
        }
        progress_.Emit(job.short_id, "Pull complete");
        records.push_back(std::move(*rec));
      }
      size += records.back().size;
      parent = records.back().chain_id;
    }
    for (auto& t : workers) t.join();
    workers.clear();
    STRATA_ASSIGN_OR_RETURN(auto cd, s_.content().Put(config_bytes));
    if (cd.str() != out.image_id) return DataLoss("config digest mismatch");
  }
  // The documents stay with the image, so it can be pushed or inspected as pulled.
  STRATA_TRY(s_.content().Put(res.manifest_doc.bytes));
  if (res.index) STRATA_TRY(s_.content().Put(res.index->bytes));

  // Data is durable; now one transaction makes it reachable.
  STRATA_ASSIGN_OR_RETURN(auto tx, s_.db().Begin());
  if (o_.import_cache) {
    if (!existing_image) {
      for (auto& l : records) STRATA_TRY(md.PutLayer(l));
    } else {
      STRATA_ASSIGN_OR_RETURN(config_bytes, ImageConfigBytes(s_, out.image_id));
    }
    STRATA_TRY(o_.import_cache(md, config_bytes));
    STRATA_TRY(tx.Commit());
    return out;
  }
  if (!existing_image) {
    for (auto& l : records) STRATA_TRY(md.PutLayer(l));
    auto cfgj = nlohmann::json::parse(config_bytes, nullptr, false);
    store::ImageRecord img;
    img.id = out.image_id;
    img.top_chain_id = parent;
    img.created =
        cfgj.is_object() ? ParseRfc3339(cfgj.value("created", "")).value_or(0) : int64_t{0};
    img.size = size;
    img.loaded_at = NowUnixNanos();
    STRATA_TRY(md.PutImage(img));
  }
  std::string dref = ref.NameOnly().WithDigest(res.digest).String();
  STRATA_ASSIGN_OR_RETURN(auto prev_digest, md.LookupDigestRef(dref));
  STRATA_TRY(md.AddRepoDigest(dref, out.image_id));
  if (ref.HasDigest()) {
    out.updated = !prev_digest || *prev_digest != out.image_id;
  } else {
    STRATA_ASSIGN_OR_RETURN(auto prev, md.SetTag(ref.String(), out.image_id));
    out.updated = !prev || *prev != out.image_id;
  }
  STRATA_TRY(tx.Commit());
  return out;
}

}  // namespace

Result<std::vector<PullResult>> Pull(Store& s, const std::string& reference,
                                     const PullOptions& options, const PullDone& done) {
  STRATA_ASSIGN_OR_RETURN(image::Reference named, image::ParseNormalizedNamed(reference));
  if (options.all_tags && !named.IsNameOnly()) {
    return InvalidArgument("tag can't be used with --all-tags/-a");
  }
  image::Platform platform = image::HostPlatform();
  if (!options.platform.empty()) {
    STRATA_ASSIGN_OR_RETURN(platform, image::ParsePlatform(options.platform));
  }
  std::optional<registry::RegistryHosts> own_hosts;
  const registry::RegistryHosts* hosts = options.hosts;
  if (hosts == nullptr) {
    registry::HostsOptions ho;
    ho.certs_dirs = registry::DefaultCertsDirs();
    STRATA_ASSIGN_OR_RETURN(own_hosts, registry::RegistryHosts::Load(ho));
    hosts = &*own_hosts;
  }
  registry::RepositoryOptions ro;
  ro.retry = options.retry;
  {
    STRATA_ASSIGN_OR_RETURN(
        auto cf, registry::ConfigFile::Load(registry::DockerConfigDir(options.config_dir)));
    STRATA_ASSIGN_OR_RETURN(ro.credentials, cf.Get(named.Domain()));
  }
  registry::HttpClient http;
  STRATA_ASSIGN_OR_RETURN(
      auto repo, registry::Repository::Open(http, *hosts, named.Domain(), named.Path(), ro));
  RangeClient range;
  range.http = &http;
  {
    registry::AuthorizerOptions ao;
    ao.credentials = ro.credentials;
    ao.hosts = hosts;
    range.auth = std::make_unique<registry::Authorizer>(http, ao);
  }
  STRATA_ASSIGN_OR_RETURN(range.endpoints, hosts->Endpoints(named.Domain()));
  range.scopes.Add(registry::RepositoryScope(named.Path(), /*push=*/false));
  range.path = named.Path();
  range.retry = options.retry;
  STRATA_ASSIGN_OR_RETURN(StoreLock lock, s.Shared());
  // Partial downloads nobody resumed for a day are leftovers.
  (void)s.content().CleanIngest(content::kPartialMaxAgeSeconds);
  STRATA_ASSIGN_OR_RETURN(snapshot::Snapshotter * snaps, s.snapshots());
  ProgressOut progress(options.progress);

  std::vector<image::Reference> refs;
  if (options.all_tags) {
    STRATA_ASSIGN_OR_RETURN(auto tags, repo->ListTags());
    for (const auto& t : tags) {
      STRATA_ASSIGN_OR_RETURN(auto r, named.WithTag(t));
      refs.push_back(std::move(r));
    }
  } else {
    refs.push_back(image::TagNameOnly(named));
  }
  std::vector<PullResult> out;
  for (const auto& r : refs) {
    Puller p(s, *repo, &range, options, progress, *snaps);
    STRATA_ASSIGN_OR_RETURN(auto res, p.Run(r, platform));
    if (done) done(res);
    out.push_back(std::move(res));
  }
  return out;
}

}  // namespace strata::engine
