#include "engine/build.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "archive/diff.h"
#include "build/copy.h"
#include "build/dockerfile/dockerignore.h"
#include "build/dockerfile/plan.h"
#include "build/hash_cache.h"
#include "build/history.h"
#include "build/user.h"
#include "digest/hasher.h"
#include "engine/archive_io.h"
#include "engine/build_history.h"
#include "engine/docker_json.h"
#include "engine/http_source.h"
#include "engine/images.h"
#include "engine/layers.h"
#include "engine/pull.h"
#include "engine/push.h"
#include "engine/timefmt.h"
#include "exec/network.h"
#include "exec/sandbox.h"
#include "image/reference.h"
#include "snapshot/mount.h"
#include "util/fs.h"
#include "util/once_map.h"

namespace strata::engine {
namespace {

using ojson = nlohmann::ordered_json;
using dockerfile::Plan;
using dockerfile::PlanStage;
using dockerfile::Step;

constexpr const char* kLayerMediaType = "application/vnd.docker.image.rootfs.diff.tar";

std::string Sha256Of(std::string_view s) {
  digest::Hasher h;
  h.Update(s.data(), s.size());
  return h.Sum().str();
}

// The filesystem a stage has reached: the snapshot chain on top, the layers and
// history so far, and the cache key that names this state.
struct FsState {
  std::optional<std::string> chain;
  std::vector<std::string> diff_ids;
  ojson history = ojson::array();
  std::string key;
  std::string made_by;  // the step (or FROM) that produced it, for explaining cache misses
  // Per layer made by a step of this build: {"key", "layer" (index), "created"}, what
  // --cache-to exports.
  ojson cache = ojson::array();
  int64_t size = 0;
};

// A base image in the store: its ID, config JSON and layers.
struct BaseInfo {
  std::string id;
  ojson config;
  std::optional<std::string> top_chain;
};

// A writable snapshot mounted on a scratch directory, undone unless committed.
class Workspace {
 public:
  Workspace(Store& s, snapshot::Snapshotter& snaps) : s_(s), snaps_(snaps) {}
  ~Workspace() {
    (void)mount_.Unmount();
    if (!key_.empty()) (void)snaps_.Remove(key_);
  }
  Status Prepare(const std::optional<std::string>& parent) {
    key_ = "build-" + RandomHex();
    STRATA_ASSIGN_OR_RETURN(auto mounts, snaps_.Prepare(key_, parent.value_or("")));
    STRATA_ASSIGN_OR_RETURN(dir_, TempDir::Create(s_.TmpDir(), "build-root-"));
    STRATA_ASSIGN_OR_RETURN(mount_, snapshot::MountAll(mounts, dir_.path()));
    return Ok();
  }
  const std::string& rootfs() const { return dir_.path(); }
  const std::string& key() const { return key_; }
  Status Unmount() { return mount_.Unmount(); }
  void Forget() { key_.clear(); }

 private:
  static std::string RandomHex() {
    unsigned char b[8];
    UniqueFd fd(::open("/dev/urandom", O_RDONLY | O_CLOEXEC));
    if (!fd.valid() || ::read(fd.get(), b, sizeof b) != sizeof b) {
      auto t = std::chrono::steady_clock::now().time_since_epoch().count();
      std::memcpy(b, &t, sizeof b);
    }
    static const char* hex = "0123456789abcdef";
    std::string out;
    for (unsigned char c : b) {
      out += hex[c >> 4];
      out += hex[c & 15];
    }
    return out;
  }
  Store& s_;
  snapshot::Snapshotter& snaps_;
  std::string key_;
  TempDir dir_;
  snapshot::MountGuard mount_;
};

// A read-only mount of a chain (COPY --from, RUN --mount=from), or an empty dir.
class View {
 public:
  View(Store& s, snapshot::Snapshotter& snaps) : s_(s), snaps_(snaps) {}
  ~View() {
    (void)mount_.Unmount();
    if (!key_.empty()) (void)snaps_.Remove(key_);
  }
  Status Open(const std::optional<std::string>& chain) {
    STRATA_ASSIGN_OR_RETURN(dir_, TempDir::Create(s_.TmpDir(), "build-view-"));
    if (!chain) return Ok();
    key_ = "view-" + std::to_string(::getpid()) + "-" + std::to_string(++counter_) + "-" +
           Sha256Of(*chain + dir_.path()).substr(7, 12);
    STRATA_ASSIGN_OR_RETURN(auto mounts, snaps_.View(key_, *chain));
    STRATA_ASSIGN_OR_RETURN(mount_, snapshot::MountAll(mounts, dir_.path()));
    return Ok();
  }
  const std::string& root() const { return dir_.path(); }

 private:
  static inline std::atomic<int> counter_{0};
  Store& s_;
  snapshot::Snapshotter& snaps_;
  std::string key_;
  TempDir dir_;
  snapshot::MountGuard mount_;
};

class Builder {
 public:
  Builder(Store& s, const BuildOptions& o) : s_(s), o_(o) {}

  Result<BuildResult> Run() {
    // The context's hash cache loads while the store opens and the Dockerfile is planned.
    hash_cache_load_ = std::async(
        std::launch::async, [dir = s_.root() + "/build"] { return build::HashCache::Open(dir); });
    STRATA_ASSIGN_OR_RETURN(StoreLock lock, s_.Shared());
    STRATA_ASSIGN_OR_RETURN(snaps_, s_.snapshots());
    if (snaps_->Driver() != "overlay") {
      return FailedPrecondition("strata build needs the overlay snapshotter; this store uses " +
                                std::string(snaps_->Driver()));
    }
    STRATA_TRY(LoadContext());
    STRATA_TRY(MakePlan());
    ImportCache();
    for (int idx : plan_.order) {
      for (const auto& step : plan_.stages[idx].steps) {
        auto* run = std::get_if<dockerfile::RunCommand>(&step.instruction.command);
        if (run && NetworkFor(*run) == "default") ++sandbox_runs_left_;
      }
    }
    start_ = std::chrono::steady_clock::now();

    // Every needed stage on its own thread; a stage waits for the stages it reads.
    states_.resize(plan_.stages.size());
    done_.assign(plan_.stages.size(), false);
    failed_.assign(plan_.stages.size(), false);
    // Ctrl-C arrives as a flag: poll it, but wake at once when the build ends.
    bool finished = false;
    std::mutex watch_mu;
    std::condition_variable watch_cv;
    std::thread watcher([&] {
      std::unique_lock<std::mutex> wl(watch_mu);
      while (!watch_cv.wait_for(wl, std::chrono::milliseconds(50), [&] { return finished; })) {
        if (o_.cancel && o_.cancel->load()) {
          std::lock_guard<std::mutex> l(mu_);
          abort_ = true;
          cv_.notify_all();
        }
      }
    });
    std::vector<std::thread> threads;
    for (int idx : plan_.order) {
      threads.emplace_back([this, idx] {
        Status st = RunStage(idx);
        std::lock_guard<std::mutex> l(mu_);
        if (!st) {
          failed_[idx] = true;
          if (!error_) error_ = st.error();
          abort_ = true;
        }
        done_[idx] = true;
        cv_.notify_all();
      });
    }
    for (auto& t : threads) t.join();
    {
      std::lock_guard<std::mutex> wl(watch_mu);
      finished = true;
    }
    watch_cv.notify_all();
    watcher.join();
    if (o_.cancel && o_.cancel->load()) return strata::Cancelled("build cancelled");
    if (error_) return *error_;
    (void)hash_cache_->Save();  // only a speed-up for the next build
    BuildResult r;
    if (o_.exporter.FilesOnly()) {
      STRATA_TRY(ExportFiles(plan_.stages[plan_.target]));
    } else {
      STRATA_ASSIGN_OR_RETURN(r.image_id, Export(plan_.stages[plan_.target]));
    }
    for (auto& w : plan_.warnings) r.warnings.push_back(w.message);
    for (auto& w : warnings_) r.warnings.push_back(w);
    return r;
  }

 private:
  // --- output ----------------------------------------------------------------
  int NextVertex() { return ++vertex_; }
  void Line(const std::string& line) {
    if (!o_.output) return;
    std::lock_guard<std::mutex> l(out_mu_);
    o_.output(line);
  }
  double Since(std::chrono::steady_clock::time_point t) const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
  }
  static std::string Secs(double s) {
    char buf[32];
    snprintf(buf, sizeof buf, "%.1fs", s);
    return buf;
  }

  // --- layers ----------------------------------------------------------------
  struct StoredLayerTar {
    archive::LayerTar tar;
    std::string blob_digest;               // the uncompressed tar's digest: the diff ID
    std::optional<std::string> tar_split;  // set: the tar itself is not stored
  };

