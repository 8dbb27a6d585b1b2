#include "build/copy.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

#include "archive/compression.h"
#include "archive/tar_writer.h"
#include "build/context.h"
#include "build/dockerfile/plan.h"
#include "build/hash_cache.h"
#include "digest/digest.h"
#include "util/fs.h"
#include "util/io.h"

namespace strata::build {
namespace {

namespace fs = std::filesystem;

const std::string kCases = std::string(STRATA_TESTDATA) + "/build/copy";

void WriteFile(const std::string& path, const std::string& data, int mode = 0644) {
  std::ofstream(path, std::ios::binary) << data;
  ::chmod(path.c_str(), mode);
}
std::string Slurp(const std::string& path) {
  auto r = ReadFile(path);
  return r ? *r : std::string("<missing>");
}
int Sh(const std::string& dir, const std::string& script) {
  std::string cmd = "cd '" + dir + "' && sh '" + script + "' >/dev/null 2>&1";
  return std::system(cmd.c_str());
}

// One line per path in the summary format of tests/testdata/build/copy/record.sh (imgsum.py's
// fields: type, mode, owner, size + sha256, symlink target, device, hardlink group leader).
std::map<std::string, std::string> Dump(const std::string& root) {
  std::map<std::string, std::string> out;
  std::map<std::pair<dev_t, ino_t>, std::vector<std::string>> links;
  std::map<std::string, struct stat> stats;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator();
       ++it) {
    std::string p = it->path().string().substr(root.size() + 1);
    struct stat st;
    ::lstat(it->path().c_str(), &st);
    stats[p] = st;
    if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) links[{st.st_dev, st.st_ino}].push_back(p);
  }
  std::map<std::string, std::string> leader;
  for (auto& [k, v] : links) {
    std::sort(v.begin(), v.end());
    for (size_t i = 1; i < v.size(); ++i) leader[v[i]] = v[0];
  }
  for (const auto& [p, st] : stats) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%04o %u:%u", st.st_mode & 07777, st.st_uid, st.st_gid);
    std::string type = S_ISDIR(st.st_mode)    ? "dir"
                       : S_ISREG(st.st_mode)  ? "file"
                       : S_ISLNK(st.st_mode)  ? "symlink"
                       : S_ISCHR(st.st_mode)  ? "char"
                       : S_ISBLK(st.st_mode)  ? "block"
                       : S_ISFIFO(st.st_mode) ? "fifo"
                                              : "unknown";
    std::string line = p + " " + type + " " + buf;
    if (S_ISREG(st.st_mode)) {
      std::string data = Slurp(root + "/" + p);
      line += " size=" + std::to_string(data.size()) + " sha256=" + digest::Sha256Of(data).hex();
    } else if (S_ISLNK(st.st_mode)) {
      line += " target=" + fs::read_symlink(root + "/" + p).string();
    } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
      line += " dev=" + std::to_string(major(st.st_rdev)) + "," + std::to_string(minor(st.st_rdev));
    }
    if (leader.count(p)) line += " hardlink=" + leader[p];
    out[p] = line;
  }
  return out;
}

std::string Diff(const std::map<std::string, std::string>& base,
                 const std::map<std::string, std::string>& now) {
  std::map<std::string, std::string> lines;
  for (const auto& [p, l] : now) {
    auto it = base.find(p);
    if (it == base.end() || it->second != l) lines[p] = l;
  }
  for (const auto& [p, l] : base) {
    if (!now.count(p)) lines[p] = p + " deleted";
  }
  std::string out;
  for (const auto& [p, l] : lines) out += l + "\n";
  return out;
}

class CopyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = TempDir::Create("/tmp", "strata-copy-");
    ASSERT_TRUE(d);
    tmp_ = std::move(*d);
    ctx_ = tmp_.path() + "/ctx";
    root_ = tmp_.path() + "/rootfs";
    ASSERT_TRUE(MakeDirs(ctx_));
    ASSERT_TRUE(MakeDirs(root_));
  }
  Status CopyCtx(CopyRequest req) {
    auto c = Context::Open(ctx_, "", nullptr);
    if (!c) return c.error();
    return Copy(c->Source(), req, root_);
  }
  static CopyRequest Req(std::vector<std::string> sources, std::string dest) {
    CopyRequest r;
    r.sources = std::move(sources);
    r.dest = std::move(dest);
    return r;
  }
  TempDir tmp_;
  std::string ctx_, root_;
};

