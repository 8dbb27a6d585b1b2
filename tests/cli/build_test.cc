// End-to-end tests of `strata build` (issue 5) through the real binary: files, config, history,
// the cache, multi-stage builds, failures and Ctrl-C (nothing left behind), bad input, flags, the
// RUN sandbox and its mounts, and interop with a real dockerd. Expected outputs marked "docker:"
// were recorded with Docker 20.10's BuildKit (DOCKER_BUILDKIT=1 docker build --network=none).
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <thread>
#include <vector>

#include "cli_helpers.h"
#include "registry/test_support.h"

namespace strata::testing {
namespace {

namespace rt = strata::registry::testing;

using Clock = std::chrono::steady_clock;

void WriteText(const std::string& path, const std::string& text) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << text;
}

bool HasOverlay() {
  std::string fs = Slurp("/proc/filesystems");
  return fs.find("\toverlay\n") != std::string::npos;
}

// The first group of every line of err that matches re.
std::vector<std::string> MatchingLines(const std::string& err, const std::regex& re) {
  std::vector<std::string> out;
  std::stringstream ss(err);
  std::string line;
  std::smatch m;
  while (std::getline(ss, line)) {
    if (std::regex_match(line, m, re)) out.push_back(m[1]);
  }
  return out;
}

// The RUN output lines of a --progress=plain build ("#7 0.123 text" → "text").
std::vector<std::string> RunLines(const std::string& err) {
  static const std::regex re(R"(^#\d+ \d+\.\d+ (.*)$)");
  return MatchingLines(err, re);
}

// For the step whose progress label ("#N [..] TEXT") contains needle: whether it printed
// "#N CACHED". nullopt when no such step was shown.
std::optional<bool> Cached(const std::string& err, const std::string& needle) {
  static const std::regex label(R"(^(#\d+) \[[^\]]*\] (.*)$)");
  std::stringstream ss(err);
  std::string line, vertex;
  std::smatch m;
  std::vector<std::string> lines;
  while (std::getline(ss, line)) lines.push_back(line);
  for (const auto& l : lines) {
    if (std::regex_match(l, m, label) && m[2].str().find(needle) != std::string::npos) {
      vertex = m[1];
      break;
    }
  }
  if (vertex.empty()) return std::nullopt;
  for (const auto& l : lines) {
    if (l == vertex + " CACHED") return true;
  }
  return false;
}

// Mount points at or below dir, from /proc/self/mountinfo (field 5).
std::vector<std::string> MountsUnder(const std::string& dir) {
  std::vector<std::string> out;
  std::stringstream ss(Slurp("/proc/self/mountinfo"));
  std::string line;
  while (std::getline(ss, line)) {
    std::stringstream ls(line);
    std::string f[5];
    for (auto& x : f) ls >> x;
    if (f[4] == dir || f[4].rfind(dir + "/", 0) == 0) out.push_back(f[4]);
  }
  return out;
}

std::vector<std::string> DirEntries(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto& e : std::filesystem::directory_iterator(dir, ec)) {
    out.push_back(e.path().filename().string());
  }
  return out;
}

// Processes whose command line is exactly argv (e.g. {"sleep", "4711"}).
std::vector<int> ProcessesWithArgv(const std::vector<std::string>& argv) {
  std::string want;
  for (const auto& a : argv) want += a + std::string(1, '\0');
  std::vector<int> out;
  for (auto& e : std::filesystem::directory_iterator("/proc")) {
    std::string name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string cmd = Slurp(e.path().string() + "/cmdline");
    if (cmd == want) out.push_back(std::stoi(name));
  }
  return out;
}

class BuildTest : public ::testing::Test {
 protected:
  // The busybox rootfs tar takes seconds to make: once for the whole suite.
  static void SetUpTestSuite() {
    if (::geteuid() != 0 || ::access("/bin/busybox", X_OK) != 0) return;
    tar_dir_ = new StrataEnv();
    tar_ = tar_dir_->BusyboxTar();
  }
  static void TearDownTestSuite() {
    delete tar_dir_;
    tar_dir_ = nullptr;
  }

  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "strata build needs root (mounts, namespaces)";
    if (!HasOverlay()) GTEST_SKIP() << "overlayfs is not available";
    if (::access("/bin/busybox", X_OK) != 0) GTEST_SKIP() << "busybox-static is not installed";
    ASSERT_EQ(::access(tar_.c_str(), R_OK), 0) << "no busybox tar";
    auto r = env_.Run("import -c 'CMD [\"/bin/sh\"]' " + tar_ + " bb");
    ASSERT_EQ(r.rc, 0) << r.err;
  }

  // A context directory with the given files (path → content) under env_.dir().
  std::string Context(const std::string& name,
                      const std::vector<std::pair<std::string, std::string>>& files) {
    std::string dir = env_.dir() + "/" + name;
    std::filesystem::create_directories(dir);
    for (const auto& [p, c] : files) WriteText(dir + "/" + p, c);
    return dir;
  }

  RunResult Build(const std::string& args) const {
    return env_.Run("build --progress=plain " + args);
  }

  // Builds and returns the image ID (through --iidfile), failing the test on error.
  std::string BuildId(const std::string& args, RunResult* res = nullptr) {
    std::string iid = env_.dir() + "/iid";
    ::unlink(iid.c_str());
    auto r = Build("--iidfile " + iid + " " + args);
    if (res) *res = r;
    EXPECT_EQ(r.rc, 0) << r.err;
    return Slurp(iid);
  }

  // The image's filesystem: `strata save`, then every layer extracted in order.
  std::string Rootfs(const std::string& ref) {
    std::string base = env_.dir() + "/fs-" + std::to_string(++counter_);
    std::string archive = base + ".tar", x = base + "-x", rootfs = base + "-root";
    std::filesystem::create_directories(x);
    std::filesystem::create_directories(rootfs);
    auto s = env_.Run("save -o " + archive + " " + ref);
    EXPECT_EQ(s.rc, 0) << s.err;
    EXPECT_EQ(env_.Shell("tar -xf " + archive + " -C " + x).rc, 0);
    auto manifest = nlohmann::json::parse(Slurp(x + "/manifest.json"), nullptr, false);
    if (!manifest.is_array() || manifest.empty()) {
      ADD_FAILURE() << "no manifest.json in the saved archive";
      return rootfs;
    }
    for (const auto& l : manifest[0]["Layers"]) {
      auto t = env_.Shell("tar -xf " + x + "/" + l.get<std::string>() + " -C " + rootfs);
      EXPECT_EQ(t.rc, 0) << t.err;
    }
    return rootfs;
  }

  nlohmann::json Inspect(const std::string& ref) {
    auto r = env_.Run("image inspect " + ref);
    EXPECT_EQ(r.rc, 0) << r.err;
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    if (!j.is_array() || j.empty()) return nlohmann::json();
    return j[0];
  }

  // `strata --root root <args>`.
  RunResult RunIn(const std::string& root, const std::string& args) const {
    return env_.Shell(std::string(STRATA_BINARY) + " --root " + root + " " + args);
  }

  // Nothing of a build may remain: no mounts under the store, no temporary dirs, a clean store.
  void ExpectNothingLeft(std::string root = "") {
    if (root.empty()) root = env_.root();
    EXPECT_EQ(MountsUnder(root), std::vector<std::string>{});
    EXPECT_EQ(DirEntries(root + "/tmp"), std::vector<std::string>{});
    auto check = RunIn(root, "system check");
    EXPECT_EQ(check.rc, 0) << check.err;
    EXPECT_EQ(Trim(check.out), "store is consistent");
  }

  static inline StrataEnv* tar_dir_ = nullptr;
  static inline std::string tar_;
  StrataEnv env_;
  int counter_ = 0;
};

constexpr const char* kAppDockerfile = R"(FROM bb
WORKDIR /app
COPY file.txt sub ./
ENV GREETING=hi PATH=/usr/bin:/bin
RUN echo "$GREETING" > gen.txt && cat file.txt
CMD ["cat", "/app/file.txt"]
)";

std::vector<std::pair<std::string, std::string>> AppFiles() {
  return {{"Dockerfile", kAppDockerfile}, {"file.txt", "hello\n"}, {"sub/n.txt", "nested\n"}};
}

// --- 1. files, config, history ------------------------------------------------------------------

TEST_F(BuildTest, ProducesFilesConfigAndHistory) {
  std::string ctx = Context("app", AppFiles());
  RunResult r;
  BuildId("-t app " + ctx, &r);
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(RunLines(r.err), std::vector<std::string>{"hello"});

  std::string fs = Rootfs("app");
  EXPECT_EQ(Slurp(fs + "/app/file.txt"), "hello\n");
  EXPECT_EQ(Slurp(fs + "/app/n.txt"), "nested\n");  // a directory source copies its contents
  EXPECT_EQ(Slurp(fs + "/app/gen.txt"), "hi\n");
  EXPECT_FALSE(std::filesystem::exists(fs + "/app/sub"));
  EXPECT_TRUE(std::filesystem::exists(fs + "/bin/busybox"));

  // docker: the same Config and one layer per WORKDIR/COPY/RUN on top of the base's.
  auto img = Inspect("app");
  auto want = nlohmann::json::parse(R"({"Hostname":"","Domainname":"","User":"",
    "AttachStdin":false,"AttachStdout":false,"AttachStderr":false,"Tty":false,"OpenStdin":false,
    "StdinOnce":false,"Env":["PATH=/usr/bin:/bin","GREETING=hi"],"Cmd":["cat","/app/file.txt"],
    "ArgsEscaped":true,"Image":"","Volumes":null,"WorkingDir":"/app","Entrypoint":null,
    "OnBuild":null,"Labels":null})");
  EXPECT_EQ(img["Config"], want);
  EXPECT_EQ(img["RootFS"]["Layers"].size(), 4u);
  EXPECT_EQ(
      Trim(env_.Run("inspect --format '{{.Config.WorkingDir}} {{json .Config.Cmd}}' app").out),
      "/app [\"cat\",\"/app/file.txt\"]");

  // docker: history --no-trunc --format '{{.CreatedBy}}' (the imported base's entry is empty).
  auto h = env_.Run("history --no-trunc --format '{{.CreatedBy}}' app");
  ASSERT_EQ(h.rc, 0) << h.err;
  EXPECT_EQ(h.out,
            "CMD [\"cat\" \"/app/file.txt\"]\n"
            "RUN /bin/sh -c echo \"$GREETING\" > gen.txt && cat file.txt # buildkit\n"
            "ENV GREETING=hi PATH=/usr/bin:/bin\n"
            "COPY file.txt sub ./ # buildkit\n"
            "WORKDIR /app\n"
            "\n");
  ExpectNothingLeft();
}

