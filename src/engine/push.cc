#include "engine/push.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>

#include "engine/docker_json.h"
#include "engine/images.h"
#include "engine/layers.h"
#include "image/media_types.h"
#include "image/reference.h"
#include "registry/credentials.h"
#include "store/blob_locations.h"

namespace strata::engine {

namespace mt = image::media_type;

// ---------------------------------------------------------------------------------------------
// Parallel compression.

struct CompressPool::State {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::function<void()>> tasks;
  bool stop = false;
};

CompressPool::CompressPool(int threads) : st_(std::make_unique<State>()) {
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  for (int i = 0; i < threads; ++i) {
    threads_.emplace_back([st = st_.get()] {
      for (;;) {
        std::function<void()> task;
        {
          std::unique_lock lk(st->mu);
          st->cv.wait(lk, [&] { return st->stop || !st->tasks.empty(); });
          if (st->tasks.empty()) return;
          task = std::move(st->tasks.front());
          st->tasks.pop_front();
        }
        task();
      }
    });
  }
}

CompressPool::~CompressPool() {
  {
    std::lock_guard lk(st_->mu);
    st_->stop = true;
  }
  st_->cv.notify_all();
  for (auto& t : threads_) t.join();
}

void CompressPool::Submit(std::function<void()> task) {
  {
    std::lock_guard lk(st_->mu);
    st_->tasks.push_back(std::move(task));
  }
  st_->cv.notify_one();
}

struct ParallelCompressReader::Block {
  std::string in;
  std::string out;
  std::optional<Error> error;
  bool done = false;
  std::mutex mu;
  std::condition_variable cv;
};

ParallelCompressReader::ParallelCompressReader(Reader& src, CompressPool& pool,
                                               archive::Compression c, int level, size_t block_size)
    : src_(src),
      pool_(pool),
      c_(c),
      level_(level),
      block_size_(block_size),
      // Enough blocks to keep every thread busy while this reader waits for the oldest.
      max_inflight_(static_cast<size_t>(pool.threads()) + 2),
      hasher_(std::make_unique<digest::Hasher>()) {}

ParallelCompressReader::~ParallelCompressReader() {
  // Tasks hold the blocks (shared_ptr); wait so no task outlives what it reads.
  for (auto& b : inflight_) {
    std::unique_lock lk(b->mu);
    b->cv.wait(lk, [&] { return b->done; });
  }
}

Status ParallelCompressReader::Fill() {
  while (!eof_ && inflight_.size() < max_inflight_) {
    auto b = std::make_shared<Block>();
    b->in.resize(block_size_);
    size_t have = 0;
    while (have < block_size_) {
      STRATA_ASSIGN_OR_RETURN(size_t k, src_.Read(b->in.data() + have, block_size_ - have));
      if (k == 0) {
        eof_ = true;
        break;
      }
      have += k;
    }
    b->in.resize(have);
    // An empty stream still compresses to one (empty) member: a valid gzip/zstd file.
    if (have == 0 && (size_ > 0 || !inflight_.empty() || !out_.empty())) break;
    inflight_.push_back(b);
    pool_.Submit([b, c = c_, level = level_] {
      StringWriter w;
      Status st = [&]() -> Status {
        STRATA_ASSIGN_OR_RETURN(auto z, archive::NewCompressingWriter(w, c, level));
        STRATA_TRY(z->Write(b->in.data(), b->in.size()));
        return z->Close();
      }();
      std::lock_guard lk(b->mu);
      if (!st) b->error = std::move(st).error();
      b->out = w.take();
      b->in = std::string();
      b->done = true;
      b->cv.notify_all();
    });
  }
  return Ok();
}

Result<size_t> ParallelCompressReader::Read(void* buf, size_t n) {
  while (out_pos_ == out_.size()) {
    STRATA_TRY(Fill());
    if (inflight_.empty()) return size_t{0};
    auto b = inflight_.front();
    {
      std::unique_lock lk(b->mu);
      b->cv.wait(lk, [&] { return b->done; });
    }
    inflight_.erase(inflight_.begin());
    if (b->error) return *b->error;
    out_ = std::move(b->out);
    out_pos_ = 0;
    hasher_->Update(out_.data(), out_.size());
    size_ += out_.size();
    // Keep the next blocks compressing while this one is sent.
    STRATA_TRY(Fill());
  }
  size_t k = std::min(n, out_.size() - out_pos_);
  std::memcpy(buf, out_.data() + out_pos_, k);
  out_pos_ += k;
  return k;
}

digest::Digest ParallelCompressReader::Digest() const { return hasher_->Sum(); }

// ---------------------------------------------------------------------------------------------
// Push.

namespace {

// A layer to push, with everything read from the database beforehand (the upload threads
// do not touch it).
struct LayerJob {
  store::LayerRecord layer;
  std::string short_id;
  // Known compressed blobs of this layer: where they were pushed or pulled from.
  std::vector<store::BlobLocation> known;
  // The compressed blob kept in content/, if any.
  std::optional<image::Descriptor> local_blob;
  // Result.
  image::Descriptor desc;
  bool uploaded = false;                   // strata sent the bytes (not already there, not mounted)
  std::vector<store::BlobLocation> stale;  // recorded locations the registry no longer has
  std::optional<Error> error;
};

// The OCI media type for a layer blob of the given type (same bytes).
std::string OciLayerType(const std::string& t) {
  if (t == mt::kDockerLayerGzip) return std::string(mt::kOciLayerGzip);
  if (t == mt::kDockerLayer) return std::string(mt::kOciLayer);
  if (t == mt::kDockerLayerZstd) return std::string(mt::kOciLayerZstd);
  return t;
}

class Pusher {
 public:
  Pusher(Store& s, registry::Repository& repo, const image::Reference& name, const PushOptions& o,
         ProgressOut& progress, CompressPool& pool)
      : s_(s), repo_(repo), name_(name), o_(o), progress_(progress), pool_(pool) {}