// ---- golden cases recorded from docker (tests/testdata/build/copy/README.md) ------------------

struct CaseResult {
  std::string summary;
  std::string error;
};

CaseResult RunCase(const std::string& name, const std::string& work) {
  const std::string dir = kCases + "/" + name;
  std::string ctx = work + "/ctx", root = work + "/rootfs";
  EXPECT_TRUE(MakeDirs(ctx));
  EXPECT_TRUE(MakeDirs(root));
  EXPECT_EQ(std::system(("sh '" + kCases + "/base.sh' '" + root + "'").c_str()), 0);
  auto base = Dump(root);
  EXPECT_EQ(Sh(ctx, dir + "/setup.sh"), 0) << name << ": setup.sh failed";
  std::string dockerfile = Slurp(dir + "/Dockerfile");
  WriteFile(ctx + "/Dockerfile", dockerfile);
  auto plan = dockerfile::PlanDockerfile(dockerfile, {});
  if (!plan) return {"", "plan: " + plan.error().message};
  auto context = Context::Open(ctx, "", nullptr);
  if (!context) return {"", context.error().message};
  for (const auto& step : plan->stages[plan->target].steps) {
    CopyRequest req;
    std::string chown, chmod;
    if (auto* c = std::get_if<dockerfile::CopyCommand>(&step.instruction.command)) {
      req.sources = c->files.source_paths;
      req.dest = c->files.dest;
      chown = c->chown;
      chmod = c->chmod;
      req.excludes = c->excludes;
      req.parents = c->parents;
    } else if (auto* a = std::get_if<dockerfile::AddCommand>(&step.instruction.command)) {
      req.sources = a->files.source_paths;
      req.dest = a->files.dest;
      chown = a->chown;
      chmod = a->chmod;
      req.excludes = a->excludes;
      req.is_add = true;
    } else {
      continue;
    }
    req.workdir = step.workdir.empty() ? "/" : step.workdir;
    if (!chown.empty()) {
      auto ids = ResolveChown(root, chown);
      if (!ids) return {"", ids.error().message};
      req.chown = *ids;
    }
    if (!chmod.empty()) req.chmod = static_cast<uint32_t>(std::stoul(chmod, nullptr, 8));
    // As the executor does: the cache key first, then the copy.
    Status st = Ok();
    if (auto sum = ChecksumSources(context->Source(), req); !sum) st = sum.error();
    if (st) st = Copy(context->Source(), req, root);
    if (!st) {
      std::string msg = st.error().message;
      for (size_t p; (p = msg.find(root)) != std::string::npos;)
        msg.replace(p, root.size(), "<root>");
      return {"", msg};
    }
  }
  return {Diff(base, Dump(root)), ""};
}

class GoldenTest : public ::testing::TestWithParam<std::string> {};

TEST_P(GoldenTest, MatchesDocker) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to set owners";
  for (const char* tool : {"gzip", "bzip2", "xz", "tar", "mkfifo"}) {
    if (std::system(("command -v " + std::string(tool) + " >/dev/null").c_str()) != 0) {
      GTEST_SKIP() << tool << " is not installed";
    }
  }
  auto tmp = TempDir::Create("/tmp", "strata-golden-");
  ASSERT_TRUE(tmp);
  CaseResult r = RunCase(GetParam(), tmp->path());
  const std::string dir = kCases + "/" + GetParam();
  if (fs::exists(dir + "/error.txt")) {
    std::string want = Slurp(dir + "/error.txt");
    while (!want.empty() && want.back() == '\n') want.pop_back();
    EXPECT_EQ(r.error, want);
  } else {
    EXPECT_EQ(r.error, "");
    EXPECT_EQ(r.summary, Slurp(dir + "/expected.txt"));
  }
}

