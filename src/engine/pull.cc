#include "engine/pull.h"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "engine/layers.h"
#include "engine/timefmt.h"
#include "image/config.h"
#include "image/media_types.h"
#include "image/reference.h"
#include "registry/credentials.h"
#include "util/fs.h"

namespace strata::engine {
namespace {

namespace mt = image::media_type;

// Serializes progress callbacks from the download threads.
class ProgressOut {
 public:
  explicit ProgressOut(const std::function<void(const PullProgress&)>& fn) : fn_(fn) {}
  void Emit(const std::string& id, const std::string& status, uint64_t cur = 0,
            uint64_t total = 0) {
    if (!fn_) return;
    std::lock_guard lk(mu_);
    fn_(PullProgress{id, status, cur, total});
  }

 private:
  const std::function<void(const PullProgress&)>& fn_;
  std::mutex mu_;
};

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
  AppliedLayer applied;
  std::optional<Error> error;
  bool done = false;
};

// docker's message when the layers do not hash to the config's rootfs.
Error RootFsMismatch(size_t i, const std::string& want, const std::string& got) {
  return DataLoss("layers from manifest don't match image configuration: layer " +
                  std::to_string(i) + " has diff ID " + got + ", config says " + want);
}

class Puller {
 public:
  Puller(Store& s, registry::Repository& repo, const PullOptions& o, ProgressOut& progress,
         snapshot::Snapshotter& snaps)
      : s_(s), repo_(repo), o_(o), progress_(progress), snaps_(snaps) {}

  Result<PullResult> Run(const image::Reference& ref, const image::Platform& platform);

 private:
  Status Download(LayerJob& job);
  Result<store::LayerRecord> CommitLayer(LayerJob& job, const std::optional<std::string>& parent);

  Store& s_;
  registry::Repository& repo_;
  const PullOptions& o_;
  ProgressOut& progress_;
  snapshot::Snapshotter& snaps_;
  bool stage_ = false;
  std::atomic<bool> cancel_{false};
};

Status Puller::Download(LayerJob& job) {
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
  if (!ref.HasDigest() && o_.platform.empty()) {
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
  STRATA_ASSIGN_OR_RETURN(StoreLock lock, s.Shared());
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
    Puller p(s, *repo, options, progress, *snaps);
    STRATA_ASSIGN_OR_RETURN(auto res, p.Run(r, platform));
    if (done) done(res);
    out.push_back(std::move(res));
  }
  return out;
}

}  // namespace strata::engine
