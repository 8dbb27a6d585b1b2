// Engine-level latency of `images` and `image inspect` on a store holding
// 1,000 tags (issue 2: each must answer in under 15 ms wall).
//
// The store is prepared once per process: one busybox rootfs is imported as
// busybox:latest and tagged 999 more times (bench/app0001:latest, ...), so
// `images` lists 1,000 rows. Each benchmark iteration opens the store afresh,
// as a daemonless CLI command does, unless its name says "Warm".
//
// Usage: images_bench [--benchmark_* flags]
// Environment: STRATA_BENCH_ROOTFS=OUT.tar to reuse a prebuilt rootfs
// (default: built with examples/busybox/make-rootfs.sh into the temp dir),
// STRATA_BENCH_TAGS=N to change the tag count (default 1000), STRATA_BENCH_KEEP=1 to keep
// the prepared store (its path is printed) for profiling the CLI against it.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "engine/images.h"
#include "engine/import.h"
#include "engine/store.h"
#include "util/fs.h"
#include "util/io.h"

namespace strata::bench {
namespace {

std::string g_root;  // the prepared store
int g_tags = 1000;

[[noreturn]] void Die(const std::string& what, const Error& e) {
  std::fprintf(stderr, "images_bench: %s: %s\n", what.c_str(), e.message.c_str());
  std::exit(1);
}

std::string TagName(int i) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "bench/app%04d:latest", i);
  return buf;
}

// Builds the store: import once, then tag until g_tags tags exist.
void Prepare(const std::string& dir) {
  std::string rootfs;
  if (const char* r = std::getenv("STRATA_BENCH_ROOTFS"); r && *r) {
    rootfs = r;
  } else {
    rootfs = dir + "/rootfs.tar";
    std::string cmd =
        "sh '" STRATA_SOURCE_DIR "/examples/busybox/make-rootfs.sh' '" + rootfs + "' 2>/dev/null";
    if (std::system(cmd.c_str()) != 0) {
      std::fprintf(stderr, "images_bench: %s failed\n", cmd.c_str());
      std::exit(1);
    }
  }
  g_root = dir + "/store";
  auto s = engine::Store::Open(g_root);
  if (!s) Die("open store", s.error());
  auto fd = OpenFile(rootfs, O_RDONLY);
  if (!fd) Die("open " + rootfs, fd.error());
  FdReader in(fd->get());
  engine::ImportOptions opts;
  opts.changes = {"CMD [\"/bin/sh\"]"};
  opts.source = rootfs;
  opts.tag = "busybox:latest";
  auto id = engine::ImportImage(**s, in, opts);
  if (!id) Die("import", id.error());
  for (int i = 1; i < g_tags; ++i) {
    if (auto st = engine::TagImage(**s, "busybox:latest", TagName(i)); !st) {
      Die("tag " + TagName(i), st.error());
    }
  }
  auto list = (*s)->metadata().ListImages();
  if (!list) Die("list", list.error());
  size_t tags = 0;
  for (auto& img : *list) tags += img.tags.size();
  if (tags != static_cast<size_t>(g_tags)) {
    std::fprintf(stderr, "images_bench: expected %d tags, store has %zu\n", g_tags, tags);
    std::exit(1);
  }
}

std::unique_ptr<engine::Store> OpenOrDie() {
  auto s = engine::Store::Open(g_root);
  if (!s) Die("open store", s.error());
  return std::move(*s);
}

// What `strata images` does in the engine: open the store, list every image
// with its tags. Counter "rows" is the number of REPOSITORY:TAG rows shown.
void BM_OpenListImages(benchmark::State& state) {
  size_t rows = 0;
  for (auto _ : state) {
    auto s = OpenOrDie();
    auto list = s->metadata().ListImages();
    if (!list) Die("list", list.error());
    rows = 0;
    for (auto& img : *list) rows += img.tags.empty() ? 1 : img.tags.size();
    benchmark::DoNotOptimize(rows);
  }
  state.counters["rows"] = static_cast<double>(rows);
}
BENCHMARK(BM_OpenListImages)->Unit(benchmark::kMillisecond)->UseRealTime();

// ListImages alone on an open store: separates the query from Store::Open.
void BM_ListImagesWarm(benchmark::State& state) {
  auto s = OpenOrDie();
  for (auto _ : state) {
    auto list = s->metadata().ListImages();
    if (!list) Die("list", list.error());
    benchmark::DoNotOptimize(list->data());
  }
}
BENCHMARK(BM_ListImagesWarm)->Unit(benchmark::kMillisecond)->UseRealTime();

// Store::Open alone (database open, schema check, snapshotter probe).
void BM_StoreOpen(benchmark::State& state) {
  for (auto _ : state) {
    auto s = OpenOrDie();
    benchmark::DoNotOptimize(s.get());
  }
}
BENCHMARK(BM_StoreOpen)->Unit(benchmark::kMillisecond)->UseRealTime();

// What `strata image inspect REF` does in the engine: open, resolve, build
// the JSON (whose RepoTags hold all 1,000 tags) and serialize it.
void InspectOnce(engine::Store& s, const std::string& ref) {
  auto id = engine::ResolveImage(s, ref);
  if (!id) Die("resolve " + ref, id.error());
  auto j = engine::InspectImage(s, *id);
  if (!j) Die("inspect " + *id, j.error());
  std::string out = j->dump(4);
  benchmark::DoNotOptimize(out.data());
}

// "middle" names the tag halfway through the list (bench/app0500 with 1,000 tags).
void BM_OpenInspect(benchmark::State& state, const char* ref) {
  std::string r = ref;
  if (r == "middle") r = TagName(g_tags / 2).substr(0, TagName(g_tags / 2).rfind(':'));
  for (auto _ : state) {
    auto s = OpenOrDie();
    InspectOnce(*s, r);
  }
}
BENCHMARK_CAPTURE(BM_OpenInspect, busybox, "busybox")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_OpenInspect, middle, "middle")->Unit(benchmark::kMillisecond)->UseRealTime();

// Inspect on an open store; by short ID prefix too (the prefix path scans IDs).
void BM_InspectWarm(benchmark::State& state, const char* ref) {
  auto s = OpenOrDie();
  std::string r = ref;
  if (r == "id-prefix") {
    auto id = engine::ResolveImage(*s, "busybox");
    if (!id) Die("resolve", id.error());
    r = id->substr(7, 12);
  }
  for (auto _ : state) InspectOnce(*s, r);
}
BENCHMARK_CAPTURE(BM_InspectWarm, busybox, "busybox")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_InspectWarm, id_prefix, "id-prefix")
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace strata::bench

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (const char* n = std::getenv("STRATA_BENCH_TAGS"); n && *n) {
    strata::bench::g_tags = std::atoi(n);
  }
  char tmpl[] = "/tmp/strata-images-bench.XXXXXX";
  if (!::mkdtemp(tmpl)) {
    std::perror("mkdtemp");
    return 1;
  }
  std::string dir = tmpl;
  strata::bench::Prepare(dir);
  benchmark::AddCustomContext("tags", std::to_string(strata::bench::g_tags));
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  if (const char* k = std::getenv("STRATA_BENCH_KEEP"); k && *k) {
    std::fprintf(stderr, "kept store: %s/store\n", dir.c_str());
    return 0;
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return 0;
}