  // A step's layer is kept as its tar-split (headers and file order, archive/tar_split.h):
  // save and push rebuild the tar from it and the committed snapshot, checked against the diff
  // ID, as for loaded layers. So a COPY of 100 MB writes its files once, not also a 100 MB
  // tar. A tree the split cannot describe gets its tar stored as a blob instead.
  Result<StoredLayerTar> StoreLayerTar(const std::string& upper,
                                       const archive::TarTreeOptions& to) {
    StoredLayerTar out;
    {
      STRATA_ASSIGN_OR_RETURN(auto split, TarSplitBlob::Create(s_));
      STRATA_ASSIGN_OR_RETURN(out.tar, archive::WriteLayerTar(upper, *split, to));
      STRATA_ASSIGN_OR_RETURN(bool whole, split->Finish(out.tar.size));
      if (whole) {
        STRATA_ASSIGN_OR_RETURN(digest::Digest d, split->Commit());
        out.tar_split = d.str();
        out.blob_digest = out.tar.diff_id.str();
        return out;
      }
    }
    STRATA_ASSIGN_OR_RETURN(auto blob, s_.content().Ingest());
    STRATA_ASSIGN_OR_RETURN(out.tar, archive::WriteLayerTar(upper, blob, to));
    STRATA_ASSIGN_OR_RETURN(auto d, blob.Commit());
    out.blob_digest = d.str();
    return out;
  }

  // --- context and plan ------------------------------------------------------
  // The checksum of a selection of the context, computed once per build: `COPY . /src` in
  // one stage and `COPY . /app` in another walk the context once (the second waits for the
  // first when both ask at the same time). The per-file hashes come from the same walk, for
  // explaining a miss without walking again.
  struct ContextSum {
    digest::Digest sum;
    std::shared_ptr<const build::FileSums> files;
  };
  Result<ContextSum> ContextChecksum(const build::CopyRequest& req) {
    std::string key = ojson{req.sources, req.excludes, req.parents, req.is_add}.dump();
    return context_sums_.Get(key, [&]() -> Result<ContextSum> {
      auto files = std::make_shared<build::FileSums>();
      STRATA_ASSIGN_OR_RETURN(auto d, build::ChecksumSources(ContextSource(), req, files.get()));
      return ContextSum{d, std::move(files)};
    });
  }

  build::CopySource ContextSource() {
    // A context received on stdin lives in a fresh temp dir: its paths never come back, so
    // remembering their digests would only grow the hash cache.
    build::HashCache* cache = stdin_context_.path().empty() ? hash_cache_.get() : nullptr;
    return build::CopySource{o_.context_dir, &ignore_, cache, true};
  }

  // ADD <url>: each URL is fetched once per build, when the first step that names it computes
  // its cache key (the content digest is part of the key); running the step copies that same
  // file. Stages that name the same URL share the download; its directory goes with the build.
  Result<std::shared_ptr<const HttpDownload>> Download(const std::string& url) {
    using Fetched = Result<std::shared_ptr<const HttpDownload>>;
    return downloads_.Get(url, [&]() -> Fetched {
      // BuildKit shows the HTTP source as a vertex of its own.
      std::string vx = "#" + std::to_string(NextVertex());
      Line(vx + " " + url);
      auto t0 = std::chrono::steady_clock::now();
      std::call_once(http_once_, [this] { http_ = std::make_unique<registry::HttpClient>(); });
      auto r = FetchHttpSource(*http_, url, s_.TmpDir(), [this] { return Stopping(); });
      if (r) {
        Line(vx + " DONE " + Secs(Since(t0)));
        return std::make_shared<const HttpDownload>(std::move(*r));
      }
      if (r.error().code == ErrorCode::kCancelled) {
        Line(vx + " CANCELED");
        return strata::Cancelled("build cancelled");
      }
      Line(vx + " ERROR: " + r.error().message);
      return r.error().Wrap("failed to load cache key");
    });
  }