std::vector<std::string> CaseNames() {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(kCases)) {
    if (e.is_directory()) names.push_back(e.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

INSTANTIATE_TEST_SUITE_P(Docker, GoldenTest, ::testing::ValuesIn(CaseNames()),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (char& c : n) {
                             if (!isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return n;
                         });

// ---- escapes -----------------------------------------------------------------------------------

TEST_F(CopyTest, DestSymlinksResolveInsideRoot) {
  std::string outside = tmp_.path() + "/outside";
  ASSERT_TRUE(MakeDirs(outside));
  WriteFile(ctx_ + "/a.txt", "a\n");
  // Absolute and relative links in the image pointing at the host directory next to it.
  ASSERT_EQ(::symlink(outside.c_str(), (root_ + "/abs").c_str()), 0);
  ASSERT_EQ(::symlink("../outside", (root_ + "/rel").c_str()), 0);
  ASSERT_EQ(::symlink("../../../../../..", (root_ + "/up").c_str()), 0);
  ASSERT_TRUE(MakeDirs(root_ + "/d"));
  ASSERT_EQ(::symlink((outside + "/f").c_str(), (root_ + "/d/file-link").c_str()), 0);
  ASSERT_TRUE(CopyCtx(Req({"a.txt"}, "/abs/")));
  ASSERT_TRUE(CopyCtx(Req({"a.txt"}, "/rel/x")));
  ASSERT_TRUE(CopyCtx(Req({"a.txt"}, "/up/tmp/y")));
  ASSERT_TRUE(CopyCtx(Req({"a.txt"}, "/d/file-link")));  // followed, inside the root
  EXPECT_TRUE(fs::is_empty(outside)) << "COPY wrote outside the rootfs";
  EXPECT_EQ(Slurp(root_ + outside + "/a.txt"), "a\n");
  EXPECT_EQ(Slurp(root_ + "/outside/x"), "a\n");
  EXPECT_EQ(Slurp(root_ + "/tmp/y"), "a\n");
  EXPECT_EQ(Slurp(root_ + outside + "/f"), "a\n");
}

TEST_F(CopyTest, SourcesStayInContext) {
  std::string secret = tmp_.path() + "/secret";
  WriteFile(secret, "host secret\n");
  ASSERT_EQ(::symlink(secret.c_str(), (ctx_ + "/abs-out").c_str()), 0);
  ASSERT_EQ(::symlink("../secret", (ctx_ + "/rel-out").c_str()), 0);
  auto r = CopyCtx(Req({"abs-out"}, "/x"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message,
            "failed to compute cache key: \"" + secret + "\" not found: not found");
  r = CopyCtx(Req({"rel-out"}, "/x"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "failed to compute cache key: \"/secret\" not found: not found");
  r = CopyCtx(Req({"../secret"}, "/x"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
  // Copied as links, never followed.
  ASSERT_TRUE(CopyCtx(Req({"."}, "/c/")));
  EXPECT_EQ(fs::read_symlink(root_ + "/c/abs-out").string(), secret);
  EXPECT_EQ(fs::read_symlink(root_ + "/c/rel-out").string(), "../secret");
  EXPECT_FALSE(fs::exists(root_ + "/secret"));
}

TEST_F(CopyTest, ArchiveEntriesCannotEscape) {
  std::string outside = tmp_.path() + "/outside";
  ASSERT_TRUE(MakeDirs(outside));
  StringWriter sw;
  archive::TarWriter tw(sw);
  archive::TarEntry link;
  link.path = "esc";
  link.type = archive::EntryType::kSymlink;
  link.linkname = outside;
  link.mode = 0777;
  ASSERT_TRUE(tw.WriteHeader(link));
  archive::TarEntry f;
  f.path = "esc/pwned";
  f.mode = 0644;
  f.size = 3;
  ASSERT_TRUE(tw.WriteHeader(f));
  ASSERT_TRUE(tw.WriteData("hi\n", 3));
  ASSERT_TRUE(tw.Close());
  WriteFile(ctx_ + "/evil.tar", sw.str());
  CopyRequest req = Req({"evil.tar"}, "/dst/");
  req.is_add = true;
  (void)CopyCtx(req);  // docker fails this archive too; what matters is where bytes went
  EXPECT_TRUE(fs::is_empty(outside));
}

// ---- ADD ---------------------------------------------------------------------------------------

std::string MakeTar() {
  StringWriter sw;
  archive::TarWriter tw(sw);
  archive::TarEntry d;
  d.path = "pkg";
  d.type = archive::EntryType::kDir;
  d.mode = 0750;
  d.uid = 1000;
  d.gid = 1000;
  EXPECT_TRUE(tw.WriteHeader(d));
  archive::TarEntry f;
  f.path = "pkg/file";
  f.mode = 0600;
  f.uid = 1000;
  f.gid = 50;
  f.size = 6;
  f.mtime_sec = 946684800;
  EXPECT_TRUE(tw.WriteHeader(f));
  EXPECT_TRUE(tw.WriteData("hello\n", 6));
  EXPECT_TRUE(tw.Close());
  return sw.take();
}

class AddCompressionTest : public CopyTest,
                           public ::testing::WithParamInterface<archive::Compression> {};

TEST_P(AddCompressionTest, Extracts) {
  std::string tar = MakeTar();
  StringWriter out;
  if (GetParam() == archive::Compression::kBzip2 || GetParam() == archive::Compression::kXz) {
    // Read-only in archive/: compress with the command-line tool.
    const char* tool = GetParam() == archive::Compression::kBzip2 ? "bzip2" : "xz";
    if (std::system(("command -v " + std::string(tool) + " >/dev/null").c_str()) != 0) {
      GTEST_SKIP() << tool << " is not installed";
    }
    WriteFile(ctx_ + "/a.tar", tar);
    ASSERT_EQ(std::system(("cd '" + ctx_ + "' && " + tool + " a.tar && mv a.tar.* a.arch").c_str()),
              0);
  } else {
    auto w = archive::NewCompressingWriter(out, GetParam());
    ASSERT_TRUE(w);
    ASSERT_TRUE((*w)->Write(tar));
    ASSERT_TRUE((*w)->Close());
    WriteFile(ctx_ + "/a.arch", out.str());
  }
  CopyRequest req = Req({"a.arch"}, "/x");
  req.is_add = true;
  req.chown = Ids{5, 6, {}};
  ASSERT_TRUE(CopyCtx(req));
  EXPECT_EQ(Slurp(root_ + "/x/pkg/file"), "hello\n");
  struct stat st;
  ASSERT_EQ(::lstat((root_ + "/x/pkg/file").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(st.st_mtim.tv_sec, 946684800);
  if (::geteuid() == 0) {
    // The entries keep their owners; --chown is for the directory ADD made (docker 20.10).
    EXPECT_EQ(st.st_uid, 1000u);
    EXPECT_EQ(st.st_gid, 50u);
    ASSERT_EQ(::lstat((root_ + "/x").c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, 5u);
    EXPECT_EQ(st.st_gid, 6u);
  }
  // COPY never extracts.
  ASSERT_TRUE(CopyCtx(Req({"a.arch"}, "/copied")));
  EXPECT_TRUE(fs::is_regular_file(root_ + "/copied"));
}

INSTANTIATE_TEST_SUITE_P(Each, AddCompressionTest,
                         ::testing::Values(archive::Compression::kNone, archive::Compression::kGzip,
                                           archive::Compression::kBzip2, archive::Compression::kXz,
                                           archive::Compression::kZstd));

// ---- --exclude and --parents (current BuildKit reference; not in docker 20.10) ---------------

TEST_F(CopyTest, Excludes) {
  ASSERT_TRUE(MakeDirs(ctx_ + "/src/sub"));
  ASSERT_TRUE(MakeDirs(ctx_ + "/src/skipdir/keep"));
  WriteFile(ctx_ + "/src/a.txt", "a");
  WriteFile(ctx_ + "/src/b.md", "b");
  WriteFile(ctx_ + "/src/sub/c.txt", "c");
  WriteFile(ctx_ + "/src/sub/d.go", "d");
  WriteFile(ctx_ + "/src/skipdir/x", "x");
  WriteFile(ctx_ + "/src/skipdir/keep/y", "y");
  WriteFile(ctx_ + "/hom.txt", "h");
  WriteFile(ctx_ + "/home.md", "h");
  CopyRequest req = Req({"src"}, "/out/");
  req.excludes = {"*.txt", "skipdir", "!skipdir/keep"};
  ASSERT_TRUE(CopyCtx(req));
  EXPECT_FALSE(fs::exists(root_ + "/out/a.txt"));
  EXPECT_TRUE(fs::exists(root_ + "/out/b.md"));
  EXPECT_TRUE(fs::exists(root_ + "/out/sub/c.txt"));  // "*.txt" is anchored at the top
  EXPECT_FALSE(fs::exists(root_ + "/out/skipdir/x"));
  EXPECT_TRUE(fs::exists(root_ + "/out/skipdir/keep/y"));
  req = Req({"hom*"}, "/mydir/");  // the reference's example
  req.excludes = {"*.txt"};
  ASSERT_TRUE(CopyCtx(req));
  EXPECT_FALSE(fs::exists(root_ + "/mydir/hom.txt"));
  EXPECT_TRUE(fs::exists(root_ + "/mydir/home.md"));
  req = Req({"src"}, "/deep/");
  req.excludes = {"**/*.go"};
  ASSERT_TRUE(CopyCtx(req));
  EXPECT_FALSE(fs::exists(root_ + "/deep/sub/d.go"));
  EXPECT_TRUE(fs::exists(root_ + "/deep/sub/c.txt"));
  // Excluded content changes the checksum nowhere.
  auto c = Context::Open(ctx_, "", nullptr);
  req = Req({"src"}, "/out/");
  req.excludes = {"*.txt"};
  auto before = ChecksumSources(c->Source(), req);
  WriteFile(ctx_ + "/src/a.txt", "changed");
  auto after = ChecksumSources(c->Source(), req);
  ASSERT_TRUE(before && after);
  EXPECT_EQ(*before, *after);
}

// The checksum walk split over two threads gives the sequential walk's digest: with ignored
// and re-included paths, symlinks, nested and empty directories, and with hardlinks (which
// make it fall back to one walk).
TEST_F(CopyTest, SplitChecksumWalkMatchesTheSequentialOne) {
  for (int i = 0; i < 9; ++i) {
    std::string d = ctx_ + "/d" + std::to_string(i);
    ASSERT_TRUE(MakeDirs(d + "/sub/deeper"));
    ASSERT_TRUE(MakeDirs(d + "/empty"));
    WriteFile(d + "/f.txt", "f" + std::to_string(i));
    WriteFile(d + "/sub/g.log", "g");
    WriteFile(d + "/sub/deeper/h", std::string(1000 + i, 'h'));
    ASSERT_EQ(::symlink("../f.txt", (d + "/sub/link").c_str()), 0);
  }
  WriteFile(ctx_ + "/top.txt", "top");
  WriteFile(ctx_ + "/.dockerignore", "**/*.log\nd3\n!d3/sub/deeper\n");
  auto sums = [&](const std::string& source) {
    std::vector<digest::Digest> out;
    for (bool split : {false, true}) {
      auto c = Context::Open(ctx_, "", nullptr);
      EXPECT_TRUE(c);
      CopySource src = c->Source();
      src.split_walk = split;
      auto sum = ChecksumSources(src, Req({source}, "/out/"));
      EXPECT_TRUE(sum) << sum.error().message;
      out.push_back(sum ? *sum : digest::Digest());
    }
    return out;
  };
  auto a = sums(".");
  EXPECT_EQ(a[0], a[1]);
  auto b = sums("d1");
  EXPECT_EQ(b[0], b[1]);
  EXPECT_NE(a[0], b[0]);
  ASSERT_EQ(::link((ctx_ + "/d0/f.txt").c_str(), (ctx_ + "/d8/f2.txt").c_str()), 0);
  auto c = sums(".");
  EXPECT_EQ(c[0], c[1]);
  EXPECT_NE(c[0], a[0]);
}

// The per-file hashes (for explaining cache misses): the same set from either walk, and a
// changed file changes its own hash and no other.
TEST_F(CopyTest, FileSumsNameExactlyTheChangedFile) {
  for (int i = 0; i < 4; ++i) {
    std::string d = ctx_ + "/d" + std::to_string(i);
    ASSERT_TRUE(MakeDirs(d + "/sub"));
    WriteFile(d + "/f.txt", "f" + std::to_string(i));
    WriteFile(d + "/sub/g", "g");
  }
  auto sums = [&](bool split) {
    auto c = Context::Open(ctx_, "", nullptr);
    EXPECT_TRUE(c);
    CopySource src = c->Source();
    src.split_walk = split;
    FileSums files;
    EXPECT_TRUE(ChecksumSources(src, Req({"."}, "/out/"), &files));
    std::map<std::string, uint64_t> m(files.begin(), files.end());
    EXPECT_EQ(m.size(), files.size());  // each path once
    return m;
  };
  auto seq = sums(false), split = sums(true);
  EXPECT_EQ(seq, split);
  EXPECT_TRUE(seq.count("/d2/sub/g"));
  EXPECT_TRUE(seq.count("/d2/sub"));
  WriteFile(ctx_ + "/d2/sub/g", "changed");
  auto after = sums(true);
  std::vector<std::string> changed;
  for (const auto& [path, hash] : after) {
    if (seq[path] != hash) changed.push_back(path);
  }
  EXPECT_EQ(changed, std::vector<std::string>{"/d2/sub/g"});
}

TEST_F(CopyTest, Parents) {
  ASSERT_TRUE(MakeDirs(ctx_ + "/x/y"));
  ASSERT_TRUE(MakeDirs(ctx_ + "/z"));
  WriteFile(ctx_ + "/x/a.txt", "xa");
  WriteFile(ctx_ + "/z/a.txt", "za");
  WriteFile(ctx_ + "/x/y/a.txt", "xya");
  WriteFile(ctx_ + "/x/y/b.txt", "xyb");
  // The reference's examples.
  CopyRequest req = Req({"./x/a.txt", "./z/a.txt"}, "/parents/");
  req.parents = true;
  ASSERT_TRUE(CopyCtx(req));
  EXPECT_EQ(Slurp(root_ + "/parents/x/a.txt"), "xa");
  EXPECT_EQ(Slurp(root_ + "/parents/z/a.txt"), "za");
  req = Req({"./x/./y/*.txt"}, "/pivot/");
  req.parents = true;
  ASSERT_TRUE(CopyCtx(req));
  EXPECT_EQ(Slurp(root_ + "/pivot/y/a.txt"), "xya");
  EXPECT_EQ(Slurp(root_ + "/pivot/y/b.txt"), "xyb");
  req = Req({"x/y"}, "/dirs/");
  req.parents = true;
  ASSERT_TRUE(CopyCtx(req));
  EXPECT_EQ(Slurp(root_ + "/dirs/x/y/b.txt"), "xyb");
  // BuildKit treats every --parents source as a pattern: a missing one copies nothing.
  req = Req({"nosuch"}, "/none/");
  req.parents = true;
  EXPECT_TRUE(CopyCtx(req));
  // Without --parents, a collision overwrites (BuildKit, not cp).
  ASSERT_TRUE(CopyCtx(Req({"x/a.txt", "z/a.txt"}, "/flat/")));
  EXPECT_EQ(Slurp(root_ + "/flat/a.txt"), "za");
}

// ---- metadata -----------------------------------------------------------------------------------

TEST_F(CopyTest, TimesAsDocker) {
  // docker 20.10 (layer tar listing of experiments e4/e12): files and symlinks keep their
  // mtime; directories from the context carry the time of the copy.
  ASSERT_TRUE(MakeDirs(ctx_ + "/d/sub"));
  WriteFile(ctx_ + "/d/sub/f", "f");
  ASSERT_EQ(::symlink("f", (ctx_ + "/d/sub/l").c_str()), 0);
  struct timespec old[2] = {{981173106, 123456789}, {981173106, 123456789}};
  ASSERT_EQ(::utimensat(AT_FDCWD, (ctx_ + "/d/sub/f").c_str(), old, 0), 0);
  ASSERT_EQ(::utimensat(AT_FDCWD, (ctx_ + "/d/sub/l").c_str(), old, AT_SYMLINK_NOFOLLOW), 0);
  ASSERT_EQ(::utimensat(AT_FDCWD, (ctx_ + "/d/sub").c_str(), old, 0), 0);
  ASSERT_TRUE(CopyCtx(Req({"d"}, "/out")));
  struct stat st;
  ASSERT_EQ(::lstat((root_ + "/out/sub/f").c_str(), &st), 0);
  EXPECT_EQ(st.st_mtim.tv_sec, 981173106);
  EXPECT_EQ(st.st_mtim.tv_nsec, 123456789);
  ASSERT_EQ(::lstat((root_ + "/out/sub/l").c_str(), &st), 0);
  EXPECT_EQ(st.st_mtim.tv_sec, 981173106);
  ASSERT_EQ(::lstat((root_ + "/out/sub").c_str(), &st), 0);
  EXPECT_GT(st.st_mtim.tv_sec, 981173106 + 1000);
  // From a stage, directories keep theirs.
  CopySource stage;
  stage.root = ctx_;
  ASSERT_TRUE(Copy(stage, Req({"d"}, "/stage"), root_));
  ASSERT_EQ(::lstat((root_ + "/stage/sub").c_str(), &st), 0);
  EXPECT_EQ(st.st_mtim.tv_sec, 981173106);
}

// Modes arrive exact whatever the umask: a file is created with its final mode only when the
// umask keeps all of it, else (group/other write, setuid, setgid, sticky) chmod'ed after.
TEST_F(CopyTest, ModesSurviveTheUmask) {
  const std::vector<std::pair<std::string, mode_t>> files = {
      {"rw", 0644},      {"all", 0777},     {"suid", 04755}, {"sgid", 02750},
      {"sticky", 01777}, {"private", 0600}, {"none", 0}};
  ASSERT_TRUE(MakeDirs(ctx_ + "/m/deep"));
  for (const auto& [name, mode] : files) WriteFile(ctx_ + "/m/deep/" + name, name, mode);
  ::chmod((ctx_ + "/m/deep").c_str(), 02775);
  mode_t old = ::umask(027);
  Status st = CopyCtx(Req({"m"}, "/out"));
  ::umask(old);
  ASSERT_TRUE(st) << st.error().message;
  for (const auto& [name, mode] : files) {
    struct stat got;
    ASSERT_EQ(::lstat((root_ + "/out/deep/" + name).c_str(), &got), 0) << name;
    EXPECT_EQ(got.st_mode & 07777, mode) << name;
    EXPECT_EQ(Slurp(root_ + "/out/deep/" + name), name);
  }
  struct stat dir;
  ASSERT_EQ(::lstat((root_ + "/out/deep").c_str(), &dir), 0);
  EXPECT_EQ(dir.st_mode & 07777, 02775u);
}

// docker 20.10 (experiment s1): COPY --from keeps owners and directory times. Its fsutil
// dropped fifos; current fsutil copies fifos and sockets, and so does strata.
TEST_F(CopyTest, StageSourceKeepsOwnersAndSpecialFiles) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to set owners";
  std::string stage = tmp_.path() + "/stage";
  ASSERT_TRUE(MakeDirs(stage + "/home/u"));
  WriteFile(stage + "/home/u/f", "f");
  ASSERT_EQ(::chown((stage + "/home/u/f").c_str(), 1000, 1001), 0);
  ASSERT_EQ(::chown((stage + "/home/u").c_str(), 1000, 1001), 0);
  ASSERT_EQ(::mkfifo((stage + "/home/u/fifo").c_str(), 0640), 0);
  CopySource src;
  src.root = stage;
  ASSERT_TRUE(Copy(src, Req({"/home"}, "/h"), root_));
  struct stat st;
  ASSERT_EQ(::lstat((root_ + "/h/u/f").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 1000u);
  EXPECT_EQ(st.st_gid, 1001u);
  ASSERT_EQ(::lstat((root_ + "/h/u/fifo").c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  // --chown wins.
  CopyRequest req = Req({"/home"}, "/h2");
  req.chown = Ids{7, 8, {}};
  ASSERT_TRUE(Copy(src, req, root_));
  ASSERT_EQ(::lstat((root_ + "/h2/u/f").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 7u);
  EXPECT_EQ(st.st_gid, 8u);
}

TEST_F(CopyTest, DestinationRules) {
  EXPECT_EQ(CopyDestination("/", "x"), "/x");
  EXPECT_EQ(CopyDestination("/w", "x"), "/w/x");
  EXPECT_EQ(CopyDestination("/w", "."), "/w/");
  EXPECT_EQ(CopyDestination("/w", ".."), "/");
  EXPECT_EQ(CopyDestination("/w", "/abs/"), "/abs/");
  EXPECT_EQ(CopyDestination("/w", "/etc/."), "/etc");
  EXPECT_EQ(CopyDestination("/w", ""), "/w/");
}

// ---- checksum ----------------------------------------------------------------------------------

TEST_F(CopyTest, ChecksumTracksWhatIsCopied) {
  ASSERT_TRUE(MakeDirs(ctx_ + "/d"));
  WriteFile(ctx_ + "/d/f", "one");
  WriteFile(ctx_ + "/d/ignored", "x");
  WriteFile(ctx_ + "/other", "o");
  WriteFile(ctx_ + "/.dockerignore", "d/ignored\n");
  HashCache cache;
  auto c = Context::Open(ctx_, "", &cache);
  ASSERT_TRUE(c);
  CopyRequest req = Req({"d"}, "/x/");
  auto sum = [&] {
    auto s = ChecksumSources(c->Source(), req);
    EXPECT_TRUE(s) << s.error().message;
    return s ? s->str() : std::string();
  };
  std::string a = sum();
  EXPECT_EQ(cache.files_read(), 1u);
  EXPECT_EQ(sum(), a);
  EXPECT_EQ(cache.files_read(), 1u);  // unchanged: not read again
  WriteFile(ctx_ + "/other", "changed");
  WriteFile(ctx_ + "/d/ignored", "changed");
  EXPECT_EQ(sum(), a);
  struct timespec t[2] = {{1000, 0}, {1000, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, (ctx_ + "/d/f").c_str(), t, 0), 0);
  EXPECT_EQ(sum(), a);  // times are not part of it
  ::chmod((ctx_ + "/d/f").c_str(), 0600);
  std::string b = sum();
  EXPECT_NE(b, a);
  WriteFile(ctx_ + "/d/f", "two", 0600);
  EXPECT_NE(sum(), b);
  WriteFile(ctx_ + "/d/new", "n");
  EXPECT_NE(sum(), b);
  auto missing = ChecksumSources(c->Source(), Req({"nosuch"}, "/x"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message,
            "failed to compute cache key: \"/nosuch\" not found: not found");
  auto wild = ChecksumSources(c->Source(), Req({"*.nomatch"}, "/x/"));
  EXPECT_TRUE(wild);
}

// ---- performance
// ---------------------------------------------------------------------------------

TEST_F(CopyTest, TenThousandFiles) {
  // The target: copy a 10,000-file, 100 MB context; a no-op rebuild's checksum reads
  // no file content. Both walks read ahead (ReadAhead) further than its lead.
  std::string data(10 * 1024, 'x');
  for (int d = 0; d < 100; ++d) {
    std::string dir = ctx_ + "/src/d" + std::to_string(d);
    ASSERT_TRUE(MakeDirs(dir));
    for (int f = 0; f < 100; ++f) {
      data[0] = static_cast<char>(f);
      data[1] = static_cast<char>(d);
      WriteFile(dir + "/f" + std::to_string(f), data);
    }
  }
  auto cache = HashCache::Open(tmp_.path() + "/cache");
  ASSERT_TRUE(cache);
  auto c = Context::Open(ctx_, "", cache->get());
  ASSERT_TRUE(c);
  CopyRequest req = Req({"."}, "/app/");
  using Clock = std::chrono::steady_clock;
  auto t0 = Clock::now();
  auto first = ChecksumSources(c->Source(), req);
  ASSERT_TRUE(first);
  auto t1 = Clock::now();
  ASSERT_TRUE(Copy(c->Source(), req, root_));
  auto t2 = Clock::now();
  ASSERT_TRUE((*cache)->Save());
  // A new process: reload the cache and checksum again.
  auto again = HashCache::Open(tmp_.path() + "/cache");
  ASSERT_TRUE(again);
  auto c2 = Context::Open(ctx_, "", again->get());
  auto t3 = Clock::now();
  auto second = ChecksumSources(c2->Source(), req);
  auto t4 = Clock::now();
  ASSERT_TRUE(second);
  EXPECT_EQ(*first, *second);
  EXPECT_EQ((*again)->files_read(), 0u);
  auto ms = [](auto d) { return std::chrono::duration<double, std::milli>(d).count(); };
  std::printf("10k files / 100 MB: checksum %.1f ms, copy %.1f ms, no-op checksum %.1f ms\n",
              ms(t1 - t0), ms(t2 - t1), ms(t4 - t3));
  // The last file, read well past the read-ahead's 32 MB lead, is whole and right.
  data[0] = data[1] = static_cast<char>(99);
  EXPECT_EQ(Slurp(root_ + "/app/src/d99/f99"), data);
}

}  // namespace
}  // namespace strata::build