  Result<PushResult> Run(const image::Reference& tagged, const std::string& image_id,
                         const std::map<std::string, std::set<std::string>>& pulled_from);

 private:
  Status PushLayer(LayerJob& job);
  Status UploadCompressing(LayerJob& job, std::optional<registry::Upload> session);

  Store& s_;
  registry::Repository& repo_;
  const image::Reference& name_;
  const PushOptions& o_;
  ProgressOut& progress_;
  CompressPool& pool_;
};

Status Pusher::UploadCompressing(LayerJob& job, std::optional<registry::Upload> session) {
  uint64_t total = static_cast<uint64_t>(std::max<int64_t>(job.layer.size, 0));
  auto backoff = o_.retry.initial_backoff;
  for (int attempt = 1;; ++attempt) {
    registry::Upload up;
    if (session) {
      up = std::move(*session);
      session.reset();
    } else {
      STRATA_ASSIGN_OR_RETURN(up, repo_.StartUpload());
    }
    Status st = [&]() -> Status {
      STRATA_ASSIGN_OR_RETURN(LayerTar lt, OpenLayerTar(s_, job.layer));
      uint64_t last = 0;
      registry::BlobProgress report = [&](uint64_t done, uint64_t) {
        if (done - last < (512u << 10)) return;
        last = done;
        progress_.Emit(job.short_id, "Pushing", done, total);
      };
      // Progress counts the layer's uncompressed bytes as they are read, as docker's does.
      class Counting : public Reader {
       public:
        Counting(Reader& r, registry::BlobProgress& p) : r_(r), p_(p) {}
        Result<size_t> Read(void* buf, size_t n) override {
          STRATA_ASSIGN_OR_RETURN(size_t k, r_.Read(buf, n));
          done_ += k;
          p_(done_, 0);
          return k;
        }

       private:
        Reader& r_;
        registry::BlobProgress& p_;
        uint64_t done_ = 0;
      } counting(*lt.reader, report);
      ParallelCompressReader z(counting, pool_, o_.compression, o_.compression_level);
      STRATA_TRY(repo_.UploadChunk(up, z, std::nullopt));
      job.desc.digest = z.Digest();
      job.desc.size = static_cast<int64_t>(z.size());
      job.desc.media_type = o_.compression == archive::Compression::kZstd
                                ? std::string(mt::kOciLayerZstd)
                                : std::string(mt::kOciLayerGzip);
      return repo_.FinishUpload(up, job.desc.digest);
    }();
    if (st) return st;
    repo_.CancelUpload(up);
    Error e = std::move(st).error();
    if (e.code != ErrorCode::kUnavailable || attempt >= o_.retry.max_attempts) return e;
    std::this_thread::sleep_for(backoff);
    backoff = std::min(backoff * 2, o_.retry.max_backoff);
  }
}

Status Pusher::PushLayer(LayerJob& job) {
  const std::string target = name_.Name();
  // 1. A blob this repository is known to have, or any known blob of the layer that the
  //    registry may have here already: HEAD.
  std::set<std::string> checked;
  auto try_head = [&](const store::BlobLocation& loc) -> Result<bool> {
    if (!checked.insert(loc.digest).second) return false;
    STRATA_ASSIGN_OR_RETURN(auto d, digest::Digest::Parse(loc.digest));
    STRATA_ASSIGN_OR_RETURN(auto have, repo_.StatBlob(d));
    if (!have) {
      if (loc.repository == target) job.stale.push_back(loc);
      return false;
    }
    job.desc.digest = d;
    job.desc.size = loc.size;
    job.desc.media_type = loc.media_type;
    progress_.Emit(job.short_id, "Layer already exists");
    return true;
  };
  for (const auto& loc : job.known) {
    if (loc.repository != target) continue;
    STRATA_ASSIGN_OR_RETURN(bool ok, try_head(loc));
    if (ok) return Ok();
  }
  if (job.local_blob) {
    store::BlobLocation l{job.layer.diff_id, target, job.local_blob->digest.str(),
                          job.local_blob->media_type, job.local_blob->size};
    STRATA_ASSIGN_OR_RETURN(bool ok, try_head(l));
    if (ok) return Ok();
  }
  // 2. Cross-repository mount from where the blob came from (same registry).
  std::optional<registry::Upload> session;
  for (const auto& loc : job.known) {
    auto src = image::ParseNormalizedNamed(loc.repository);
    if (!src || src->Domain() != name_.Domain() || src->Path() == name_.Path()) continue;
    STRATA_ASSIGN_OR_RETURN(auto d, digest::Digest::Parse(loc.digest));
    registry::Upload up;
    auto mounted = repo_.MountBlob(d, src->Path(), &up);
    if (!mounted) continue;  // no access to the source: upload instead, as docker does
    if (*mounted) {
      job.desc.digest = d;
      job.desc.size = loc.size;
      job.desc.media_type = loc.media_type;
      progress_.Emit(job.short_id, "Mounted from " + src->Path());
      return Ok();
    }
    if (session) repo_.CancelUpload(*session);
    session = std::move(up);
  }
  // 3. Upload: the stored compressed blob as it is, else the layer compressed on the way.
  job.uploaded = true;
  if (job.local_blob && s_.content().Exists(job.local_blob->digest)) {
    if (session) repo_.CancelUpload(*session);
    job.desc = *job.local_blob;
    uint64_t total = static_cast<uint64_t>(job.desc.size);
    uint64_t last = 0;
    registry::BlobProgress report = [&](uint64_t done, uint64_t) {
      if (done - last < (512u << 10) && done != total) return;
      last = done;
      progress_.Emit(job.short_id, "Pushing", done, total);
    };
    auto open = [&](uint64_t offset) -> Result<std::unique_ptr<Reader>> {
      STRATA_ASSIGN_OR_RETURN(auto r, s_.content().Open(job.desc.digest, /*verify=*/false));
      // Skip to the offset (resume after a failed chunk).
      uint64_t left = offset;
      std::string skip(std::min<uint64_t>(left, 1 << 20), '\0');
      while (left > 0) {
        STRATA_ASSIGN_OR_RETURN(size_t k,
                                r->Read(skip.data(), std::min<uint64_t>(left, skip.size())));
        if (k == 0) return DataLoss("blob " + job.desc.digest.str() + " is shorter than recorded");
        left -= k;
      }
      return r;
    };
    STRATA_TRY(repo_.PushBlob(job.desc, open, report, o_.blob));
  } else {
    STRATA_TRY(UploadCompressing(job, std::move(session)));
  }
  progress_.Emit(job.short_id, "Pushed");
  return Ok();
}

Result<PushResult> Pusher::Run(const image::Reference& tagged, const std::string& image_id,
                               const std::map<std::string, std::set<std::string>>& pulled_from) {
  store::Metadata& md = s_.metadata();
  STRATA_ASSIGN_OR_RETURN(std::string config, ImageConfigBytes(s_, image_id));
  STRATA_ASSIGN_OR_RETURN(auto img, md.GetImage(image_id));
  if (!img) return NotFound("No such image: " + image_id);
  std::vector<store::LayerRecord> layers;  // top first, as docker lists them
  if (img->top_chain_id) {
    STRATA_ASSIGN_OR_RETURN(layers, md.LayerChain(*img->top_chain_id));
  }

  // One job per distinct layer; the database is read here, not on the upload threads.
  std::vector<std::unique_ptr<LayerJob>> jobs;
  std::map<std::string, LayerJob*> by_diff;
  for (const auto& l : layers) {
    if (by_diff.count(l.diff_id)) continue;
    auto job = std::make_unique<LayerJob>();
    job->layer = l;
    STRATA_ASSIGN_OR_RETURN(auto d, digest::Digest::Parse(l.diff_id));
    job->short_id = d.Short();
    STRATA_ASSIGN_OR_RETURN(job->known, store::BlobLocationsOf(s_.db(), l.diff_id));
    if (l.blob_digest && *l.blob_digest != l.diff_id && l.blob_media_type && l.blob_size) {
      STRATA_ASSIGN_OR_RETURN(auto bd, digest::Digest::Parse(*l.blob_digest));
      image::Descriptor desc;
      desc.digest = bd;
      desc.size = *l.blob_size;
      desc.media_type = *l.blob_media_type;
      if (s_.content().Exists(bd)) job->local_blob = desc;
      // The repositories it was pulled from are mount sources.
      if (auto it = pulled_from.find(l.chain_id); it != pulled_from.end()) {
        for (const auto& repo : it->second) {
          job->known.push_back({l.diff_id, repo, bd.str(), desc.media_type, desc.size});
        }
      }
    }
    by_diff[l.diff_id] = job.get();
    jobs.push_back(std::move(job));
  }
  size_t n = static_cast<size_t>(std::max(1, o_.max_concurrent_uploads));
  for (auto& j : jobs) progress_.Emit(j->short_id, "Preparing");
  for (size_t k = n; k < jobs.size(); ++k) progress_.Emit(jobs[k]->short_id, "Waiting");

  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::vector<std::thread> workers;
  for (size_t w = 0; w < std::min(n, jobs.size()); ++w) {
    workers.emplace_back([&] {
      for (;;) {
        size_t k = next.fetch_add(1);
        if (k >= jobs.size() || failed) return;
        Status st = PushLayer(*jobs[k]);
        if (!st) {
          jobs[k]->error = std::move(st).error();
          failed = true;
        }
      }
    });
  }
  for (auto& t : workers) t.join();
  for (auto& j : jobs) {
    if (j->error) return *j->error;
  }

  // The manifest: schema 2 when every blob is a Docker type as pulled, OCI otherwise (with
  // reused Docker-typed blobs given their OCI names: same bytes).
  bool docker = !jobs.empty();
  for (auto& j : jobs) docker = docker && mt::IsDocker(j->desc.media_type);
  nlohmann::ordered_json m;
  m["schemaVersion"] = 2;
  std::string media_type(docker ? mt::kDockerManifest : mt::kOciManifest);
  m["mediaType"] = media_type;
  digest::Digest config_digest = digest::Sha256Of(config);
  m["config"] = {{"mediaType", docker ? mt::kDockerConfig : mt::kOciConfig},
                 {"digest", config_digest.str()},
                 {"size", config.size()}};
  m["layers"] = nlohmann::ordered_json::array();
  for (auto it = layers.rbegin(); it != layers.rend(); ++it) {
    const LayerJob& j = *by_diff[it->diff_id];
    m["layers"].push_back(
        {{"mediaType", docker ? j.desc.media_type : OciLayerType(j.desc.media_type)},
         {"digest", j.desc.digest.str()},
         {"size", j.desc.size}});
  }
  std::string manifest = GoJson(m);
  // An image pushed with the very blobs it was pulled with keeps the manifest it came with
  // (same bytes, so the same digest as at the source).
  for (const auto& rd : img->repo_digests) {
    auto at = rd.find('@');
    if (at == std::string::npos) continue;
    auto d = digest::Digest::Parse(rd.substr(at + 1));
    if (!d || !s_.content().Exists(*d)) continue;
    auto r = s_.content().Open(*d, /*verify=*/true);
    if (!r) continue;
    auto bytes = ReadAll(**r, 4 << 20);
    if (!bytes) continue;
    auto old = nlohmann::ordered_json::parse(*bytes, nullptr, false);
    if (!old.is_object() || !old.contains("layers") || !old.contains("config")) continue;
    auto strip = [](const nlohmann::ordered_json& j) {
      nlohmann::ordered_json out = nlohmann::ordered_json::array();
      for (const auto& l : j) {
        out.push_back({l.value("mediaType", ""), l.value("digest", ""), l.value("size", 0)});
      }
      return out;
    };
    if (strip(old["layers"]) == strip(m["layers"]) &&
        old["config"].value("digest", "") == config_digest.str() &&
        old.value("mediaType", "") == media_type) {
      manifest = std::move(*bytes);
      break;
    }
  }

  // Config, then the manifest that names everything.
  STRATA_ASSIGN_OR_RETURN(auto have_config, repo_.StatBlob(config_digest));
  if (!have_config) {
    image::Descriptor cd;
    cd.digest = config_digest;
    cd.size = static_cast<int64_t>(config.size());
    cd.media_type = m["config"]["mediaType"];
    STRATA_TRY(repo_.PushBlob(cd, [&](uint64_t off) -> Result<std::unique_ptr<Reader>> {
      return std::unique_ptr<Reader>(
          std::make_unique<StringReader>(std::string_view(config).substr(off)));
    }));
  }
  STRATA_ASSIGN_OR_RETURN(auto md_digest, repo_.PutManifest(tagged.Tag(), media_type, manifest));

  // Remember what is where, for the next push (and the RepoDigest, as docker records it).
  STRATA_ASSIGN_OR_RETURN(auto tx, s_.db().Begin());
  for (auto& j : jobs) {
    for (auto& st : j->stale) STRATA_TRY(store::RemoveBlobLocation(s_.db(), st));
    STRATA_TRY(store::AddBlobLocation(
        s_.db(),
        {j->layer.diff_id, name_.Name(), j->desc.digest.str(), j->desc.media_type, j->desc.size}));
  }
  STRATA_TRY(md.AddRepoDigest(tagged.NameOnly().WithDigest(md_digest).String(), image_id));
  STRATA_TRY(tx.Commit());

  PushResult out;
  out.tag = tagged.Tag();
  out.digest = md_digest.str();
  out.size = static_cast<int64_t>(manifest.size());
  out.media_type = media_type;
  return out;
}

}  // namespace

Result<std::vector<PushResult>> Push(Store& s, const std::string& reference, const PushOptions& o,
                                     const PushDone& done) {
  STRATA_ASSIGN_OR_RETURN(image::Reference named, image::ParseNormalizedNamed(reference));
  if (o.all_tags && !named.IsNameOnly()) {
    return InvalidArgument("tag can't be used with --all-tags/-a");
  }
  if (named.HasDigest()) return InvalidArgument("cannot push a digest reference");
  image::Reference name = named.NameOnly();
  if (o.on_start) o.on_start(name.Name());

  // What to push: the tag asked for, or every local tag of the repository (lexical order).
  store::Metadata& md = s.metadata();
  STRATA_ASSIGN_OR_RETURN(auto images, md.ListImages());
  std::vector<std::pair<std::string, std::string>> local;    // ref -> image ID
  std::map<std::string, std::set<std::string>> pulled_from;  // chain ID -> repositories
  for (const auto& img : images) {
    for (const auto& t : img.tags) {
      auto r = image::ParseNormalizedNamed(t);
      if (r && r->Name() == name.Name()) local.emplace_back(t, img.id);
    }
    if (!img.repo_digests.empty() && img.top_chain_id) {
      STRATA_ASSIGN_OR_RETURN(auto chain, md.LayerChain(*img.top_chain_id));
      for (const auto& rd : img.repo_digests) {
        auto r = image::ParseNormalizedNamed(rd);
        if (!r) continue;
        for (const auto& l : chain) pulled_from[l.chain_id].insert(r->Name());
      }
    }
  }
  std::sort(local.begin(), local.end());
  if (local.empty()) {
    return NotFound("An image does not exist locally with the tag: " + name.FamiliarName());
  }
  std::vector<std::pair<image::Reference, std::string>> todo;
  if (o.all_tags) {
    for (auto& [ref, id] : local) {
      STRATA_ASSIGN_OR_RETURN(auto r, image::ParseNormalizedNamed(ref));
      todo.emplace_back(r, id);
    }
  } else {
    image::Reference tagged = image::TagNameOnly(named);
    STRATA_ASSIGN_OR_RETURN(auto id, md.LookupTag(tagged.String()));
    if (!id) return NotFound("tag does not exist: " + tagged.FamiliarString());
    todo.emplace_back(tagged, *id);
  }

  std::optional<registry::RegistryHosts> own_hosts;
  const registry::RegistryHosts* hosts = o.hosts;
  if (hosts == nullptr) {
    registry::HostsOptions ho;
    ho.certs_dirs = registry::DefaultCertsDirs();
    STRATA_ASSIGN_OR_RETURN(own_hosts, registry::RegistryHosts::Load(ho));
    hosts = &*own_hosts;
  }
  registry::RepositoryOptions ro;
  ro.retry = o.retry;
  ro.push = true;
  {
    STRATA_ASSIGN_OR_RETURN(auto cf,
                            registry::ConfigFile::Load(registry::DockerConfigDir(o.config_dir)));
    STRATA_ASSIGN_OR_RETURN(ro.credentials, cf.Get(name.Domain()));
  }
  registry::HttpClient http;
  STRATA_ASSIGN_OR_RETURN(auto repo,
                          registry::Repository::Open(http, *hosts, name.Domain(), name.Path(), ro));
  STRATA_ASSIGN_OR_RETURN(StoreLock lock, s.Shared());
  STRATA_TRY(s.snapshots());  // opened here, not by the upload threads
  ProgressOut progress(o.progress);
  CompressPool pool(o.compress_threads);
  std::vector<PushResult> out;
  for (auto& [tagged, id] : todo) {
    Pusher p(s, *repo, name, o, progress, pool);
    STRATA_ASSIGN_OR_RETURN(auto res, p.Run(tagged, id, pulled_from));
    if (done) done(res);
    out.push_back(std::move(res));
  }
  return out;
}

}  // namespace strata::engine