  // docker build -: stdin is spooled to the store's tmp; an archive becomes the context
  // directory, anything else is the Dockerfile of an empty context.
  Status ReceiveContext() {
    STRATA_ASSIGN_OR_RETURN(stdin_context_, TempDir::Create(s_.root() + "/tmp", "context-"));
    std::string spool = stdin_context_.path() + "/.stdin";
    {
      UniqueFd out(::open(spool.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
      if (!out) return ErrnoError("spool build context");
      FdWriter w(out.get());
      STRATA_TRY_CTX(Copy(*o_.context_stream, w), "read build context from stdin");
    }
    UniqueFd in(::open(spool.c_str(), O_RDONLY | O_CLOEXEC));
    if (!in) return ErrnoError("open " + spool);
    std::string dir = stdin_context_.path() + "/context";
    if (::mkdir(dir.c_str(), 0755) != 0) return ErrnoError("mkdir " + dir);
    if (build::IsArchive(in.get())) {
      STRATA_TRY(build::ExtractArchive(in.get(), dir, "build context"));
      std::string rel = o_.dockerfile_path.empty() ? "Dockerfile" : o_.dockerfile_path;
      STRATA_ASSIGN_OR_RETURN(std::string clean, archive::CleanLayerPath(rel));
      o_.dockerfile_path = dir + "/" + clean;
    } else if (!o_.dockerfile_text) {
      STRATA_ASSIGN_OR_RETURN(o_.dockerfile_text, ReadFile(spool, 16 << 20));
    }
    ::unlink(spool.c_str());
    o_.context_dir = dir;
    return Ok();
  }

  Status LoadContext() {
    STRATA_ASSIGN_OR_RETURN(hash_cache_, hash_cache_load_.get());
    if (o_.context_stream) STRATA_TRY(ReceiveContext());
    if (!o_.context_dir.empty()) {
      struct stat st;
      if (::stat(o_.context_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
        return InvalidArgument("unable to prepare context: path \"" + o_.context_dir +
                               "\" not found");
      }
    }
    dockerfile_path_ =
        o_.dockerfile_path.empty() ? o_.context_dir + "/Dockerfile" : o_.dockerfile_path;
    int v = NextVertex();
    Line("#" + std::to_string(v) + " [internal] load build definition from " +
         std::filesystem::path(dockerfile_path_).filename().string());
    if (o_.dockerfile_text) {
      dockerfile_text_ = *o_.dockerfile_text;
    } else {
      auto text = ReadFile(dockerfile_path_, 16 << 20);
      if (!text) {
        return NotFound("failed to read dockerfile: open " + dockerfile_path_ +
                        ": no such file or directory");
      }
      dockerfile_text_ = std::move(*text);
    }
    Line("#" + std::to_string(v) +
         " transferring dockerfile: " + std::to_string(dockerfile_text_.size()) + "B done");
    Line("#" + std::to_string(v) + " DONE 0.0s");
    v = NextVertex();
    Line("#" + std::to_string(v) + " [internal] load .dockerignore");
    std::string ignore_file = dockerfile::IgnoreFileFor(
        o_.context_dir, o_.dockerfile_text ? std::string() : dockerfile_path_);
    std::vector<std::string> patterns;
    if (auto text = ReadFile(ignore_file, 16 << 20)) {
      STRATA_ASSIGN_OR_RETURN(patterns, dockerfile::ParseDockerignore(*text));
    }
    STRATA_ASSIGN_OR_RETURN(ignore_, dockerfile::Matcher::Create(patterns));
    Line("#" + std::to_string(v) + " DONE 0.0s");
    return Ok();
  }

  // Makes sure an image is in the store (pulling it when absent or with
  // --pull) and returns it.
  Result<BaseInfo> EnsureImage(const std::string& ref) {
    {
      std::lock_guard<std::mutex> l(images_mu_);
      if (auto it = images_.find(ref); it != images_.end()) return it->second;
    }
    std::optional<std::string> id;
    if (!o_.pull) {
      if (auto r = ResolveImage(s_, ref)) id = *r;
    }
    if (!id) {
      PullOptions po;
      po.platform = o_.platform;
      po.config_dir = o_.config_dir;
      auto pulled = Pull(s_, ref, po);
      if (!pulled) {
        return Error{pulled.error().code, "failed to resolve source metadata for " + ref + ": " +
                                              pulled.error().message};
      }
      id = pulled->front().image_id;
    }
    BaseInfo info;
    info.id = *id;
    STRATA_ASSIGN_OR_RETURN(std::string bytes, ImageConfigBytes(s_, *id));
    info.config = ojson::parse(bytes, nullptr, false);
    if (info.config.is_discarded()) return DataLoss("image " + *id + ": config is not JSON");
    STRATA_ASSIGN_OR_RETURN(auto rec, s_.metadata().GetImage(*id));
    if (rec) info.top_chain = rec->top_chain_id;
    std::lock_guard<std::mutex> l(images_mu_);
    images_[ref] = info;
    return info;
  }

  Status MakePlan() {
    dockerfile::PlanOptions po;
    po.filename = std::filesystem::path(dockerfile_path_).filename().string();
    po.build_args = o_.build_args;
    po.target = o_.target;
    if (!o_.platform.empty()) {
      STRATA_ASSIGN_OR_RETURN(auto p, dockerfile::ParsePlatform(o_.platform));
      auto host = dockerfile::HostPlatform();
      if (p.os != host.os || p.architecture != host.architecture) {
        return InvalidArgument("platform " + p.ToString() +
                               " is not supported: strata builds for the host platform " +
                               host.ToString() + " only");
      }
      po.target_platform = p;
    }
    po.resolve_image = [this](const std::string& ref,
                              const dockerfile::Platform&) -> Result<dockerfile::BaseImage> {
      int v = NextVertex();
      Line("#" + std::to_string(v) + " [internal] load metadata for " + ref);
      auto t0 = std::chrono::steady_clock::now();
      auto info = EnsureImage(ref);
      if (!info) return info.error();
      dockerfile::BaseImage b;
      b.ref = ref;
      const ojson& cfg = info->config.contains("config") ? info->config["config"] : ojson();
      auto c = dockerfile::ConfigFromJson(cfg.is_object() ? cfg.dump() : "{}");
      if (!c) return c.error();
      b.config = std::move(*c);
      b.scratch = !info->top_chain.has_value();
      Line("#" + std::to_string(v) + " DONE " + Secs(Since(t0)));
      return b;
    };
    dockerfile::PlanError detail;
    auto plan = dockerfile::PlanDockerfile(dockerfile_text_, po, &detail);
    if (!plan) return plan.error();
    plan_ = std::move(*plan);
    // Images read by COPY --from / RUN --mount=from are fetched up front, on this thread.
    for (const auto& st : plan_.stages) {
      if (!st.needed) continue;
      for (const auto& ref : st.image_deps) {
        if (auto r = EnsureImage(ref); !r) return r.error();
      }
    }
    return Ok();
  }

  // --- stages ----------------------------------------------------------------
  // Waits until stage idx has finished; fails if it failed or the build aborts.
  Result<FsState> WaitStage(int idx) {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait(l, [&] { return done_[idx] || abort_; });
    if (!done_[idx] || failed_[idx]) return strata::Cancelled("a stage this one needs failed");
    return states_[idx];
  }

  // BuildKit numbers FROM and the filesystem steps only: "[2/4] RUN make".
  std::string StageLabel(const PlanStage& st, size_t step_no) const {
    size_t fs_steps = 0;
    for (const auto& s : st.steps) fs_steps += build::ChangesFilesystem(s);
    std::string total = std::to_string(fs_steps + 1);
    std::string pos = std::to_string(step_no) + "/" + total;
    if (plan_.stages.size() == 1 || plan_.order.size() == 1) return "[" + pos + "]";
    std::string name = st.name.empty() ? "stage-" + std::to_string(st.index) : st.name;
    return "[" + name + " " + pos + "]";
  }

  Status RunStage(int idx) {
    const PlanStage& st = plan_.stages[idx];
    FsState state;
    int v = NextVertex();
    std::string from_text;
    switch (st.base.kind) {
      case dockerfile::StageBase::Kind::kScratch:
        state.key = Sha256Of("scratch|" + plan_.target_platform.ToString());
        state.made_by = "FROM scratch";
        from_text = "";
        break;
      case dockerfile::StageBase::Kind::kStage: {
        STRATA_ASSIGN_OR_RETURN(state, WaitStage(st.base.stage));
        from_text = "FROM " + st.base.name;
        break;
      }
      case dockerfile::StageBase::Kind::kImage: {
        STRATA_ASSIGN_OR_RETURN(BaseInfo base, EnsureImage(st.base.ref));
        state.chain = base.top_chain;
        if (base.config.contains("rootfs") && base.config["rootfs"].contains("diff_ids")) {
          for (auto& d : base.config["rootfs"]["diff_ids"]) state.diff_ids.push_back(d);
        }
        if (base.config.contains("history") && base.config["history"].is_array()) {
          state.history = base.config["history"];
        }
        state.key = Sha256Of("image|" + base.id);
        state.made_by = "FROM " + st.base.ref + " (" + base.id.substr(0, 19) + ")";
        from_text = "FROM " + st.base.ref;
        break;
      }
    }
    if (!from_text.empty()) {
      Line("#" + std::to_string(v) + " " + StageLabel(st, 1) + " " + from_text);
      Line("#" + std::to_string(v) + " DONE 0.0s");
    }
    bool no_cache = o_.no_cache || std::find(o_.no_cache_filter.begin(), o_.no_cache_filter.end(),
                                             st.name) != o_.no_cache_filter.end();
    size_t fs_no = 1;  // FROM is 1
    for (size_t i = 0; i < st.steps.size(); ++i) {
      if (Stopping()) return strata::Cancelled("build cancelled");
      const Step& step = st.steps[i];
      ojson h = ojson::object();
      h["created_by"] = build::CreatedBy(step);
      h["comment"] = "buildkit.dockerfile.v0";
      if (std::holds_alternative<dockerfile::OnbuildCommand>(step.instruction.command)) {
        continue;  // BuildKit records no history for ONBUILD (verified on docker 20.10)
      }
      if (!build::ChangesFilesystem(step)) {
        h["empty_layer"] = true;
        state.history.push_back(h);
        continue;
      }
      std::string label = StageLabel(st, ++fs_no) + " " + DisplayText(step);
      int64_t layer_created = 0;
      STRATA_TRY(FsStep(st, step, label, no_cache, state, &layer_created));
      // A layer's history is dated by when the layer was made (the cache
      // record's time), so a rebuild from cache is the same image.
      h["created"] = FormatRfc3339Nano(layer_created);
      ojson ordered = ojson::object();
      ordered["created"] = h["created"];
      for (auto& [k, val] : h.items()) {
        if (k != "created") ordered[k] = val;
      }
      state.history.push_back(ordered);
    }
    std::lock_guard<std::mutex> l(mu_);
    states_[idx] = std::move(state);
    return Ok();
  }

  // The instruction as BuildKit's progress shows it: the original words.
  static std::string DisplayText(const Step& step) {
    std::string s = step.instruction.original;
    if (s.size() > 200) s = s.substr(0, 200) + "...";
    return s;
  }

  int64_t CreatedNs() const {
    if (o_.source_date_epoch) return *o_.source_date_epoch * 1000000000LL;
    return NowUnixNanos();
  }

  bool Stopping() const { return (o_.cancel && o_.cancel->load()) || abort_.load(); }

  // pasta needs about a second to set up a network namespace: each RUN that
  // executes takes one prepared while earlier work ran, and starts preparing
  // the next when more sandboxed RUNs may follow. Cache hits only count down.
  std::unique_ptr<exec::PreparedNetwork> TakeNetwork() {
    std::future<Result<std::unique_ptr<exec::PreparedNetwork>>> mine;
    {
      std::lock_guard<std::mutex> l(net_mu_);
      --sandbox_runs_left_;
      if (next_net_.valid()) mine = std::move(next_net_);
      if (sandbox_runs_left_ > 0) {
        next_net_ = std::async(std::launch::async,
                               [dir = s_.TmpDir()] { return exec::PreparedNetwork::Create(dir); });
      }
    }
    if (!mine.valid()) {
      auto now = exec::PreparedNetwork::Create(s_.TmpDir());
      return now ? std::move(*now) : nullptr;  // nullptr: Run attaches a helper itself
    }
    auto r = mine.get();
    return r ? std::move(*r) : nullptr;
  }
  void SkipNetwork() {
    std::lock_guard<std::mutex> l(net_mu_);
    --sandbox_runs_left_;
  }

  // Runs one filesystem step (from the cache when its key is known).
  Status FsStep(const PlanStage& st, const Step& step, const std::string& label, bool no_cache,
                FsState& state, int64_t* created) {
    int v = NextVertex();
    std::string vx = "#" + std::to_string(v);
    Line(vx + " " + label);
    auto t0 = std::chrono::steady_clock::now();
    auto computed = Inputs(step, state);
    if (!computed) {
      // Every started vertex ends with a line (the TTY view colours it).
      Line(vx + (Stopping() ? " CANCELED" : " ERROR: " + computed.error().message));
      return computed.error();
    }
    StepInputs inputs = std::move(*computed);
    const std::string key = inputs.Key();
    MissExplainer explain(*this, label, inputs, key, state);
    if (!no_cache) {
      std::optional<store::CacheRecord> hit;
      {
        std::lock_guard<std::mutex> l(db_mu_);
        STRATA_ASSIGN_OR_RETURN(hit, s_.metadata().GetCache(key));
        if (hit && hit->chain_id) {
          STRATA_ASSIGN_OR_RETURN(auto layer, s_.metadata().GetLayer(*hit->chain_id));
          if (!layer) hit.reset();
        }
      }
      if (hit) {
        if (auto* run = std::get_if<dockerfile::RunCommand>(&step.instruction.command);
            run && NetworkFor(*run) == "default") {
          SkipNetwork();
        }
        state.chain = hit->chain_id;
        state.diff_ids.push_back(hit->diff_id);
        state.key = key;
        state.made_by = label;
        state.size += hit->size;
        state.cache.push_back(CacheEntry(key, state, hit->created_at));
        *created = o_.source_date_epoch ? CreatedNs() : hit->created_at;
        Line(vx + " CACHED");
        explain.Remember();
        return Ok();
      }
    }
    if (std::string why = explain.Why(no_cache); !why.empty()) {
      Line(vx + " cache miss: " + why);
    }
    Workspace ws(s_, *snaps_);
    STRATA_TRY(ws.Prepare(state.chain));
    Status st_run = Execute(st, step, ws.rootfs(), vx, t0);
    if (!st_run) {
      if (st_run.error().code == ErrorCode::kCancelled || Stopping()) {
        Line(vx + " CANCELED");
      } else {
        Line(vx + " ERROR: " + st_run.error().message);
      }
      return st_run;
    }
    STRATA_TRY(ws.Unmount());
    STRATA_ASSIGN_OR_RETURN(std::string upper, snaps_->Dir(ws.key()));
    // The upper dir becomes the layer: whiteouts and opaque dirs in docker's form.
    archive::TarTreeOptions to;
    to.overlay_whiteouts = true;
    if (o_.source_date_epoch) to.clamp_mtime = *o_.source_date_epoch;
    STRATA_ASSIGN_OR_RETURN(StoredLayerTar stored, StoreLayerTar(upper, to));
    const archive::LayerTar& tar = stored.tar;
    std::string diff_id = tar.diff_id.str();
    std::string chain = ChainIdOf(state.chain, diff_id);
    int64_t size = tar.content_size;
    {
      std::lock_guard<std::mutex> l(db_mu_);
      STRATA_ASSIGN_OR_RETURN(auto existing, s_.metadata().GetLayer(chain));
      if (existing || snaps_->Stat(chain)) {
        STRATA_TRY(snaps_->Remove(ws.key()));
      } else {
        STRATA_TRY(snaps_->Commit(chain, ws.key()));
      }
      ws.Forget();
      store::LayerRecord rec;
      rec.chain_id = chain;
      rec.diff_id = diff_id;
      rec.parent_chain_id = state.chain;
      rec.size = size;
      rec.blob_digest = stored.blob_digest;
      rec.tar_split = stored.tar_split;
      rec.blob_media_type = kLayerMediaType;
      rec.blob_size = static_cast<int64_t>(tar.size);
      store::CacheRecord c;
      c.key = key;
      c.chain_id = chain;
      c.diff_id = diff_id;
      c.size = size;
      c.created_at = CreatedNs();
      *created = c.created_at;
      STRATA_ASSIGN_OR_RETURN(auto tx, s_.db().Begin());
      STRATA_TRY(s_.metadata().PutLayer(rec));
      STRATA_TRY(s_.metadata().PutCache(c));
      STRATA_TRY(tx.Commit());
    }
    state.chain = chain;
    state.diff_ids.push_back(diff_id);
    state.key = key;
    state.made_by = label;
    state.size += size;
    state.cache.push_back(CacheEntry(key, state, *created));
    explain.Remember();
    Line(vx + " DONE " + Secs(Since(t0)));
    return Ok();
  }

  static ojson CacheEntry(const std::string& key, const FsState& state, int64_t created) {
    ojson e = ojson::object();
    e["key"] = key;
    e["layer"] = state.diff_ids.size() - 1;
    e["created"] = created;
    return e;
  }

  // --cache-from: each source's layers and step keys join the local cache. A source that
  // cannot be read is a warning, as with BuildKit: the build goes on without it.
  void ImportCache() {
    for (const auto& c : o_.cache_from) {
      std::string vx = "#" + std::to_string(NextVertex());
      Line(vx + " importing cache manifest from " + c.ref);
      auto t0 = std::chrono::steady_clock::now();
      size_t added = 0;
      PullOptions po;
      po.config_dir = o_.config_dir;
      po.import_cache = [&](store::Metadata& md, const std::string& config_bytes) -> Status {
        ojson cfg = ojson::parse(config_bytes, nullptr, false);
        if (!cfg.is_object() || !cfg.contains(kCacheConfigKey)) return Ok();
        std::vector<std::string> diff_ids, chains;
        std::optional<std::string> chain;
        for (const auto& d : cfg["rootfs"].value("diff_ids", ojson::array())) {
          diff_ids.push_back(d.get<std::string>());
          chain = ChainIdOf(chain, diff_ids.back());
          chains.push_back(*chain);
        }
        for (const auto& e : cfg[kCacheConfigKey]) {
          if (!e.is_object() || !e["layer"].is_number_unsigned()) continue;
          size_t i = e["layer"].get<size_t>();
          std::string key = e.value("key", "");
          if (i >= chains.size() || key.empty()) continue;
          STRATA_ASSIGN_OR_RETURN(auto have, md.GetCache(key));
          STRATA_ASSIGN_OR_RETURN(auto layer, md.GetLayer(chains[i]));
          if (have || !layer) continue;
          store::CacheRecord rec;
          rec.key = key;
          rec.chain_id = chains[i];
          rec.diff_id = diff_ids[i];
          rec.created_at = e.value("created", int64_t{0});
          rec.size = layer->size;
          STRATA_TRY(md.PutCache(rec));
          ++added;
        }
        return Ok();
      };
      auto pulled = Pull(s_, c.ref, po);
      if (!pulled) {
        Line(vx + " ERROR: " + pulled.error().message);
        warnings_.push_back("failed to import cache from " + c.ref + ": " + pulled.error().message);
        continue;
      }
      Line(vx + " " + std::to_string(added) + " cache records imported");
      Line(vx + " DONE " + Secs(Since(t0)));
    }
  }

  // --cache-to type=registry: an image of the target's layers whose config lists their
  // step keys, pushed to its own ref. It is tagged only while the push runs.
  Status ExportCacheToRegistry(ojson cfg, const FsState& state, store::ImageRecord img) {
    const std::string& ref_text = o_.cache_to->ref;
    std::string vx = "#" + std::to_string(NextVertex());
    Line(vx + " exporting cache to " + ref_text);
    auto t0 = std::chrono::steady_clock::now();
    STRATA_ASSIGN_OR_RETURN(auto ref, image::ParseNormalizedNamed(ref_text));
    std::string canonical = image::TagNameOnly(ref).String();
    cfg[kCacheConfigKey] = state.cache;
    STRATA_ASSIGN_OR_RETURN(auto digest, s_.content().Put(GoJson(cfg)));
    img.id = digest.str();
    {
      std::lock_guard<std::mutex> l(db_mu_);
      STRATA_ASSIGN_OR_RETURN(auto tx, s_.db().Begin());
      STRATA_TRY(s_.metadata().PutImage(img));
      STRATA_TRY(s_.metadata().SetTag(canonical, img.id));
      STRATA_TRY(tx.Commit());
    }
    PushOptions po;
    po.config_dir = o_.config_dir;
    auto pushed = Push(s_, canonical, po);
    // The cache image never shows in `images`; its layers are the built image's. (Not
    // RemoveImage: its garbage collection waits for the lock this build holds shared.)
    {
      std::lock_guard<std::mutex> l(db_mu_);
      STRATA_ASSIGN_OR_RETURN(auto tx, s_.db().Begin());
      STRATA_TRY(s_.metadata().RemoveTag(canonical));
      if (pushed) {
        for (const auto& p : *pushed) {
          STRATA_ASSIGN_OR_RETURN(auto d, digest::Digest::Parse(p.digest));
          STRATA_TRY(s_.metadata().RemoveRepoDigest(ref.NameOnly().WithDigest(d).String()));
        }
      }
      STRATA_TRY(s_.metadata().DeleteImage(img.id));
      STRATA_TRY(tx.Commit());
    }
    if (!pushed) return std::move(pushed).error().Wrap("failed to export cache to " + ref_text);
    for (const auto& p : *pushed) Line(vx + " writing manifest " + p.digest + " done");
    Line(vx + " DONE " + Secs(Since(t0)));
    return Ok();
  }

  // Where COPY --from / RUN --mount=from reads: a finished stage or an image.
  Result<std::pair<std::optional<std::string>, std::string>> SourceOf(
      const dockerfile::Source& src) {
    if (src.stage >= 0) {
      STRATA_ASSIGN_OR_RETURN(FsState s, WaitStage(src.stage));
      return std::pair{s.chain, s.key};
    }
    STRATA_ASSIGN_OR_RETURN(BaseInfo b, EnsureImage(src.image));
    return std::pair{b.top_chain, Sha256Of("image|" + b.id)};
  }

  // The inputs of a step, by name: what must be equal for its result to be reused. The key
  // hashes them; a miss is explained by comparing them with the last build's (MissExplainer).
  struct StepInputs {
    ojson named = ojson::object();
    // What it read of the context (COPY, ADD, RUN --mount=type=bind): "context" holds their
    // checksums, these the hash of each file, to name the files that changed on a miss.
    std::vector<std::shared_ptr<const build::FileSums>> context_files;
    std::string Key() const { return Sha256Of(named.dump()); }
  };

  Result<StepInputs> Inputs(const Step& step, const FsState& state) {
    StepInputs in;
    ojson& n = in.named;
    n["parent"] = state.key;
    n["instruction"] = step.instruction.name;
    ojson from = ojson::array(), context = ojson::array();
    auto read_context = [&](const build::CopyRequest& req) -> Status {
      STRATA_ASSIGN_OR_RETURN(ContextSum sum, ContextChecksum(req));
      context.push_back(sum.sum.str());
      in.context_files.push_back(sum.files);
      return Ok();
    };
    if (auto* run = std::get_if<dockerfile::RunCommand>(&step.instruction.command)) {
      n["command"] = step.args;
      n["env"] = step.env;
      n["proxy env"] = step.proxy_env;
      n["workdir"] = step.workdir;
      n["user"] = step.user;
      n["network"] = NetworkFor(*run);
      n["security"] = run->security;
      // Only when given, so the keys of builds without it stay as they were.
      if (!o_.add_hosts.empty()) n["hosts"] = o_.add_hosts;
      ojson mounts = ojson::array();
      size_t src_i = 0;
      for (const auto& m : run->mounts) {
        mounts.push_back({dockerfile::MountTypeName(m.type), m.target, m.source, m.read_only,
                          m.cache_id, m.sharing});
        if (m.type == dockerfile::MountType::kBind && !m.from.empty() &&
            src_i < step.sources.size()) {
          STRATA_ASSIGN_OR_RETURN(auto src, SourceOf(step.sources[src_i++]));
          from.push_back(src.second);
        } else if (m.type == dockerfile::MountType::kBind) {
          build::CopyRequest req;
          req.sources = {m.source.empty() ? "." : m.source};
          req.dest = "/";
          STRATA_TRY(read_context(req));
        }
      }
      n["mounts"] = mounts;
    } else if (std::holds_alternative<dockerfile::CopyCommand>(step.instruction.command) ||
               std::holds_alternative<dockerfile::AddCommand>(step.instruction.command)) {
      std::vector<std::string> urls;
      STRATA_ASSIGN_OR_RETURN(auto req, CopyRequestFor(step, nullptr, &urls));
      n["dest"] = req.dest;
      n["workdir"] = req.workdir;
      n["flags"] = CopyFlagsText(step);
      n["paths"] = req.sources;
      if (!urls.empty()) {
        // As BuildKit's HTTP source: the fetched file's name and content, not the URL nor
        // Last-Modified (docker 20.10: a touched file with the same bytes is CACHED).
        const std::string& want =
            std::get<dockerfile::AddCommand>(step.instruction.command).checksum;
        ojson downloads = ojson::array();
        for (const auto& url : urls) {
          STRATA_ASSIGN_OR_RETURN(auto dl, Download(url));
          if (!want.empty() && dl->digest.str() != want) {
            return InvalidArgument("failed to load cache key: digest mismatch for " + url + ": " +
                                   dl->digest.str() + " (expected: " + want + ")");
          }
          downloads.push_back(ojson{dl->name, dl->digest.str()});
        }
        n["downloads"] = downloads;
      }
      if (!step.sources.empty()) {
        // A stage's or image's state key already names its whole content, so
        // the key needs no mount of it: the source paths select within it.
        STRATA_ASSIGN_OR_RETURN(auto src, SourceOf(step.sources[0]));
        from.push_back(src.second);
      } else if (!req.sources.empty() || urls.empty()) {
        STRATA_TRY(read_context(req));
      }
    } else {
      n["workdir"] = build::WorkdirAfter(step);
      n["user"] = step.user;
    }
    if (!from.empty()) n["from"] = from;
    if (!context.empty()) n["context"] = context;
    return in;
  }

  // Says why a step missed the cache, from what the last build of the same step (same
  // Dockerfile, same stage and position) recorded in build/explain/: the parent, the
  // command, a build arg or variable, the context files it read. BuildKit cannot say
  // (moby/buildkit#2567). A record is written only when the step's key changes, so fully
  // cached rebuilds write nothing.
  class MissExplainer {
   public:
    MissExplainer(Builder& b, const std::string& label, const StepInputs& in,
                  const std::string& key, const FsState& parent)
        : in_(in), key_(key), parent_made_by_(parent.made_by) {
      std::string identity = b.StepIdentity(label);
      std::string dir = b.s_.root() + "/build/explain";
      std::string name = Sha256Of(identity).substr(7, 32);
      path_ = dir + "/" + name + ".json";
      files_path_ = dir + "/" + name + ".files";
      key_link_ = dir + "/" + name + ".key";
      dir_ = dir;
    }

    // The reason for a miss, or "" when there is nothing to say.
    std::string Why(bool no_cache) {
      if (no_cache) return "the cache is off for this step (--no-cache)";
      auto text = ReadFile(path_);
      if (!text) return "not built before";
      ojson prev = ojson::parse(*text, nullptr, false);
      if (!prev.is_object() || !prev.contains("inputs")) return "not built before";
      const ojson& was = prev["inputs"];
      const ojson& now = in_.named;
      std::vector<std::string> why;
      if (was.value("parent", "") != now.value("parent", "")) {
        std::string before = prev.value("made_by", "");
        why.push_back(before != parent_made_by_ && !before.empty()
                          ? "its parent changed: was " + before + ", now " + parent_made_by_
                          : "its parent changed: " + parent_made_by_);
      }
      for (auto& [k, v] : now.items()) {
        if (k == "parent" || (was.contains(k) && was[k] == v)) continue;
        if (k == "env") {
          why.push_back(EnvChange(was.value("env", ojson::array()), v));
        } else if (k == "context") {
          why.push_back(FileChanges());
        } else if (k == "command") {
          why.push_back("the command changed: was " + Joined(was.value(k, ojson::array())));
        } else if (k == "downloads") {
          why.push_back("a file it downloads changed");
        } else if (k == "from") {
          why.push_back("the stage or image it copies from changed");
        } else {
          why.push_back("its " + k + " changed");
        }
      }
      for (auto& [k, v] : was.items()) {
        if (!now.contains(k)) why.push_back("its " + k + " changed");
      }
      if (why.empty()) return "the cache entry was removed (builder prune)";
      std::string out;
      for (const auto& w : why) out += (out.empty() ? "" : "; ") + w;
      return out;
    }

    // Records this build's inputs when they differ from the recorded ones.
    void Remember() {
      std::error_code ec;
      if (std::filesystem::read_symlink(key_link_, ec).string() == key_) return;
      ojson rec = ojson::object();
      rec["made_by"] = parent_made_by_;
      rec["inputs"] = in_.named;
      (void)MakeDirs(dir_);
      // Advisory only: a failure to write costs an explanation, never the build.
      std::string files;
      for (const auto& [path, hash] : Files()) files += hash + " " + path + "\n";
      if (!WriteFileAtomic(path_, rec.dump(), 0644, false) ||
          !WriteFileAtomic(files_path_, files, 0644, false)) {
        return;
      }
      std::string tmp = key_link_ + ".tmp" + std::to_string(::getpid());
      ::unlink(tmp.c_str());
      if (::symlink(key_.c_str(), tmp.c_str()) == 0)
        (void)!::rename(tmp.c_str(), key_link_.c_str());
    }

   private:
    using Sorted = std::vector<std::pair<std::string, std::string>>;  // path, hash text
    static std::string HashText(uint64_t h) {
      char buf[17];
      std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
      return buf;
    }

    // What this step read of the context, by path (a path read twice counts once).
    const Sorted& Files() {
      if (!files_) {
        files_.emplace();
        for (const auto& part : in_.context_files) {
          for (const auto& [path, hash] : *part) files_->emplace_back(path, HashText(hash));
        }
        std::sort(files_->begin(), files_->end());
        files_->erase(std::unique(files_->begin(), files_->end(),
                                  [](const auto& a, const auto& b) { return a.first == b.first; }),
                      files_->end());
      }
      return *files_;
    }

    // The last build's list: "hash path" lines, in path order.
    Sorted RecordedFiles() {
      Sorted out;
      auto text = ReadFile(files_path_, size_t{1} << 30);
      if (!text) return out;
      std::string_view t = *text;
      while (!t.empty()) {
        size_t nl = t.find('\n');
        std::string_view line = t.substr(0, nl);
        t.remove_prefix(nl == std::string_view::npos ? t.size() : nl + 1);
        size_t sp = line.find(' ');
        if (sp == std::string_view::npos) continue;
        out.emplace_back(std::string(line.substr(sp + 1)), std::string(line.substr(0, sp)));
      }
      return out;
    }

    std::string FileChanges() {
      const Sorted& now = Files();
      Sorted was = RecordedFiles();
      std::vector<std::string> changed, added, removed;
      // Both in path order: one merge pass.
      size_t i = 0, j = 0;
      while (i < now.size() || j < was.size()) {
        if (j == was.size() || (i < now.size() && now[i].first < was[j].first)) {
          added.push_back(now[i++].first);
        } else if (i == now.size() || was[j].first < now[i].first) {
          removed.push_back(was[j++].first);
        } else {
          if (now[i].second != was[j].second) changed.push_back(now[i].first);
          ++i;
          ++j;
        }
      }
      std::string out;
      auto list = [&](const char* what, const std::vector<std::string>& v) {
        if (v.empty()) return;
        out += out.empty() ? "" : ", ";
        out += std::string(what) + " ";
        for (size_t k = 0; k < v.size() && k < 5; ++k) out += (k ? " " : "") + v[k];
        if (v.size() > 5) out += " and " + std::to_string(v.size() - 5) + " more";
      };
      list("changed", changed);
      list("added", added);
      list("removed", removed);
      return out.empty() ? "the context files it reads changed" : "context files " + out;
    }

    std::string EnvChange(const ojson& was, const ojson& now) {
      auto to_map = [](const ojson& a) {
        std::map<std::string, std::string> m;
        for (const auto& e : a) {
          std::string kv = e.get<std::string>();
          size_t eq = kv.find('=');
          m[kv.substr(0, eq)] = eq == std::string::npos ? "" : kv.substr(eq + 1);
        }
        return m;
      };
      auto w = to_map(was), n = to_map(now);
      std::string out;
      for (const auto& [k, v] : n) {
        auto it = w.find(k);
        if (it != w.end() && it->second == v) continue;
        out += (out.empty() ? "" : ", ") + k + "=" + (it == w.end() ? "(unset)" : it->second) +
               " -> " + k + "=" + v;
      }
      for (const auto& [k, v] : w) {
        if (!n.count(k)) out += (out.empty() ? "" : ", ") + k + "=" + v + " -> (unset)";
      }
      return "build arg or environment changed: " + out;
    }

    static std::string Joined(const ojson& argv) {
      std::string out;
      for (const auto& a : argv) out += (out.empty() ? "" : " ") + a.get<std::string>();
      return out;
    }

    const StepInputs& in_;
    const std::string key_;  // in_.Key(), as the step computed it
    std::string parent_made_by_;
    std::string dir_, path_, files_path_, key_link_;
    std::optional<Sorted> files_;
  };

  // Which step this is across builds: the Dockerfile and the step's place in it.
  std::string StepIdentity(const std::string& label) const {
    std::string where = o_.dockerfile_text ? "stdin|" + o_.context_dir : dockerfile_path_;
    std::error_code ec;
    if (!o_.dockerfile_text) {
      auto abs = std::filesystem::absolute(dockerfile_path_, ec);
      if (!ec) where = abs.lexically_normal().string();
    }
    return where + "|" + label.substr(0, label.find(']') + 1);
  }

  static std::string CopyFlagsText(const Step& step) {
    if (auto* c = std::get_if<dockerfile::CopyCommand>(&step.instruction.command)) {
      ojson j = {c->chown, c->chmod, c->link, c->parents, c->excludes};
      for (auto& sc : c->files.source_contents) j.push_back({sc.path, sc.data});
      return j.dump();
    }
    auto& a = std::get<dockerfile::AddCommand>(step.instruction.command);
    ojson j = {a.chown, a.chmod, a.link, a.checksum, a.excludes, a.unpack.value_or(true)};
    for (auto& sc : a.files.source_contents) j.push_back({sc.path, sc.data});
    return j.dump();
  }

  std::string NetworkFor(const dockerfile::RunCommand& run) const {
    if (run.network != "default" && !run.network.empty()) return run.network;
    return o_.network.empty() ? "default" : o_.network;
  }

  // COPY/ADD flags → a CopyRequest; chown names resolve in rootfs when given. ADD's URL
  // sources go to *urls, not into the request.
  Result<build::CopyRequest> CopyRequestFor(const Step& step, const std::string* rootfs,
                                            std::vector<std::string>* urls = nullptr) {
    build::CopyRequest req;
    req.workdir = step.workdir.empty() ? "/" : step.workdir;
    const dockerfile::SourcesAndDest* files;
    std::string chown, chmod;
    if (auto* c = std::get_if<dockerfile::CopyCommand>(&step.instruction.command)) {
      files = &c->files;
      chown = c->chown;
      chmod = c->chmod;
      req.excludes = c->excludes;
      req.parents = c->parents;
      req.sources = files->source_paths;
    } else {
      auto& a = std::get<dockerfile::AddCommand>(step.instruction.command);
      files = &a.files;
      chown = a.chown;
      chmod = a.chmod;
      req.excludes = a.excludes;
      req.is_add = true;
      for (const auto& s : files->source_paths) {
        if (s.starts_with("git@")) {
          return Unimplemented("ADD from a Git repository is not supported yet: " + s);
        }
        if (IsHttpSource(s)) {
          if (urls) urls->push_back(s);
        } else {
          req.sources.push_back(s);
        }
      }
    }
    req.dest = files->dest;
    if (!chmod.empty()) {
      char* end = nullptr;
      unsigned long m = std::strtoul(chmod.c_str(), &end, 8);
      if (!end || *end || m > 07777) return InvalidArgument("invalid chmod parameter: " + chmod);
      req.chmod = static_cast<uint32_t>(m);
    }
    if (!chown.empty() && rootfs) {
      STRATA_ASSIGN_OR_RETURN(req.chown, build::ResolveChown(*rootfs, chown));
    }
    return req;
  }

  // Performs a filesystem step on the mounted rootfs.
  Status Execute(const PlanStage& st, const Step& step, const std::string& rootfs,
                 const std::string& vx, std::chrono::steady_clock::time_point t0) {
    (void)st;
    if (std::holds_alternative<dockerfile::WorkdirCommand>(step.instruction.command)) {
      // BuildKit creates WORKDIR as the USER with --chown's rules: a lone uid
      // is also the gid (verified: USER 3000 gives 3000:3000).
      build::Ids ids;
      if (!step.user.empty()) {
        STRATA_ASSIGN_OR_RETURN(ids, build::ResolveChown(rootfs, step.user));
      }
      STRATA_ASSIGN_OR_RETURN(UniqueFd root, OpenFile(rootfs, O_PATH | O_DIRECTORY));
      STRATA_ASSIGN_OR_RETURN(UniqueFd wd, MakeDirsInRoot(root.get(), build::WorkdirAfter(step),
                                                          0755, ids.uid, ids.gid));
      return Ok();
    }
    if (auto* run = std::get_if<dockerfile::RunCommand>(&step.instruction.command)) {
      return ExecuteRun(step, *run, rootfs, vx, t0);
    }
    // COPY / ADD
    std::vector<std::string> urls;
    STRATA_ASSIGN_OR_RETURN(auto req, CopyRequestFor(step, &rootfs, &urls));
    build::CopySource cs = ContextSource();
    std::unique_ptr<View> view;
    if (!step.sources.empty()) {
      STRATA_ASSIGN_OR_RETURN(auto src, SourceOf(step.sources[0]));
      view = std::make_unique<View>(s_, *snaps_);
      STRATA_TRY(view->Open(src.first));
      cs = build::CopySource{view->root(), nullptr, nullptr, false};
      // The key did not look inside the source; its errors (a missing path)
      // come from the same check the context's key makes.
      STRATA_ASSIGN_OR_RETURN(auto sum, build::ChecksumSources(cs, req));
      (void)sum;
    }
    auto files = std::get_if<dockerfile::CopyCommand>(&step.instruction.command)
                     ? &std::get<dockerfile::CopyCommand>(step.instruction.command).files
                     : &std::get<dockerfile::AddCommand>(step.instruction.command).files;
    // Heredoc sources: written to a scratch dir and copied from there.
    if (!files->source_contents.empty()) {
      STRATA_ASSIGN_OR_RETURN(TempDir hd, TempDir::Create(s_.TmpDir(), "heredoc-"));
      build::CopyRequest hreq = req;
      hreq.sources.clear();
      for (const auto& c : files->source_contents) {
        STRATA_TRY(WriteFileAtomic(hd.path() + "/" + c.path, c.data, 0644));
        hreq.sources.push_back(c.path);
      }
      STRATA_TRY(build::Copy(build::CopySource{hd.path(), nullptr, nullptr, true}, hreq, rootfs));
      if (req.sources.empty() && urls.empty()) return Ok();
    }
    // URL sources: the files fetched for the cache key, copied from their scratch dirs with
    // COPY's dest rules; a fetched archive stays as it is (BuildKit never unpacks them).
    for (const auto& url : urls) {
      STRATA_ASSIGN_OR_RETURN(auto dl, Download(url));
      build::CopyRequest ureq = req;
      ureq.sources = {dl->name};
      ureq.is_add = false;
      ureq.parents = false;
      STRATA_TRY(
          build::Copy(build::CopySource{dl->dir.path(), nullptr, nullptr, true}, ureq, rootfs));
    }
    if (!urls.empty() && req.sources.empty()) return Ok();
    return build::Copy(cs, req, rootfs);
  }

  Status ExecuteRun(const Step& step, const dockerfile::RunCommand& run, const std::string& rootfs,
                    const std::string& vx, std::chrono::steady_clock::time_point t0) {
    exec::Spec spec;
    spec.rootfs = rootfs;
    spec.argv = step.args;
    spec.env = step.env;
    for (const auto& p : step.proxy_env) spec.env.push_back(p);
    spec.cwd = step.workdir.empty() ? "/" : step.workdir;
    spec.extra_hosts = o_.add_hosts;
    STRATA_ASSIGN_OR_RETURN(build::Ids ids, build::ResolveUser(rootfs, step.user));
    spec.uid = ids.uid;
    spec.gid = ids.gid;
    spec.additional_gids = ids.additional_gids;
    std::string net = NetworkFor(run);
    if (net == "none") {
      spec.network = exec::Network::kNone;
    } else if (net == "host") {
      spec.network = exec::Network::kHost;
    } else {
      spec.network = exec::Network::kSandbox;
    }
    std::unique_ptr<exec::PreparedNetwork> prepared;
    if (spec.network == exec::Network::kSandbox) {
      prepared = TakeNetwork();
      spec.prepared_network = prepared.get();
    }
    std::vector<std::unique_ptr<View>> views;
    std::vector<TempDir> scratch;
    size_t src_i = 0;
    for (const auto& m : run.mounts) {
      exec::Mount em;
      em.target = m.target;
      switch (m.type) {
        case dockerfile::MountType::kBind: {
          em.type = "bind";
          em.readonly = true;
          std::string root = o_.context_dir;
          if (!m.from.empty() && src_i < step.sources.size()) {
            STRATA_ASSIGN_OR_RETURN(auto src, SourceOf(step.sources[src_i++]));
            views.push_back(std::make_unique<View>(s_, *snaps_));
            STRATA_TRY(views.back()->Open(src.first));
            root = views.back()->root();
          }
          STRATA_ASSIGN_OR_RETURN(UniqueFd rfd, OpenFile(root, O_PATH | O_DIRECTORY));
          std::string rel = m.source.empty() ? "" : m.source;
          STRATA_ASSIGN_OR_RETURN(UniqueFd sfd, OpenInRoot(rfd.get(), rel, O_PATH));
          em.source = "/proc/self/fd/" + std::to_string(sfd.get());
          // Resolve to a real path now: the fd closes when this scope ends.
          char buf[4096];
          ssize_t n = ::readlink(em.source.c_str(), buf, sizeof buf - 1);
          if (n <= 0) return Internal("resolve bind source " + m.source);
          em.source.assign(buf, static_cast<size_t>(n));
          break;
        }
        case dockerfile::MountType::kCache: {
          em.type = "bind";
          std::string id = m.cache_id.empty() ? m.target : m.cache_id;
          std::string dir = s_.root() + "/build/cache-mounts/" + Sha256Of(id).substr(7);
          STRATA_TRY(MakeDirs(dir, 0755));
          // The cache's root takes the mount's uid/gid/mode (BuildKit: 0:0 0755).
          if (::chown(dir.c_str(), static_cast<uid_t>(m.uid.value_or(0)),
                      static_cast<gid_t>(m.gid.value_or(0))) != 0 ||
              ::chmod(dir.c_str(), static_cast<mode_t>(m.mode.value_or(0755))) != 0) {
            return ErrnoError("cache mount " + id);
          }
          em.source = dir;
          break;
        }
        case dockerfile::MountType::kTmpfs:
          em.type = "tmpfs";
          if (m.size_limit) em.options.push_back("size=" + std::to_string(*m.size_limit));
          break;
        case dockerfile::MountType::kSecret: {
          std::string id = m.cache_id.empty() ? m.source : m.cache_id;
          if (id.empty()) id = std::filesystem::path(m.target).filename().string();
          auto it = o_.secrets.find(id);
          if (it == o_.secrets.end()) {
            if (m.required) return NotFound("secret " + id + " not found");
            continue;
          }
          // A private copy with the mount's owner and mode (default 0:0 0400,
          // as BuildKit's), on a tmpfs when there is one: the host file's own
          // mode must not show through, and nothing reaches the layer.
          std::string parent = ::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : s_.TmpDir();
          STRATA_ASSIGN_OR_RETURN(TempDir sd, TempDir::Create(parent, "strata-secret-"));
          STRATA_ASSIGN_OR_RETURN(std::string data, ReadFile(it->second, 64 << 20));
          std::string file = sd.path() + "/" + Sha256Of(id).substr(7, 16);
          STRATA_TRY(WriteFileAtomic(file, data, 0400));
          if (::chown(file.c_str(), static_cast<uid_t>(m.uid.value_or(0)),
                      static_cast<gid_t>(m.gid.value_or(0))) != 0 ||
              ::chmod(file.c_str(), static_cast<mode_t>(m.mode.value_or(0400))) != 0) {
            return ErrnoError("secret " + id);
          }
          scratch.push_back(std::move(sd));
          em.type = "bind";
          em.readonly = true;
          em.source = file;
          if (em.target.empty()) em.target = "/run/secrets/" + id;
          break;
        }
        case dockerfile::MountType::kSsh:
          return Unimplemented("RUN --mount=type=ssh is not supported yet");
      }
      spec.mounts.push_back(std::move(em));
    }
    // Output: each line prefixed with the vertex and the seconds since the step began.
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return Internal("pipe: " + std::string(strerror(errno)));
    UniqueFd rd(fds[0]), wr(fds[1]);
    spec.stdout_fd = wr.get();
    spec.stderr_fd = wr.get();
    spec.cancel = &abort_;  // set on Ctrl-C and when another stage fails
    spec.state_parent = s_.TmpDir();
    std::thread reader([&, fd = rd.get()] {
      std::string pending;
      char buf[65536];
      for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        pending.append(buf, static_cast<size_t>(n));
        size_t nl;
        while ((nl = pending.find('\n')) != std::string::npos) {
          char ts[32];
          snprintf(ts, sizeof ts, " %.3f ", Since(t0));
          Line(vx + ts + pending.substr(0, nl));
          pending.erase(0, nl + 1);
        }
        // A line that never ends is shown in pieces: memory stays bounded, nothing is cut.
        if (pending.size() >= (256 << 10)) {
          char ts[32];
          snprintf(ts, sizeof ts, " %.3f ", Since(t0));
          Line(vx + ts + pending);
          pending.clear();
        }
      }
      if (!pending.empty()) {
        char ts[32];
        snprintf(ts, sizeof ts, " %.3f ", Since(t0));
        Line(vx + ts + pending);
      }
    });
    auto exit = exec::Run(spec);
    wr.reset();
    reader.join();
    if (!exit) return exit.error();
    if (exit->code != 0 || exit->signal != 0) {
      std::string cmd;
      for (size_t i = 0; i < step.args.size(); ++i) cmd += (i ? " " : "") + step.args[i];
      int code = exit->signal ? 128 + exit->signal : exit->code;
      return Error{ErrorCode::kFailedPrecondition,
                   "process \"" + cmd +
                       "\" did not complete successfully: exit code: " + std::to_string(code)};
    }
    return Ok();
  }

  // --- export ----------------------------------------------------------------
  // Entries without a time (config-only steps) take the first new layer's
  // time, or the previous dated entry's after one, as BuildKit's exporter
  // (normalizeLayersAndHistory) does; with no new layer, the build's time.
  ojson NormalizeHistory(ojson history) const {
    std::optional<std::string> created;
    bool undated_seen = false;
    for (const auto& h : history) {
      if (h.contains("created")) {
        created = h["created"].get<std::string>();
        if (undated_seen) break;
      } else {
        undated_seen = true;
      }
    }
    if (!created) created = FormatRfc3339Nano(CreatedNs());
    undated_seen = false;
    ojson out = ojson::array();
    for (auto& h : history) {
      if (h.contains("created")) {
        if (undated_seen) created = h["created"].get<std::string>();
        out.push_back(h);
        continue;
      }
      undated_seen = true;
      ojson dated = ojson::object();
      dated["created"] = *created;
      for (auto& [k, val] : h.items()) dated[k] = val;
      out.push_back(dated);
    }
    return out;
  }

  // -o local|tar: the target's filesystem, from a read-only view of its chain.
  Status ExportFiles(const PlanStage& st) {
    std::string vx = "#" + std::to_string(NextVertex());
    Line(vx + " exporting to client");
    auto t0 = std::chrono::steady_clock::now();
    View view(s_, *snaps_);
    STRATA_TRY(view.Open(states_[st.index].chain));
    STRATA_TRY(ExportTree(view.root(), o_.exporter));
    Line(vx + (o_.exporter.type == BuildExport::Type::kLocal ? " copying files done"
                                                             : " sending tarball done"));
    Line(vx + " DONE " + Secs(Since(t0)));
    return Ok();
  }

  Result<std::string> Export(const PlanStage& st) {
    int v = NextVertex();
    std::string vx = "#" + std::to_string(v);
    Line(vx + " exporting to image");
    auto t0 = std::chrono::steady_clock::now();
    const FsState& state = states_[st.index];
    ojson cfg = ojson::object();
    cfg["architecture"] = plan_.target_platform.architecture;
    ojson config = ojson::parse(dockerfile::ConfigToJson(st.config));
    for (const auto& [k, val] : o_.labels) {
      if (!config["Labels"].is_object()) config["Labels"] = ojson::object();
      config["Labels"][k] = val;
    }
    if (config.contains("Labels") && config["Labels"].is_object()) {
      nlohmann::json sorted = nlohmann::json::parse(config["Labels"].dump());
      config["Labels"] = ojson::parse(sorted.dump());
    }
    cfg["config"] = config;
    ojson history = NormalizeHistory(state.history);
    // The image is as old as its newest history entry (BuildKit's exporter).
    std::string created_text = FormatRfc3339Nano(CreatedNs());
    for (const auto& h : history) {
      if (h.contains("created")) created_text = h["created"].get<std::string>();
    }
    cfg["created"] = created_text;
    cfg["history"] = history;
    cfg["os"] = plan_.target_platform.os;
    cfg["rootfs"] = {{"type", "layers"}, {"diff_ids", state.diff_ids}};
    if (!plan_.target_platform.variant.empty()) cfg["variant"] = plan_.target_platform.variant;
    if (!st.config.author.empty()) cfg["author"] = st.config.author;
    if (o_.cache_to && o_.cache_to->type == CacheExchange::Type::kInline) {
      cfg[kCacheConfigKey] = state.cache;
    }
    std::string bytes = GoJson(cfg);
    STRATA_ASSIGN_OR_RETURN(auto config_digest, s_.content().Put(bytes));
    Line(vx + " exporting layers done");
    Line(vx + " writing image " + config_digest.str() + " done");

    store::ImageRecord img;
    img.id = config_digest.str();
    img.top_chain_id = state.chain;
    img.created = ParseRfc3339(created_text).value_or(CreatedNs());
    img.loaded_at = NowUnixNanos();
    STRATA_ASSIGN_OR_RETURN(
        auto chain_layers,
        state.chain ? s_.metadata().LayerChain(*state.chain)
                    : Result<std::vector<store::LayerRecord>>(std::vector<store::LayerRecord>{}));
    for (const auto& l : chain_layers) img.size += l.size;
    std::vector<std::string> refs;
    for (const auto& t : o_.tags) {
      STRATA_ASSIGN_OR_RETURN(auto r, image::ParseNormalizedNamed(t));
      refs.push_back(image::TagNameOnly(r).String());
    }
    {
      std::lock_guard<std::mutex> l(db_mu_);
      STRATA_ASSIGN_OR_RETURN(auto tx, s_.db().Begin());
      STRATA_TRY(s_.metadata().PutImage(img));
      for (const auto& r : refs) STRATA_TRY(s_.metadata().SetTag(r, img.id));
      STRATA_TRY(tx.Commit());
    }
    for (const auto& r : refs) Line(vx + " naming to " + r + " done");
    Line(vx + " DONE " + Secs(Since(t0)));
    if (o_.cache_to && o_.cache_to->type == CacheExchange::Type::kRegistry) {
      STRATA_TRY(ExportCacheToRegistry(cfg, state, img));
    }
    return img.id;
  }

  Store& s_;
  BuildOptions o_;  // a copy: a context from stdin replaces context_dir
  std::future<Result<std::unique_ptr<build::HashCache>>> hash_cache_load_;
  OnceMap<ContextSum> context_sums_;
  TempDir stdin_context_;
  std::once_flag http_once_;
  std::unique_ptr<registry::HttpClient> http_;
  OnceMap<std::shared_ptr<const HttpDownload>> downloads_;
  snapshot::Snapshotter* snaps_ = nullptr;
  std::string dockerfile_path_;
  std::string dockerfile_text_;
  dockerfile::Matcher ignore_;
  std::unique_ptr<build::HashCache> hash_cache_;
  Plan plan_;
  std::chrono::steady_clock::time_point start_;

  std::mutex out_mu_;
  std::atomic<int> vertex_{0};
  std::mutex images_mu_;
  std::map<std::string, BaseInfo> images_;
  std::mutex db_mu_;
  std::mutex net_mu_;
  int sandbox_runs_left_ = 0;
  std::future<Result<std::unique_ptr<exec::PreparedNetwork>>> next_net_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<FsState> states_;
  std::vector<bool> done_, failed_;
  std::optional<Error> error_;
  std::atomic<bool> abort_{false};
  std::vector<std::string> warnings_;
};

}  // namespace

Result<BuildResult> Build(Store& s, const BuildOptions& opts) {
  // The record keeps every line the user sees, and those -q hides.
  std::string name = "-";
  if (!opts.tags.empty()) {
    name = opts.tags[0];
  } else if (!opts.context_stream) {
    auto p = std::filesystem::absolute(opts.context_dir).lexically_normal();
    name = p.filename().empty() ? p.parent_path().filename().string() : p.filename().string();
  }
  STRATA_ASSIGN_OR_RETURN(auto log, BuildLog::Start(s, name));
  BuildOptions logged = opts;
  logged.output = [&log, &opts](const std::string& line) {
    log->Line(line);
    if (opts.output) opts.output(line);
  };
  Builder b(s, logged);
  auto built = b.Run();
  bool cancelled = opts.cancel && opts.cancel->load();
  if (!built) log->Line("ERROR: " + built.error().message);
  (void)log->Finish(static_cast<bool>(built), cancelled, built ? built->image_id : std::string(),
                    built ? std::string() : built.error().message);
  if (!built) return built.error();
  BuildResult r = std::move(*built);
  const BuildExport& e = opts.exporter;
  if ((e.type == BuildExport::Type::kDocker || e.type == BuildExport::Type::kOci) &&
      !e.dest.empty()) {
    // strata's save archive is both a docker archive and an OCI layout.
    std::vector<std::string> names = opts.tags;
    if (names.empty()) names.push_back(r.image_id);
    auto save = [&](Writer& w) { return SaveImages(s, names, w); };
    if (e.ToStream()) {
      STRATA_TRY(save(*e.stream));
    } else {
      STRATA_TRY(WriteFileAtomicStream(e.dest, 0644, false, save));
    }
  }
  return r;
}

}  // namespace strata::engine