// docker: `inspect --format '{{json .Config}}'` prints the config as `image inspect` does, and
// an image without a config comment shows its last history entry's (moby's inspect does that;
// seen on this image after `docker load`).
TEST_F(BuildTest, InspectCommentIsTheLastHistoryComment) {
  std::string ctx = Context("app", AppFiles());
  ASSERT_FALSE(BuildId("-t app " + ctx).empty());
  EXPECT_EQ(Inspect("app")["Comment"], "buildkit.dockerfile.v0");
}

TEST_F(BuildTest, InspectShowsWhatDockerShows) {
  std::string ctx = Context("app", AppFiles());
  ASSERT_FALSE(BuildId("-t app " + ctx).empty());
  EXPECT_EQ(Trim(env_.Run("inspect --format '{{json .Config}}' app").out),
            R"({"Hostname":"","Domainname":"","User":"","AttachStdin":false,"AttachStdout":false,)"
            R"("AttachStderr":false,"Tty":false,"OpenStdin":false,"StdinOnce":false,)"
            R"("Env":["PATH=/usr/bin:/bin","GREETING=hi"],"Cmd":["cat","/app/file.txt"],)"
            R"("ArgsEscaped":true,"Image":"","Volumes":null,"WorkingDir":"/app",)"
            R"("Entrypoint":null,"OnBuild":null,"Labels":null})");
}

// A step's layer is kept as its tar-split, not as a second copy of its files in a tar: no
// blob is named by the built layer's diff ID, and save still rebuilds the exact tar (the store
// check reads every layer back against its diff ID; the saved layer extracts to the files).
TEST_F(BuildTest, BuiltLayersAreStoredAsTarSplits) {
  std::string ctx = Context("split", {{"Dockerfile",
                                       "FROM bb\nCOPY big.txt /big.txt\n"
                                       "RUN rm /bin/ls && ln /big.txt /hard\n"},
                                      {"big.txt", std::string(200000, 'b')}});
  ASSERT_FALSE(BuildId("--network=none -t split " + ctx).empty());
  auto ids = env_.Run("inspect --format '{{range .RootFS.Layers}}{{println .}}{{end}}' split");
  std::vector<std::string> layers;
  std::stringstream ss(ids.out);
  for (std::string l; std::getline(ss, l);) {
    if (!l.empty()) layers.push_back(l);
  }
  ASSERT_EQ(layers.size(), 3u) << ids.out;
  for (size_t i = 1; i < layers.size(); ++i) {
    EXPECT_FALSE(
        std::filesystem::exists(env_.root() + "/content/blobs/sha256/" + layers[i].substr(7)))
        << layers[i];
  }
  EXPECT_EQ(Trim(env_.Run("system check").out), "store is consistent");
  std::string fs = Rootfs("split");
  EXPECT_EQ(Slurp(fs + "/big.txt").size(), 200000u);
  EXPECT_EQ(Slurp(fs + "/hard").size(), 200000u);
}

// docker build - < Dockerfile: no context; docker build - < ctx.tar.gz: the tar is the context.
TEST_F(BuildTest, ContextFromStdin) {
  std::string df = env_.dir() + "/stdin.Dockerfile";
  WriteText(df, "FROM bb\nRUN echo from-stdin > /f\n");
  auto r = env_.Run("build -q -t s1 -", df);
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(Slurp(Rootfs("s1") + "/f"), "from-stdin\n");

  std::string ctx = Context("tarctx", {{"Dockerfile", "FROM bb\nCOPY x /x\n"},
                                       {"sub/Dockerfile.alt", "FROM bb\nCOPY x /y\n"},
                                       {"x", "in-tar\n"}});
  std::string tgz = env_.dir() + "/ctx.tgz";
  ASSERT_EQ(env_.Shell("tar -C " + ctx + " -czf " + tgz + " .").rc, 0);
  r = env_.Run("build -q -t s2 -", tgz);
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(Slurp(Rootfs("s2") + "/x"), "in-tar\n");
  // -f names a file inside the tar.
  r = env_.Run("build -q -t s3 -f sub/Dockerfile.alt -", tgz);
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(Slurp(Rootfs("s3") + "/y"), "in-tar\n");

  r = env_.Run("build -f - -", df);
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.err, "invalid argument: can't use stdin for both build context and dockerfile\n");
  // Nothing of the received contexts is left in the store's tmp, and the hash cache does not
  // remember their throwaway paths.
  EXPECT_EQ(env_.Shell("ls -A " + env_.root() + "/tmp").out, "");
  EXPECT_EQ(Slurp(env_.root() + "/build/hashcache").find("/tmp/context-"), std::string::npos);
}

// builder prune forgets the cache records (the next build runs every step) but never a layer an
// image holds; once nothing holds them, -a gives the space back, cache mounts included.
TEST_F(BuildTest, BuilderPruneForgetsCacheAndReturnsTheSpace) {
  std::string ctx = Context("bp", {{"Dockerfile",
                                    "FROM bb\nRUN echo hi > /x\n"
                                    "RUN --mount=type=cache,target=/c echo c > /c/f\n"}});
  ASSERT_FALSE(BuildId("--network=none -t bp " + ctx).empty());
  RunResult r;
  BuildId("--network=none -t bp " + ctx, &r);
  EXPECT_EQ(Cached(r.err, "RUN echo hi > /x"), true) << r.err;
  // system df counts the two RUN records under Build Cache, all reclaimable.
  EXPECT_NE(env_.Run("system df").out.find("\nBuild Cache     2         0         "),
            std::string::npos);

  // Declined: nothing happens, and the total is printed as docker's CLI does.
  std::string no = env_.dir() + "/no";
  WriteText(no, "n\n");
  r = env_.Run("builder prune", no);
  EXPECT_EQ(r.out,
            "WARNING! This will remove all dangling build cache. Are you sure you want to "
            "continue? [y/N] Total reclaimed space: 0B\n");
  r = env_.Run("builder prune -f --filter foo=bar");
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.err,
            "Error response from daemon: failed to prune build cache: Invalid filter 'foo'\n");
  // Records used within the last day stay.
  r = env_.Run("builder prune -f --filter until=24h");
  EXPECT_EQ(r.out, "Total reclaimed space: 0B\n");
  // Keeping more than the cache holds keeps everything.
  EXPECT_EQ(env_.Run("builder prune -f --keep-storage 1g").out, "Total reclaimed space: 0B\n");

  r = env_.Run("builder prune -f");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out.rfind("Deleted build cache objects:\n", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("\n\nTotal reclaimed space: 0B\n"), std::string::npos) << r.out;
  EXPECT_NE(env_.Run("system df").out.find("\nBuild Cache     0         0         0B        0B\n"),
            std::string::npos);
  // The image keeps its layers: it still saves, and the next build runs its steps again.
  EXPECT_EQ(env_.Run("save -o " + env_.dir() + "/bp.tar bp").rc, 0);
  EXPECT_FALSE(BuildId("--network=none -t bp " + ctx, &r).empty());
  EXPECT_EQ(Cached(r.err, "RUN echo hi > /x"), false) << r.err;

  ASSERT_EQ(env_.Run("rmi bp").rc, 0);
  r = env_.Run("builder prune -af");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out.find("Total reclaimed space: 0B"), std::string::npos) << r.out;
  EXPECT_FALSE(std::filesystem::exists(env_.root() + "/build/cache-mounts"));
  EXPECT_EQ(Trim(env_.Run("system check").out), "store is consistent");
}

// docker: BuildKit numbers only FROM and the filesystem steps: [1/4] FROM, [2/4] WORKDIR,
// [3/4] COPY, [4/4] RUN (ENV and CMD make no vertex and are not counted).
TEST_F(BuildTest, ProgressCountsOnlyFilesystemSteps) {
  std::string ctx = Context("app", AppFiles());
  RunResult r;
  BuildId(ctx, &r);
  EXPECT_NE(r.err.find("] WORKDIR /app\n"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(" [2/4] WORKDIR /app\n"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(" [3/4] COPY file.txt sub ./\n"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(" [4/4] RUN "), std::string::npos) << r.err;
}

// --- 2. cache -----------------------------------------------------------------------------------

TEST_F(BuildTest, CacheReusesUnchangedStepsAndRerunsFromTheFirstChange) {
  std::string ctx = Context("c", {{"Dockerfile",
                                   "FROM bb\nWORKDIR /w\nCOPY a.txt .\nRUN cat a.txt > copy.txt\n"
                                   "COPY b.txt .\n"},
                                  {"a.txt", "a1\n"},
                                  {"b.txt", "b1\n"}});
  const std::vector<std::string> steps = {"WORKDIR /w", "COPY a.txt .", "RUN cat a.txt",
                                          "COPY b.txt ."};
  RunResult r;
  std::string id1 = BuildId(ctx, &r);
  for (const auto& s : steps) EXPECT_EQ(Cached(r.err, s), false) << s << "\n" << r.err;

  // An identical build: every filesystem step from the cache, the same image.
  std::string id2 = BuildId(ctx, &r);
  for (const auto& s : steps) EXPECT_EQ(Cached(r.err, s), true) << s << "\n" << r.err;
  EXPECT_EQ(id1, id2);

  // docker: only the mtime changed → still cached.
  ::utimes((ctx + "/a.txt").c_str(), nullptr);
  EXPECT_EQ(BuildId(ctx, &r), id1);
  EXPECT_EQ(Cached(r.err, "COPY a.txt ."), true) << r.err;

  // One context file changed: its COPY and everything after it run again.
  WriteText(ctx + "/a.txt", "a2\n");
  std::string id3 = BuildId(ctx, &r);
  EXPECT_EQ(Cached(r.err, "WORKDIR /w"), true) << r.err;
  EXPECT_EQ(Cached(r.err, "COPY a.txt ."), false) << r.err;
  EXPECT_EQ(Cached(r.err, "RUN cat a.txt"), false) << r.err;
  EXPECT_EQ(Cached(r.err, "COPY b.txt ."), false) << r.err;
  EXPECT_NE(id3, id1);
  // A file no step reads changes nothing.
  WriteText(ctx + "/unused.txt", "x\n");
  EXPECT_EQ(BuildId(ctx, &r), id3);
  for (const auto& s : steps) EXPECT_EQ(Cached(r.err, s), true) << s << "\n" << r.err;

  // --no-cache runs everything.
  BuildId("--no-cache " + ctx, &r);
  for (const auto& s : steps) EXPECT_EQ(Cached(r.err, s), false) << s << "\n" << r.err;
  ExpectNothingLeft();
}

TEST_F(BuildTest, ChangedBuildArgInvalidatesTheRunThatUsesIt) {
  std::string ctx = Context(
      "arg", {{"Dockerfile", "FROM bb\nRUN echo one > /one\nARG A\nRUN echo \"a=$A\" > /a\n"}});
  RunResult r;
  std::string id1 = BuildId("--build-arg A=1 " + ctx, &r);
  std::string id2 = BuildId("--build-arg A=2 " + ctx, &r);
  EXPECT_EQ(Cached(r.err, "RUN echo one"), true) << r.err;
  EXPECT_EQ(Cached(r.err, "RUN echo \"a=$A\""), false) << r.err;
  EXPECT_NE(id1, id2);
  EXPECT_EQ(Slurp(Rootfs(Trim(id2)) + "/a"), "a=2\n");
  // Back to the first value: both steps come from the cache, the first image again.
  EXPECT_EQ(BuildId("--build-arg A=1 " + ctx, &r), id1);
  EXPECT_EQ(Cached(r.err, "RUN echo \"a=$A\""), true) << r.err;
}

// --- 3. multi-stage -----------------------------------------------------------------------------

TEST_F(BuildTest, MultiStageRunsOnlyTheStagesTheTargetNeeds) {
  std::string ctx = Context("ms", {{"Dockerfile", R"(FROM bb AS builder
RUN echo built > /out
FROM bb AS broken
RUN echo BROKEN-RAN; exit 7
FROM bb AS final
COPY --from=builder /out /from-builder
)"}});
  RunResult r;
  BuildId("-t final " + ctx, &r);
  EXPECT_EQ(r.err.find("BROKEN-RAN"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("[broken"), std::string::npos) << r.err;
  std::string fs = Rootfs("final");
  EXPECT_EQ(Slurp(fs + "/from-builder"), "built\n");
  EXPECT_FALSE(std::filesystem::exists(fs + "/out"));

  // --target picks an earlier stage; the stage after it is not built.
  BuildId("--target builder -t b " + ctx, &r);
  fs = Rootfs("b");
  EXPECT_EQ(Slurp(fs + "/out"), "built\n");
  EXPECT_FALSE(std::filesystem::exists(fs + "/from-builder"));

  auto bad = Build("--target broken " + ctx);
  EXPECT_EQ(bad.rc, 1);
  EXPECT_NE(bad.err.find("process \"/bin/sh -c echo BROKEN-RAN; exit 7\" did not complete "
                         "successfully: exit code: 7"),
            std::string::npos)
      << bad.err;
  auto miss = Build("--target nosuch " + ctx);
  EXPECT_EQ(miss.rc, 1);
  ExpectNothingLeft();
}

// Two stages meet through a shared cache mount: each waits (up to 10 s) for the other's file,
// so the build only succeeds when they run at the same time. docker: succeeds in ~3 s.
TEST_F(BuildTest, IndependentStagesRunInParallel) {
  std::string ctx = Context("par", {{"Dockerfile", R"(FROM bb AS a
RUN --mount=type=cache,target=/c,id=sync touch /c/a; for i in $(seq 100); do [ -e /c/b ] && exit 0; sleep 0.1; done; exit 1
FROM bb AS b
RUN --mount=type=cache,target=/c,id=sync touch /c/b; for i in $(seq 100); do [ -e /c/a ] && exit 0; sleep 0.1; done; exit 1
FROM bb
COPY --from=a /etc/passwd /pa
COPY --from=b /etc/passwd /pb
)"}});
  RunResult r;
  BuildId("-t par " + ctx, &r);
  EXPECT_EQ(r.rc, 0) << r.err;
  std::string fs = Rootfs("par");
  EXPECT_TRUE(std::filesystem::exists(fs + "/pa"));
  EXPECT_TRUE(std::filesystem::exists(fs + "/pb"));
}

// A stage that fails stops a sibling stage still running: its process is killed at once.
TEST_F(BuildTest, FailingStageCancelsTheOthers) {
  std::string arg = std::to_string(6000 + ::getpid() % 1000);
  std::string ctx =
      Context("cancel", {{"Dockerfile", "FROM bb AS slow\nRUN sleep " + arg +
                                            "\nFROM bb AS bad\nRUN sleep 1; exit 5\n"
                                            "FROM bb\nCOPY --from=slow /etc/passwd /a\n"
                                            "COPY --from=bad /etc/passwd /b\n"}});
  auto t0 = Clock::now();
  // timeout: should the sleep not be cancelled, SIGTERM ends the build after 60 s.
  auto r = env_.Shell("timeout 60 " + std::string(STRATA_BINARY) + " --root " + env_.root() +
                      " build --progress=plain " + ctx);
  double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("process \"/bin/sh -c sleep 1; exit 5\" did not complete successfully: "
                       "exit code: 5"),
            std::string::npos)
      << r.err;
  EXPECT_LT(secs, 30.0);
  auto left = ProcessesWithArgv({"sleep", arg});
  EXPECT_EQ(left, std::vector<int>{});
  for (int pid : left) ::kill(pid, SIGKILL);
  ExpectNothingLeft();
}

// docker: the step stopped because another stage failed ends as "#N CANCELED" (and a step
// stopped by Ctrl-C likewise), not as an error of its own.
TEST_F(BuildTest, ProgressShowsACancelledStepAsCanceled) {
  std::string ctx = Context("canceled", {{"Dockerfile",
                                          "FROM bb AS slow\nRUN sleep 30\nFROM bb AS bad\n"
                                          "RUN sleep 1; exit 5\nFROM bb\n"
                                          "COPY --from=slow /etc/passwd /a\n"
                                          "COPY --from=bad /etc/passwd /b\n"}});
  auto r = env_.Shell("timeout 60 " + std::string(STRATA_BINARY) + " --root " + env_.root() +
                      " build --progress=plain " + ctx);
  EXPECT_EQ(r.rc, 1);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.err, m, std::regex(R"((#\d+) \[slow 2/2\] RUN sleep 30\n)")))
      << r.err;
  EXPECT_NE(r.err.find("\n" + m[1].str() + " CANCELED\n"), std::string::npos) << r.err;
}

// --- 4. failing RUN -----------------------------------------------------------------------------

TEST_F(BuildTest, FailingRunFailsTheBuildAndLeavesNothing) {
  std::string ctx = Context("fail", {{"Dockerfile", "FROM bb\nRUN echo before\nRUN exit 3\n"}});
  auto r = Build("-t never " + ctx);
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("process \"/bin/sh -c exit 3\" did not complete successfully: exit code: 3"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_NE(env_.Run("image inspect never").rc, 0);  // nothing tagged
  ExpectNothingLeft();
  // The step before the failure was kept in the cache.
  r = Build(ctx);
  EXPECT_EQ(Cached(r.err, "RUN echo before"), true) << r.err;
}

// --- 5. Ctrl-C / SIGTERM ------------------------------------------------------------------------

class BuildSignalTest : public BuildTest, public ::testing::WithParamInterface<int> {};

TEST_P(BuildSignalTest, StopsTheBuildAndCleansUp) {
  int sig = GetParam();
  // A sleep with an argument nothing else on the machine uses, to find it in /proc.
  std::string arg = std::to_string(4000 + (::getpid() % 1000) * 10 + sig);
  std::string ctx = Context("sig", {{"Dockerfile", "FROM bb\nRUN sleep " + arg + "\n"}});
  std::string err_path = env_.dir() + "/sig.err";
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    int fd = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 2);
    int nul = ::open("/dev/null", O_RDWR);
    ::dup2(nul, 0);
    ::dup2(nul, 1);
    std::string root = env_.root();
    ::execl(STRATA_BINARY, STRATA_BINARY, "--root", root.c_str(), "build", "--progress=plain",
            ctx.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  // Wait until the step runs (its label is printed and the sleep exists).
  auto deadline = Clock::now() + std::chrono::seconds(30);
  bool started = false;
  while (Clock::now() < deadline) {
    if (Slurp(err_path).find("RUN sleep " + arg) != std::string::npos &&
        !ProcessesWithArgv({"sleep", arg}).empty()) {
      started = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(started) << Slurp(err_path);
  auto t0 = Clock::now();
  ::kill(pid, sig);
  int status = 0;
  pid_t got = 0;
  while (Clock::now() - t0 < std::chrono::seconds(15)) {
    got = ::waitpid(pid, &status, WNOHANG);
    if (got == pid) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (got != pid) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    FAIL() << "strata build did not stop within 15 s of signal " << sig;
  }
  double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  EXPECT_LT(secs, 5.0);
  ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << WTERMSIG(status);
  EXPECT_NE(WEXITSTATUS(status), 0);
  std::string err = Slurp(err_path);
  EXPECT_NE(err.find("context canceled"), std::string::npos) << err;
  EXPECT_EQ(ProcessesWithArgv({"sleep", arg}), std::vector<int>{});
  ExpectNothingLeft();
}

INSTANTIATE_TEST_SUITE_P(Signals, BuildSignalTest, ::testing::Values(SIGINT, SIGTERM),
                         [](const auto& info) { return info.param == SIGINT ? "INT" : "TERM"; });

// --- 6. bad input -------------------------------------------------------------------------------

TEST_F(BuildTest, MissingDockerfileIsAOneLineError) {
  std::string ctx = Context("empty", {{"a.txt", "a\n"}});
  auto r = Build(ctx);
  EXPECT_EQ(r.rc, 1);
  // docker: failed to read dockerfile: open …/Dockerfile: no such file or directory
  EXPECT_NE(r.err.find("failed to read dockerfile: open " + ctx +
                       "/Dockerfile: no such file or directory\n"),
            std::string::npos)
      << r.err;
  // One error line, and no progress line after it.
  EXPECT_NE(r.err.find("ERROR"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("ERROR"), r.err.rfind("ERROR")) << "more than one error line:\n" << r.err;
  EXPECT_EQ(r.err.find('\n', r.err.find("ERROR")), r.err.size() - 1) << r.err;
  auto f = Build("-f " + ctx + "/Nope " + ctx);
  EXPECT_EQ(f.rc, 1);
  EXPECT_NE(f.err.find("open " + ctx + "/Nope: no such file or directory"), std::string::npos)
      << f.err;
  ExpectNothingLeft();
}

TEST_F(BuildTest, MissingContextDirectory) {
  auto r = env_.Run("build " + env_.dir() + "/nosuch");
  EXPECT_EQ(r.rc, 1);
  // docker: unable to prepare context: path "/…/nosuch" not found
  EXPECT_NE(r.err.find("unable to prepare context: path \"" + env_.dir() + "/nosuch\" not found"),
            std::string::npos)
      << r.err;
}

// docker: `COPY ../outside /x` resolves inside the context: it copies <ctx>/outside, and fails
// with `"/outside" not found` when the context has no such file (the file next to the context
// is never read).
TEST_F(BuildTest, CopyFromAboveTheContextStaysInside) {
  WriteText(env_.dir() + "/outside", "outside\n");
  std::string ctx =
      Context("up", {{"Dockerfile", "FROM bb\nCOPY ../outside /x\n"}, {"outside", "inside\n"}});
  ASSERT_FALSE(BuildId("-t up " + ctx).empty());
  EXPECT_EQ(Slurp(Rootfs("up") + "/x"), "inside\n");

  std::filesystem::remove(ctx + "/outside");
  auto r = Build(ctx);
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("failed to compute cache key: \"/outside\" not found: not found"),
            std::string::npos)
      << r.err;
  ExpectNothingLeft();
}

// docker: symlinks inside a copied directory are copied as symlinks, never followed; a symlink
// named as the source is resolved inside the context (so one to /etc/passwd is "not found").
TEST_F(BuildTest, SymlinksPointingOutsideTheContext) {
  std::string ctx = Context("ln", {{"Dockerfile", "FROM bb\nCOPY sub /d/\n"}, {"sub/f", "f\n"}});
  std::filesystem::create_symlink("/etc/shadow", ctx + "/sub/abs");
  std::filesystem::create_symlink("../../../../etc/shadow", ctx + "/sub/rel");
  std::filesystem::create_symlink("/etc/shadow", ctx + "/top");
  ASSERT_FALSE(BuildId("-t ln " + ctx).empty());
  std::string fs = Rootfs("ln");
  EXPECT_TRUE(std::filesystem::is_symlink(fs + "/d/abs"));
  EXPECT_EQ(std::filesystem::read_symlink(fs + "/d/abs"), "/etc/shadow");
  EXPECT_TRUE(std::filesystem::is_symlink(fs + "/d/rel"));
  EXPECT_EQ(std::filesystem::read_symlink(fs + "/d/rel"), "../../../../etc/shadow");
  EXPECT_EQ(Slurp(fs + "/d/f"), "f\n");

  WriteText(ctx + "/Dockerfile", "FROM bb\nCOPY top /t\n");
  auto r = Build(ctx);
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("failed to compute cache key: \"/etc/shadow\" not found: not found"),
            std::string::npos)
      << r.err;
  ExpectNothingLeft();
}

// A file root cannot read (mode 000 once CAP_DAC_OVERRIDE/CAP_DAC_READ_SEARCH are dropped from
// the bounding set) must end in a clear error naming it. Docker 20.10's BuildKit differs here:
// it silently copies the file as empty (a data loss the issue rules out).
TEST_F(BuildTest, UnreadableContextFileIsAClearError) {
  if (::access("/usr/bin/setpriv", X_OK) != 0) GTEST_SKIP() << "setpriv (util-linux) missing";
  std::string ctx = Context(
      "unread", {{"Dockerfile", "FROM bb\nCOPY d /d/\n"}, {"d/ok", "x\n"}, {"d/locked", "s"}});
  ::chmod((ctx + "/d/locked").c_str(), 0);
  auto r = env_.Shell("setpriv --bounding-set=-dac_override,-dac_read_search -- " +
                      std::string(STRATA_BINARY) + " --root " + env_.root() +
                      " build --progress=plain " + ctx);
  EXPECT_EQ(r.rc, 1) << r.err;
  std::string lower = r.err;
  std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
  EXPECT_NE(lower.find("permission denied"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("locked"), std::string::npos) << r.err;
  ExpectNothingLeft();
}

// A full disk: the store's file system fills up during a COPY, then inside a RUN. Each build
// ends with one error line that names the cause, and leaves nothing behind.
TEST_F(BuildTest, FullDiskIsAClearErrorAndLeavesNothing) {
  std::string small = env_.dir() + "/small";
  std::filesystem::create_directories(small);
  ASSERT_EQ(::mount("tmpfs", small.c_str(), "tmpfs", 0, "size=24m"), 0) << strerror(errno);
  struct Unmount {
    std::string path;
    ~Unmount() { ::umount2(path.c_str(), MNT_DETACH); }
  } unmount{small};
  std::string root = small + "/root";
  auto r = RunIn(root, "import -c 'CMD [\"/bin/sh\"]' " + tar_ + " bb");
  ASSERT_EQ(r.rc, 0) << r.err;

  std::string ctx = Context("big", {{"Dockerfile", "FROM bb\nCOPY big /big\n"}});
  WriteText(ctx + "/big", std::string(32 << 20, 'x'));
  r = RunIn(root, "build --progress=plain -t big " + ctx);
  EXPECT_EQ(r.rc, 1);
  std::string last = Trim(r.err.substr(Trim(r.err).rfind('\n') + 1));
  EXPECT_EQ(last.rfind("ERROR: failed to solve: ", 0), 0u) << r.err;
  std::string lower = last;
  std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
  EXPECT_NE(lower.find("copy /big: write: no space left on device"), std::string::npos) << r.err;
  EXPECT_NE(RunIn(root, "image inspect big").rc, 0);
  ExpectNothingLeft(root);

  ctx = Context("fill", {{"Dockerfile", "FROM bb\nRUN dd if=/dev/zero of=/fill bs=1M count=64\n"}});
  r = RunIn(root, "build --progress=plain --network=none " + ctx);
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("No space left on device"), std::string::npos) << r.err;  // dd, in the log
  EXPECT_NE(r.err.find("ERROR: failed to solve: process \"/bin/sh -c dd if=/dev/zero of=/fill "
                       "bs=1M count=64\" did not complete successfully: exit code: 1"),
            std::string::npos)
      << r.err;
  ExpectNothingLeft(root);
  // The store goes on working: what fits still builds.
  ctx = Context("fits", {{"Dockerfile", "FROM bb\nRUN echo ok > /ok\n"}});
  r = RunIn(root, "build --progress=plain --network=none -t fits " + ctx);
  EXPECT_EQ(r.rc, 0) << r.err;
}

// docker: a fifo in the context is skipped (not copied, no error, no hang).
TEST_F(BuildTest, FifoInTheContextIsSkipped) {
  std::string ctx = Context("fifo", {{"Dockerfile", "FROM bb\nCOPY d /d/\n"}, {"d/ok", "x\n"}});
  ASSERT_EQ(::mkfifo((ctx + "/d/fifo").c_str(), 0644), 0);
  auto r = env_.Shell("timeout 60 " + std::string(STRATA_BINARY) + " --root " + env_.root() +
                      " build -t fifo " + ctx);
  ASSERT_EQ(r.rc, 0) << r.err;
  std::string fs = Rootfs("fifo");
  EXPECT_EQ(Slurp(fs + "/d/ok"), "x\n");
  EXPECT_FALSE(std::filesystem::exists(std::filesystem::symlink_status(fs + "/d/fifo")));
}

TEST_F(BuildTest, CopyOfAMissingSource) {
  std::string ctx = Context("miss", {{"Dockerfile", "FROM bb\nCOPY /nosuch /x\n"}});
  auto r = Build(ctx);
  EXPECT_EQ(r.rc, 1);
  // docker: exactly this message.
  EXPECT_NE(r.err.find("failed to compute cache key: \"/nosuch\" not found: not found"),
            std::string::npos)
      << r.err;
  // The step's vertex ends with it too (BuildKit: "#5 ERROR: ...").
  std::regex vertex_error(R"(\n#\d+ ERROR: failed to compute cache key: "/nosuch" not found)");
  EXPECT_TRUE(std::regex_search(r.err, vertex_error)) << r.err;
  ExpectNothingLeft();
}

TEST_F(BuildTest, SyntaxErrorNamesTheLine) {
  std::string ctx = Context("syn", {{"Dockerfile", "FROM bb\nRUN true\nFOO bar\n"}});
  auto r = Build(ctx);
  EXPECT_EQ(r.rc, 1);
  // docker: dockerfile parse error line 3: unknown instruction: FOO
  EXPECT_NE(r.err.find("unknown instruction: FOO"), std::string::npos) << r.err;
  EXPECT_TRUE(r.err.find("line 3") != std::string::npos ||
              r.err.find("Dockerfile:3") != std::string::npos)
      << r.err;
  WriteText(ctx + "/Dockerfile", "FROM bb\nRUN true\nCOPY\n");
  r = Build(ctx);
  EXPECT_EQ(r.rc, 1);
  // docker: dockerfile parse error line 3: COPY requires at least two arguments, but only one
  // was provided. Destination could not be determined
  EXPECT_NE(r.err.find("COPY requires at least two arguments"), std::string::npos) << r.err;
  ExpectNothingLeft();
}

// --- 7. flags -----------------------------------------------------------------------------------

TEST_F(BuildTest, QuietIidfileTagsStdinAndLabels) {
  std::string ctx = Context("flags", {{"Dockerfile", "FROM bb\nCOPY f /f\n"}, {"f", "f\n"}});
  std::string iid = env_.dir() + "/flags.iid";
  auto r = env_.Run("build -q --iidfile " + iid + " -t a -t b:v2 --label k=v --label z=1 " + ctx);
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_TRUE(std::regex_match(r.out, std::regex("sha256:[0-9a-f]{64}\n"))) << r.out;
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(Slurp(iid), Trim(r.out));  // docker: the ID without a newline
  auto tags = env_.Run("images --format '{{.Repository}}:{{.Tag}} {{.ID}}'");
  EXPECT_NE(tags.out.find("a:latest " + Trim(r.out).substr(7, 12)), std::string::npos) << tags.out;
  EXPECT_NE(tags.out.find("b:v2 " + Trim(r.out).substr(7, 12)), std::string::npos) << tags.out;
  EXPECT_EQ(Trim(env_.Run("inspect --format '{{json .Config.Labels}}' a").out),
            R"({"k":"v","z":"1"})");

  // -f - reads the Dockerfile from stdin; the context is still the directory.
  std::string df = env_.dir() + "/stdin.Dockerfile";
  WriteText(df, "FROM bb\nCOPY f /from-stdin\n");
  auto s = env_.Run("build -q -t stdin -f - " + ctx, df);
  ASSERT_EQ(s.rc, 0) << s.err;
  EXPECT_EQ(Slurp(Rootfs("stdin") + "/from-stdin"), "f\n");
}

TEST_F(BuildTest, SourceDateEpochMakesBuildsReproducible) {
  std::string ctx =
      Context("sde", {{"Dockerfile", "FROM bb\nCOPY f /f\nRUN echo x > /x\n"}, {"f", "f\n"}});
  std::string cmd = "build -q --no-cache " + ctx;
  auto a = env_.Shell("SOURCE_DATE_EPOCH=1700000000 " + std::string(STRATA_BINARY) + " --root " +
                      env_.root() + " " + cmd);
  ASSERT_EQ(a.rc, 0) << a.err;
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // a different wall-clock second
  WriteText(ctx + "/f", "f\n");                                  // and a new mtime
  auto b = env_.Shell("SOURCE_DATE_EPOCH=1700000000 " + std::string(STRATA_BINARY) + " --root " +
                      env_.root() + " " + cmd);
  ASSERT_EQ(b.rc, 0) << b.err;
  EXPECT_EQ(a.out, b.out);
  EXPECT_EQ(Trim(env_.Run("inspect --format '{{.Created}}' " + Trim(a.out)).out),
            "2023-11-14T22:13:20Z");
}

// --- 8. the RUN sandbox -------------------------------------------------------------------------

// docker: every expected line below, with --network=none.
TEST_F(BuildTest, RunSandboxUserHostnameHostsAndNetwork) {
  std::string ctx = Context("sb", {{"Dockerfile", R"(FROM bb
RUN echo 'u:x:1234:2345::/:/bin/sh' >> /etc/passwd && echo 'g:x:2345:' >> /etc/group
USER u
RUN id; hostname; cat /etc/hosts; ip -o link | cut -d: -f2
)"}});
  RunResult r;
  BuildId("--network=none " + ctx, &r);
  EXPECT_EQ(RunLines(r.err),
            (std::vector<std::string>{"uid=1234(u) gid=2345(g)", "buildkitsandbox",
                                      "127.0.0.1\tlocalhost buildkitsandbox",
                                      "::1\tlocalhost ip6-localhost ip6-loopback", " lo"}))
      << r.err;
}

// docker: tmpfs, a read-only bind of the context, and a secret (mode 0400, root) that never
// reaches the image.
TEST_F(BuildTest, RunMountsTmpfsBindAndSecret) {
  std::string secret = env_.dir() + "/secret.txt";
  WriteText(secret, "topsecret-" + std::to_string(::getpid()) + "\n");
  std::string ctx = Context("mnt", {{"Dockerfile", R"(FROM bb
RUN --mount=type=tmpfs,target=/t touch /t/x && ls /t && mount | grep ' /t '
RUN --mount=type=bind,target=/b cat /b/c.txt; touch /b/w 2>&1 || true
RUN --mount=type=secret,id=s cat /run/secrets/s; stat -c '%a %u:%g' /run/secrets/s
)"},
                                    {"c.txt", "ctxfile\n"}});
  RunResult r;
  BuildId("-t mnt --network=none --secret id=s,src=" + secret + " " + ctx, &r);
  EXPECT_EQ(RunLines(r.err),
            (std::vector<std::string>{"x", "tmpfs on /t type tmpfs (rw,nosuid,relatime)", "ctxfile",
                                      "touch: /b/w: Read-only file system", Trim(Slurp(secret)),
                                      "400 0:0"}))
      << r.err;
  // The secret is in no layer and not in the config.
  std::string archive = env_.dir() + "/mnt.tar";
  ASSERT_EQ(env_.Run("save -o " + archive + " mnt").rc, 0);
  EXPECT_EQ(Slurp(archive).find(Trim(Slurp(secret))), std::string::npos);
  std::string fs = Rootfs("mnt");
  EXPECT_FALSE(std::filesystem::exists(fs + "/t/x"));
  EXPECT_FALSE(std::filesystem::exists(fs + "/b/c.txt"));
  ExpectNothingLeft();
}

// docker: a cache mount keeps its content for the next build whose step is not cached.
TEST_F(BuildTest, CacheMountPersistsAcrossBuilds) {
  std::string ctx = Context("cm", {{"Dockerfile", R"(FROM bb
ARG N
RUN --mount=type=cache,target=/c cat /c/f 2>/dev/null || echo none; echo "run $N" > /c/f
)"}});
  RunResult r;
  BuildId("--build-arg N=1 " + ctx, &r);
  EXPECT_EQ(RunLines(r.err), std::vector<std::string>{"none"}) << r.err;
  BuildId("--build-arg N=2 " + ctx, &r);
  EXPECT_EQ(RunLines(r.err), std::vector<std::string>{"run 1"}) << r.err;
  // ... and --no-cache (docker 20.10 gives such a build a fresh cache mount; strata keeps it,
  // as the brief asks).
  std::string id = BuildId("--no-cache --build-arg N=3 " + ctx, &r);
  EXPECT_EQ(RunLines(r.err), std::vector<std::string>{"run 2"}) << r.err;
  // The cache mount itself is not part of the image: one layer on top of the base.
  EXPECT_EQ(Inspect(Trim(id))["RootFS"]["Layers"].size(), 2u);
}

// docker: uid/gid/mode set the cache directory's owner and mode ("1234:2345 750").
TEST_F(BuildTest, CacheMountOwnerAndMode) {
  std::string ctx = Context(
      "cmu", {{"Dockerfile",
               "FROM bb\nRUN --mount=type=cache,target=/cu,uid=1234,gid=2345,mode=0750 stat -c "
               "'%u:%g %a' /cu\n"}});
  RunResult r;
  BuildId(ctx, &r);
  EXPECT_EQ(RunLines(r.err), std::vector<std::string>{"1234:2345 750"}) << r.err;
}

// --- 8b. ADD <url> -------------------------------------------------------------------------------

// A loopback file server whose files the test changes between builds; counts GETs per path.
class FileServer {
 public:
  struct File {
    std::string body;
    std::string last_modified;  // "" sends no Last-Modified
  };
  FileServer()
      : server_([this](const registry::testing::SeenRequest& r) {
          std::lock_guard<std::mutex> l(mu_);
          std::string path = r.target.substr(0, r.target.find('?'));
          ++gets_[path];
          auto it = files_.find(path);
          if (it == files_.end()) return registry::testing::Reply{404, {}, "404 not found\n"};
          registry::testing::Reply rep{200, {}, it->second.body};
          if (!it->second.last_modified.empty()) {
            rep.headers.push_back({"Last-Modified", it->second.last_modified});
          }
          return rep;
        }) {}
  void Set(const std::string& path, File f) {
    std::lock_guard<std::mutex> l(mu_);
    files_[path] = std::move(f);
  }
  int Gets(const std::string& path) {
    std::lock_guard<std::mutex> l(mu_);
    return gets_[path];
  }
  std::string url() const { return server_.url(); }

 private:
  std::mutex mu_;
  std::map<std::string, File> files_;
  std::map<std::string, int> gets_;
  registry::testing::TestServer server_;  // last: stops before the maps go
};

constexpr const char* kLastModified = "Thu, 02 Jan 2020 03:04:05 GMT";  // 1577934245

// "mode uid:gid mtime size" of a path, as `stat -c '%a %u:%g %Y %s'` shows it.
std::string StatLine(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return "missing";
  char buf[128];
  snprintf(buf, sizeof buf, "%o %u:%u %lld %lld", st.st_mode & 07777, st.st_uid, st.st_gid,
           static_cast<long long>(st.st_mtime), static_cast<long long>(st.st_size));
  return buf;
}

// docker 20.10 (DOCKER_BUILDKIT=1, the same files served by python3 http.server), `stat -c
// '%n %a %u:%g %Y %s'` in the image: /a/hello.txt 600 0:0 1577934245 10; /b the file itself;
// /c/hello.txt (query dropped); /e/__unnamed__ 600 0:0 0 (no Last-Modified: the epoch);
// /f/arch.tar.gz not extracted; --chown=123:456 gives /g 755 123:456 and /g/hello.txt 600
// 123:456; WORKDIR /w + `ADD url rel` gives /w/rel. --chmod: 20.10 ignores it for a URL (600),
// current BuildKit applies it; strata does as current BuildKit (755).
TEST_F(BuildTest, AddFromUrlNamesModesOwnersAndTimes) {
  FileServer srv;
  srv.Set("/hello.txt", {"hello url\n", kLastModified});
  srv.Set("/", {"<html>listing</html>\n", ""});
  std::string tgz = env_.dir() + "/arch.tar.gz";
  ASSERT_EQ(env_.Shell("mkdir -p " + env_.dir() + "/t && echo inner > " + env_.dir() +
                       "/t/inner.txt && tar czf " + tgz + " -C " + env_.dir() + "/t inner.txt")
                .rc,
            0);
  srv.Set("/arch.tar.gz", {Slurp(tgz), kLastModified});
  std::string u = srv.url();
  std::string ctx = Context("url", {{"Dockerfile",
                                     "FROM bb\n"
                                     "ADD " +
                                         u +
                                         "/hello.txt /a/\n"
                                         "ADD " +
                                         u +
                                         "/hello.txt /b\n"
                                         "ADD " +
                                         u +
                                         "/hello.txt?x=1&y=2 /c/\n"
                                         "ADD " +
                                         u +
                                         "/ /e/\n"
                                         "ADD " +
                                         u +
                                         "/arch.tar.gz /f/\n"
                                         "ADD --chown=123:456 " +
                                         u +
                                         "/hello.txt /g/\n"
                                         "ADD --chmod=755 " +
                                         u +
                                         "/hello.txt /h/\n"
                                         "WORKDIR /w\n"
                                         "ADD " +
                                         u + "/hello.txt rel\n"}});
  RunResult r;
  ASSERT_FALSE(BuildId("-t url " + ctx, &r).empty()) << r.err;
  std::string fs = Rootfs("url");
  EXPECT_EQ(Slurp(fs + "/a/hello.txt"), "hello url\n");
  EXPECT_EQ(StatLine(fs + "/a/hello.txt"), "600 0:0 1577934245 10");
  EXPECT_EQ(StatLine(fs + "/b"), "600 0:0 1577934245 10");
  EXPECT_EQ(StatLine(fs + "/c/hello.txt"), "600 0:0 1577934245 10");
  EXPECT_EQ(StatLine(fs + "/e/__unnamed__"), "600 0:0 0 21");
  EXPECT_EQ(Slurp(fs + "/f/arch.tar.gz"), Slurp(tgz));
  EXPECT_FALSE(std::filesystem::exists(fs + "/f/inner.txt"));
  EXPECT_EQ(StatLine(fs + "/g/hello.txt"), "600 123:456 1577934245 10");
  EXPECT_EQ(StatLine(fs + "/g").substr(0, 11), "755 123:456");
  EXPECT_EQ(StatLine(fs + "/h/hello.txt"), "755 0:0 1577934245 10");
  EXPECT_EQ(StatLine(fs + "/w/rel"), "600 0:0 1577934245 10");
  // Five steps name /hello.txt: it is fetched once for the build.
  EXPECT_EQ(srv.Gets("/hello.txt"), 2) << "one GET for hello.txt, one for hello.txt?x=1&y=2";
  // BuildKit shows each URL as a vertex of its own.
  EXPECT_NE(r.err.find(" " + u + "/hello.txt\n"), std::string::npos) << r.err;
  ExpectNothingLeft();
}

// docker 20.10: an identical rebuild is CACHED (the file is fetched again to know), so is one
// where only Last-Modified moved; changed bytes run the step again.
TEST_F(BuildTest, AddFromUrlCachesOnTheContent) {
  FileServer srv;
  srv.Set("/var.txt", {"v1\n", kLastModified});
  std::string ctx =
      Context("urlc", {{"Dockerfile", "FROM bb\nADD " + srv.url() + "/var.txt /v/\n"}});
  RunResult r;
  std::string id1 = BuildId(ctx, &r);
  EXPECT_EQ(Cached(r.err, "ADD "), false) << r.err;
  std::string id2 = BuildId(ctx, &r);
  EXPECT_EQ(Cached(r.err, "ADD "), true) << r.err;
  EXPECT_EQ(id1, id2);
  EXPECT_EQ(srv.Gets("/var.txt"), 2);

  srv.Set("/var.txt", {"v1\n", "Fri, 03 Jan 2020 03:04:05 GMT"});
  EXPECT_EQ(BuildId(ctx, &r), id1);
  EXPECT_EQ(Cached(r.err, "ADD "), true) << r.err;

  srv.Set("/var.txt", {"v2\n", kLastModified});
  std::string id3 = BuildId("-t urlc " + ctx, &r);
  EXPECT_EQ(Cached(r.err, "ADD "), false) << r.err;
  EXPECT_NE(id3, id1);
  EXPECT_EQ(Slurp(Rootfs("urlc") + "/v/var.txt"), "v2\n");
  ExpectNothingLeft();
}

// --checksum (BuildKit's wording; docker 20.10's frontend does not know the flag).
TEST_F(BuildTest, AddFromUrlChecksum) {
  FileServer srv;
  srv.Set("/hello.txt", {"hello url\n", kLastModified});
  const std::string good =
      "sha256:97ec1c5ac0d6c7fb8964d41d34b7e8f7372082d64ee8e6eedcd8251165e1dd5e";
  const std::string bad = "sha256:" + std::string(64, '0');
  std::string url = srv.url() + "/hello.txt";
  std::string ok =
      Context("sum-ok", {{"Dockerfile", "FROM bb\nADD --checksum=" + good + " " + url + " /x/\n"}});
  RunResult r;
  ASSERT_FALSE(BuildId("-t sum " + ok, &r).empty()) << r.err;
  EXPECT_EQ(Slurp(Rootfs("sum") + "/x/hello.txt"), "hello url\n");

  std::string no =
      Context("sum-bad", {{"Dockerfile", "FROM bb\nADD --checksum=" + bad + " " + url + " /x/\n"}});
  r = Build(no);
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("failed to load cache key: digest mismatch for " + url + ": " + good +
                       " (expected: " + bad + ")"),
            std::string::npos)
      << r.err;

  std::string local =
      Context("sum-local", {{"Dockerfile", "FROM bb\nADD --checksum=" + good + " f.txt /x/\n"},
                            {"f.txt", "hello url\n"}});
  r = Build(local);
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("checksum can't be specified for non-HTTP(S) sources"), std::string::npos)
      << r.err;
  ExpectNothingLeft();
}

// docker 20.10: `failed to load cache key: invalid response status 404`, exit code 1.
TEST_F(BuildTest, AddFromUrlErrors) {
  FileServer srv;
  std::string ctx =
      Context("u404", {{"Dockerfile", "FROM bb\nADD " + srv.url() + "/missing.txt /m/\n"}});
  auto r = Build(ctx);
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("failed to load cache key: invalid response status 404"), std::string::npos)
      << r.err;
  int port = registry::testing::FreePort();
  std::string dead = "http://127.0.0.1:" + std::to_string(port) + "/x.txt";
  ctx = Context("udead", {{"Dockerfile", "FROM bb\nADD " + dead + " /m/\n"}});
  r = Build(ctx);
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("failed to load cache key: Get \"" + dead + "\": "), std::string::npos)
      << r.err;
  ExpectNothingLeft();
}

// --- 9. interop with a real dockerd -------------------------------------------------------------

// The private dockerd of scripts/test-all.sh (STRATA_TEST_DOCKER_HOST), as docker_diff_test.cc.
// -o: the target's filesystem leaves the build; no image is kept or tagged. docker (20.10,
// `-o out`): files hi, l -> hi, x/hi; files already in dest stay; `docker images` has no tag.
constexpr const char* kOutputDockerfile = R"(FROM bb AS a
RUN echo hi > /hi && mkdir -p /d && ln -s hi /d/l
FROM scratch
COPY --from=a /hi /d /
COPY --from=a /hi /x/
)";

TEST_F(BuildTest, OutputLocalWritesTheTargetsFilesAndKeepsNoImage) {
  std::string ctx = Context("out", {{"Dockerfile", kOutputDockerfile}});
  std::string dest = env_.dir() + "/dest";
  WriteText(dest + "/keep", "mine\n");
  auto r = Build("--network=none -t outimg -o " + dest + " " + ctx);
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.err.find(" exporting to client\n"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("naming to"), std::string::npos) << r.err;
  EXPECT_EQ(Slurp(dest + "/hi"), "hi\n");
  EXPECT_EQ(Slurp(dest + "/x/hi"), "hi\n");
  EXPECT_EQ(Slurp(dest + "/keep"), "mine\n");
  std::error_code ec;
  EXPECT_EQ(std::filesystem::read_symlink(dest + "/l", ec), "hi");
  EXPECT_NE(env_.Run("image inspect outimg").rc, 0);
  EXPECT_EQ(Trim(env_.Run("images -q --filter dangling=true").out), "");
  ExpectNothingLeft();
}

TEST_F(BuildTest, OutputTarToAFileAndToStdoutHoldTheSameTree) {
  std::string ctx = Context("out", {{"Dockerfile", kOutputDockerfile}});
  std::string file = env_.dir() + "/fs.tar";
  auto r = Build("--network=none -o type=tar,dest=" + file + " " + ctx);
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.err.find(" sending tarball done\n"), std::string::npos) << r.err;
  // docker: `tar tf` lists hi, l, x/, x/hi (no ./ prefix, sorted).
  auto list = env_.Shell("tar -tf " + file);
  EXPECT_EQ(list.out, "hi\nl\nx/\nx/hi\n");
  auto piped = env_.Run("build -q --network=none -o - " + ctx);
  ASSERT_EQ(piped.rc, 0) << piped.err;
  EXPECT_EQ(piped.out, Slurp(file));
  for (const auto& name : DirEntries(env_.dir())) EXPECT_EQ(name.find(".tmp"), std::string::npos);
  ExpectNothingLeft();
}

TEST_F(BuildTest, OutputDockerArchiveStoresTheImageAndWritesItsArchive) {
  std::string ctx = Context("out", {{"Dockerfile", kOutputDockerfile}});
  std::string file = env_.dir() + "/img.tar";
  std::string id =
      Trim(BuildId("--network=none -t outimg:2 -o type=docker,dest=" + file + " " + ctx));
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(Inspect("outimg:2")["Id"], id);
  std::string x = env_.dir() + "/x";
  std::filesystem::create_directories(x);
  ASSERT_EQ(env_.Shell("tar -xf " + file + " -C " + x).rc, 0);
  auto manifest = nlohmann::json::parse(Slurp(x + "/manifest.json"), nullptr, false);
  ASSERT_TRUE(manifest.is_array() && manifest.size() == 1) << manifest;
  EXPECT_EQ(manifest[0]["RepoTags"], nlohmann::json::array({"outimg:2"}));
  EXPECT_EQ("sha256:" +
                std::filesystem::path(manifest[0]["Config"].get<std::string>()).filename().string(),
            id);
}

// docker 20.10's CLI and daemon, recorded: each -o value and what docker printed.
TEST_F(BuildTest, OutputValuesDockerRefusesAreRefusedWithItsWords) {
  std::string ctx = Context("out", {{"Dockerfile", kOutputDockerfile}});
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"-o type=local", "dest is required for local output"},
      {"-o type=tar", "dest is required for tar output"},
      {"-o type=bogus,dest=x", "Error response from daemon: exporter \"bogus\" could not be found"},
      {"-o type=local,dest=a,b", "failed to parse outputs: invalid value b"},
      {"-o 'type=lo\"cal,dest=x'",
       "failed to parse outputs: parse error on line 1, column 8: bare \" in non-quoted-field"},
      {"-o dest=a,foo=b", "failed to parse outputs: type is required for output"},
      {"-o a -o b", "multiple outputs currently unsupported"},
      {"-o ''", "failed to parse outputs: EOF"},
  };
  for (const auto& [flags, message] : cases) {
    auto r = Build("--network=none " + flags + " " + ctx);
    EXPECT_EQ(r.rc, 1) << flags;
    EXPECT_EQ(r.err, message + "\n") << flags;
  }
  // A value that is neither CSV nor type=… is a directory, whatever it looks like.
  auto r = env_.Shell("cd " + env_.dir() + " && " + STRATA_BINARY + " --root " + env_.root() +
                      " build -q --network=none -o dest=x1 " + ctx);
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(Slurp(env_.dir() + "/dest=x1/hi"), "hi\n");
}

// Every step that misses the cache says why (BuildKit cannot: moby/buildkit#2567).
TEST_F(BuildTest, CacheMissesSayWhichInputChanged) {
  std::string ctx = Context("explain", {{"Dockerfile", R"(FROM bb
ARG V=1
COPY src /app/
RUN echo $V > /v
RUN cat /app/a
)"},
                                        {"src/a", "a\n"},
                                        {"src/b", "b\n"}});
  auto misses = [](const std::string& err) {
    static const std::regex re(R"(^#\d+ cache miss: (.*)$)");
    return MatchingLines(err, re);
  };

  std::string b = "--network=none " + ctx;
  auto r = Build(b);
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(misses(r.err), std::vector<std::string>(3, "not built before"));
  r = Build(b);
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(misses(r.err), std::vector<std::string>{});
  WriteText(ctx + "/src/a", "a2\n");
  WriteText(ctx + "/src/c", "c\n");
  std::filesystem::remove(ctx + "/src/b");
  r = Build("--build-arg V=2 " + b);
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(misses(r.err),
            (std::vector<std::string>{
                "context files changed /src/a, added /src/c, removed /src/b",
                "its parent changed: [2/4] COPY src /app/; build arg or environment changed: V=1 "
                "-> V=2",
                "its parent changed: [3/4] RUN echo $V > /v; build arg or environment changed: "
                "V=1 -> V=2"}));
  WriteText(ctx + "/Dockerfile",
            "FROM bb\nARG V=1\nCOPY src /app/\nRUN echo $V > /v\nRUN ls /app\n");
  r = Build("--build-arg V=2 " + b);
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(misses(r.err),
            std::vector<std::string>{"the command changed: was /bin/sh -c cat /app/a"});
  r = Build("--no-cache --build-arg V=2 " + b);
  EXPECT_EQ(misses(r.err),
            std::vector<std::string>(3, "the cache is off for this step (--no-cache)"));
  // builder prune -a forgets the records with the cache.
  ASSERT_EQ(env_.Run("builder prune -a -f").rc, 0);
  r = Build("--build-arg V=2 " + b);
  EXPECT_EQ(misses(r.err), std::vector<std::string>(3, "not built before"));
}

// Every build is recorded with its complete log, -q or not, cut at no size (BuildKit stops a
// step's log at 1 MiB: docker/buildx#484), for `builder history ls|logs`.
TEST_F(BuildTest, BuildRecordsKeepTheCompleteLog) {
  std::string ctx = Context("records", {{"Dockerfile", R"(FROM bb
RUN i=0; while [ $i -lt 70000 ]; do echo "line $i of a long log"; i=$((i+1)); done
RUN head -c 300000 /dev/zero | tr '\0' x
)"}});
  auto r = env_.Run("build -q --network=none -t rec:1 " + ctx);
  ASSERT_EQ(r.rc, 0) << r.err;
  auto bad = env_.Run("build -q --network=none -f " + ctx + "/nosuch " + ctx);
  ASSERT_NE(bad.rc, 0);
  auto ls = env_.Run("builder history ls");
  ASSERT_EQ(ls.rc, 0) << ls.err;
  std::regex row(R"(^([a-z0-9]{25}) +(\S+) +(\S+) +.* ago +[0-9.]+s$)");
  std::vector<std::vector<std::string>> rows;
  std::stringstream ss(ls.out);
  std::string line;
  std::getline(ss, line);
  EXPECT_EQ(line.substr(0, 8), "BUILD ID");
  while (std::getline(ss, line)) {
    std::smatch m;
    ASSERT_TRUE(std::regex_match(line, m, row)) << line;
    rows.push_back({m[1], m[2], m[3]});
  }
  ASSERT_EQ(rows.size(), 2u) << ls.out;
  EXPECT_EQ(rows[0][1], "records");  // no tag: the context directory's name
  EXPECT_EQ(rows[0][2], "Error");
  EXPECT_EQ(rows[1][1], "rec:1");
  EXPECT_EQ(rows[1][2], "Completed");
  auto newest = env_.Run("builder history logs");
  EXPECT_EQ(newest.out, env_.Run("builder history logs " + rows[0][0].substr(0, 6)).out);
  EXPECT_NE(newest.out.find("ERROR: "), std::string::npos) << newest.out;
  auto log = env_.Run("builder history logs ^1");
  ASSERT_EQ(log.rc, 0) << log.err;
  EXPECT_EQ(log.out, env_.Run("builder history logs " + rows[1][0]).out);
  // Not RunLines: std::regex recurses per character and a 256 KiB line overflows the stack.
  std::vector<std::string> run;
  std::stringstream logs(log.out);
  while (std::getline(logs, line)) {
    size_t sp = line.find(' '), sp2 = line.find(' ', sp + 1);
    if (line.starts_with("#") && sp2 != std::string::npos &&
        line.substr(sp + 1, sp2 - sp - 1).find_first_not_of("0123456789.") == std::string::npos) {
      run.push_back(line.substr(sp2 + 1));
    }
  }
  size_t numbered = 0, xs = 0;
  for (const auto& l : run) {
    if (l.starts_with("line "))
      EXPECT_EQ(l, "line " + std::to_string(numbered++) + " of a long log");
    if (l.find_first_not_of('x') == std::string::npos) xs += l.size();
  }
  EXPECT_EQ(numbered, 70000u);  // 2 MiB of output, every line
  EXPECT_EQ(xs, 300000u);       // a line with no end, in pieces, every byte
  EXPECT_NE(log.out.find("naming to docker.io/library/rec:1 done"), std::string::npos);
  auto none = env_.Run("builder history logs ^5");
  EXPECT_EQ(none.rc, 1);
  EXPECT_EQ(none.err, "ERROR: no completed build found\n");
}

// docker (20.10, recorded): --add-host lines follow BuildKit's own in RUN's /etc/hosts, and
// bad values are refused by the CLI with these words.
TEST_F(BuildTest, AddHostReachesRunsEtcHosts) {
  std::string ctx = Context("hosts", {{"Dockerfile", "FROM bb\nRUN cat /etc/hosts\n"}});
  auto r = Build("--network=none --add-host foo:1.2.3.4 --add-host bar:::1 " + ctx);
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(RunLines(r.err), (std::vector<std::string>{"127.0.0.1\tlocalhost buildkitsandbox",
                                                       "::1\tlocalhost ip6-localhost ip6-loopback",
                                                       "1.2.3.4\tfoo", "::1\tbar"}));
  // Another mapping is another RUN.
  r = Build("--network=none --add-host foo:1.2.3.5 " + ctx);
  EXPECT_EQ(Cached(r.err, "RUN cat /etc/hosts"), false) << r.err;
  auto bad = Build("--add-host x " + ctx);
  EXPECT_EQ(bad.rc, 1);
  EXPECT_EQ(bad.err,
            "invalid argument \"x\" for \"--add-host\" flag: bad format for add-host: \"x\"\nSee "
            "'strata build --help'.\n");
  bad = Build("--add-host x:1.2.3 " + ctx);
  EXPECT_EQ(bad.err,
            "invalid argument \"x:1.2.3\" for \"--add-host\" flag: invalid IP address in "
            "add-host: \"1.2.3\"\nSee 'strata build --help'.\n");
}

// --cache-to / --cache-from through the CNCF registry on loopback: a second store (another
// machine) builds the same Dockerfile entirely from the exported cache, to the same image.
class BuildCacheRegistryTest : public BuildTest {
 protected:
  void SetUp() override {
    BuildTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    std::string why = reg_.Start(env_.dir() + "/reg", "", "");
    if (why.find("not installed") != std::string::npos) GTEST_SKIP() << why;
    ASSERT_EQ(why, "");
    host_ = reg_.host();
    // The other machine has the same base image (the keys start from its ID).
    std::string base = env_.dir() + "/bb.tar";
    ASSERT_EQ(env_.Run("save -o " + base + " bb").rc, 0);
    auto l = Other("load -q -i " + base);
    ASSERT_EQ(l.rc, 0) << l.err;
  }
  RunResult Other(const std::string& args) const {
    return env_.Shell(std::string(STRATA_BINARY) + " --root " + env_.dir() + "/other " + args);
  }
  std::string ctx() {
    return Context("cachectx",
                   {{"Dockerfile", "FROM bb\nCOPY a /a\nRUN cat /a > /b\n"}, {"a", "content\n"}});
  }
  rt::Registry reg_;
  std::string host_;
};

TEST_F(BuildCacheRegistryTest, RegistryCacheRebuildsTheSameImageElsewhere) {
  std::string c = ctx();
  std::string ref = host_ + "/cache/app:buildcache";
  RunResult r;
  std::string id =
      Trim(BuildId("--network=none -t app --cache-to type=registry,ref=" + ref + " " + c, &r));
  EXPECT_NE(r.err.find(" exporting cache to " + ref + "\n"), std::string::npos) << r.err;
  // The cache image is in the registry, not among the images.
  EXPECT_EQ(
      env_.Shell("curl -sf -o /dev/null -H 'Accept: application/vnd.oci.image.manifest.v1+json' "
                 "-H 'Accept: application/vnd.docker.distribution.manifest.v2+json' http://" +
                 host_ + "/v2/cache/app/manifests/buildcache")
          .rc,
      0);
  EXPECT_EQ(env_.Run("images --format '{{.Repository}}'").out, "app\nbb\n");
  EXPECT_EQ(Trim(env_.Run("system check").out), "store is consistent");

  auto b = Other("build --progress=plain --network=none -t app --cache-from " + ref + " " + c);
  ASSERT_EQ(b.rc, 0) << b.err;
  EXPECT_NE(b.err.find(" 2 cache records imported\n"), std::string::npos) << b.err;
  EXPECT_EQ(Cached(b.err, "COPY a /a"), true) << b.err;
  EXPECT_EQ(Cached(b.err, "RUN cat /a > /b"), true) << b.err;
  EXPECT_EQ(Trim(Other("inspect -f '{{.Id}}' app").out), id);
  EXPECT_EQ(Other("images --format '{{.Repository}}'").out, "app\nbb\n");
  // A changed file misses from there on, and says why.
  WriteText(c + "/a", "changed\n");
  b = Other("build --progress=plain --network=none --cache-from type=registry,ref=" + ref + " " +
            c);
  ASSERT_EQ(b.rc, 0) << b.err;
  EXPECT_EQ(Cached(b.err, "COPY a /a"), false) << b.err;
  EXPECT_NE(b.err.find("cache miss: context files changed /a"), std::string::npos) << b.err;
}

TEST_F(BuildCacheRegistryTest, InlineCacheTravelsInThePushedImage) {
  std::string c = ctx();
  std::string ref = host_ + "/inline/app:1";
  std::string id = Trim(BuildId("--network=none -t " + ref + " --cache-to type=inline " + c));
  auto cfg = nlohmann::json::parse(env_.Run("inspect -f '{{json .}}' " + ref).out, nullptr, false);
  ASSERT_EQ(env_.Run("push -q " + ref).rc, 0);
  auto b = Other("build --progress=plain --network=none -t app2 --cache-from " + ref + " " + c);
  ASSERT_EQ(b.rc, 0) << b.err;
  EXPECT_EQ(Cached(b.err, "COPY a /a"), true) << b.err;
  EXPECT_EQ(Cached(b.err, "RUN cat /a > /b"), true) << b.err;
  // Same layers; the image differs only by not carrying the cache list.
  EXPECT_EQ(Other("inspect -f '{{json .RootFS.Layers}}' app2").out,
            env_.Run("inspect -f '{{json .RootFS.Layers}}' " + ref).out);
  EXPECT_NE(Trim(Other("inspect -f '{{.Id}}' app2").out), id);
  // The cache source is not an image on the other machine.
  EXPECT_EQ(Other("images --format '{{.Repository}}'").out, "app2\nbb\n");
}

TEST_F(BuildCacheRegistryTest, AnUnreadableCacheSourceIsOnlyAWarning) {
  auto b =
      Other("build --progress=plain --network=none --cache-from " + host_ + "/nosuch:1 " + ctx());
  EXPECT_EQ(b.rc, 0) << b.err;
  EXPECT_NE(b.err.find(" importing cache manifest from " + host_ + "/nosuch:1\n"),
            std::string::npos);
  std::regex err("#\\d+ ERROR: .*");
  EXPECT_TRUE(std::regex_search(b.err, err)) << b.err;
  // docker 20.10 ignores an empty --cache-from.
  b = Other("build --progress=plain --network=none --cache-from '' " + ctx());
  EXPECT_EQ(b.rc, 0) << b.err;
  EXPECT_EQ(b.err.find("importing cache"), std::string::npos) << b.err;
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"--cache-to type=local,dest=x",
       "invalid argument for --cache-to: unsupported cache exporter \"local\" (strata has "
       "registry and inline)"},
      {"--cache-to type=registry,ref=x,mode=max",
       "invalid argument for --cache-to: cache mode max is not supported yet (only mode=min)"},
      {"--cache-to type=registry",
       "invalid argument for --cache-to: ref required for registry cache"},
      {"--cache-from type=inline",
       "invalid argument for --cache-from: type=inline is an export; import an image with "
       "--cache-from=REF"},
  };
  for (const auto& [flags, message] : bad) {
    auto r = Other("build --network=none " + flags + " " + ctx());
    EXPECT_EQ(r.rc, 1) << flags;
    EXPECT_EQ(r.err, message + "\n") << flags;
  }
}

class BuildDockerTest : public BuildTest {
 protected:
  void SetUp() override {
    const char* host = std::getenv("STRATA_TEST_DOCKER_HOST");
    if (!host || !*host) GTEST_SKIP() << "no private dockerd (STRATA_TEST_DOCKER_HOST unset)";
    host_ = host;
    BuildTest::SetUp();
  }
  std::string host_;
};

TEST_F(BuildDockerTest, LoadsAndRunsABuiltImage) {
  const std::string& host = host_;
  std::string docker = "DOCKER_HOST=" + host + " docker";
  std::string tag = "strata-build-e2e-" + std::to_string(::getpid());
  std::string ctx = Context("app", AppFiles());
  std::string id = Trim(BuildId("-t " + tag + " " + ctx));
  std::string archive = env_.dir() + "/app.tar";
  ASSERT_EQ(env_.Run("save -o " + archive + " " + tag).rc, 0);
  auto l = env_.Shell(docker + " load -i " + archive);
  ASSERT_EQ(l.rc, 0) << l.err;
  EXPECT_EQ(l.out, "Loaded image: " + tag + ":latest\n");
  auto di = nlohmann::json::parse(env_.Shell(docker + " image inspect " + tag).out, nullptr, false);
  ASSERT_TRUE(di.is_array() && !di.empty());
  auto si = Inspect(tag);
  EXPECT_EQ(di[0]["Id"], id);
  // Everything but where each daemon keeps it (Comment: InspectShowsWhatDockerShows).
  for (auto& [k, v] : di[0].items()) {
    if (k == "GraphDriver" || k == "Metadata" || k == "Comment") continue;
    EXPECT_EQ(v, si[k]) << k;
  }
  auto run = env_.Shell(docker + " run --rm --network=none " + tag);
  EXPECT_EQ(run.rc, 0) << run.err;
  EXPECT_EQ(run.out, "hello\n");
  run = env_.Shell(docker + " run --rm --network=none " + tag + " cat /app/gen.txt /app/n.txt");
  EXPECT_EQ(run.out, "hi\nnested\n") << run.err;
  env_.Shell(docker + " rmi -f " + tag);
}

}  // namespace
}  // namespace strata::testing
