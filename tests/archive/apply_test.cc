#include "archive/apply.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "archive/compression.h"
#include "archive/diff.h"
#include "archive/tar_builder.h"
#include "archive/tar_reader.h"
#include "digest/hasher.h"
#include "util/fs.h"

namespace strata::archive {
namespace {

namespace fs = std::filesystem;
using testing::RawEntry;
using testing::TarBuilder;

bool IsRoot() { return geteuid() == 0; }

class ApplyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = TempDir::Create("/tmp", "strata-apply-");
    ASSERT_TRUE(d);
    tmp_ = std::move(d).value();
    root_ = tmp_.path() + "/root";
    ASSERT_TRUE(MakeDirs(root_));
  }

  Result<ApplyStats> Apply(const std::string& tar, ApplyMode mode = ApplyMode::kMerged,
                           const std::string& root = "") {
    StringReader sr(tar);
    ApplyOptions o;
    o.mode = mode;
    o.label = "sha256:ab12";
    return ApplyLayer(sr, root.empty() ? root_ : root, o);
  }

  std::string P(const std::string& rel) const { return root_ + "/" + rel; }
  bool Exists(const std::string& path) const {
    struct stat st;
    return lstat(path.c_str(), &st) == 0;
  }
  std::string Read(const std::string& rel) const { return ReadFile(P(rel)).value_or("<none>"); }

  TempDir tmp_;
  std::string root_;
};

TEST(CleanLayerPath, Cases) {
  EXPECT_EQ(CleanLayerPath("a/b").value(), "a/b");
  EXPECT_EQ(CleanLayerPath("/etc//passwd").value(), "etc/passwd");
  EXPECT_EQ(CleanLayerPath("./a/./b/").value(), "a/b");
  EXPECT_EQ(CleanLayerPath("a/../b").value(), "b");
  EXPECT_EQ(CleanLayerPath("./").value(), "");
  EXPECT_FALSE(CleanLayerPath("../x"));
  EXPECT_FALSE(CleanLayerPath("a/../../x"));
  EXPECT_FALSE(CleanLayerPath("/.."));
}

TEST_F(ApplyTest, AppliesEntriesWithMetadata) {
  RawEntry f;
  f.name = "usr/bin/tool";
  f.data = "#!/bin/sh\n";
  f.mode = 04750;
  f.uid = 1234;
  f.gid = 99;
  f.mtime = 1500000000;
  f.pax = {{"SCHILY.xattr.user.origin", "layer"}};
  RawEntry d;
  d.name = "usr/";
  d.type = '5';
  d.mode = 0711;
  d.mtime = 1400000000;
  RawEntry fifo;
  fifo.name = "run/fifo";
  fifo.type = '6';
  fifo.mode = 0620;
  RawEntry dev;
  dev.name = "dev/null";
  dev.type = '3';
  dev.mode = 0666;
  dev.devmajor = 1;
  dev.devminor = 3;
  TarBuilder b;
  b.Add(d)
      .Add(f)
      .Symlink("usr/sbin", "bin")
      .Hardlink("usr/bin/tool2", "usr/bin/tool")
      .Add(fifo)
      .Add(dev);
  std::string tar = b.Finish();

  StringReader sr(tar);
  digest::HashingReader hr(sr);
  auto stats = ApplyLayer(hr, root_, {});
  ASSERT_TRUE(stats) << stats.error().message;
  EXPECT_EQ(stats->entries, 6u);
  // docker's layer size: file data plus symlink target lengths ("bin").
  EXPECT_EQ(stats->size, static_cast<int64_t>(f.data.size() + 3));
  // The whole stream, record padding included, went through the hasher.
  EXPECT_EQ(hr.size(), tar.size());
  EXPECT_EQ(hr.Sum(), digest::Sha256Of(tar));

  struct stat st;
  ASSERT_EQ(lstat(P("usr/bin/tool").c_str(), &st), 0);
  EXPECT_EQ(Read("usr/bin/tool"), "#!/bin/sh\n");
  EXPECT_EQ(st.st_mtim.tv_sec, 1500000000);
  EXPECT_EQ(st.st_nlink, 2u);
  if (IsRoot()) {
    EXPECT_EQ(st.st_mode & 07777, 04750u);
    EXPECT_EQ(st.st_uid, 1234u);
    EXPECT_EQ(st.st_gid, 99u);
  }
  char buf[64];
  ssize_t n = lgetxattr(P("usr/bin/tool").c_str(), "user.origin", buf, sizeof(buf));
  if (n >= 0) EXPECT_EQ(std::string(buf, n), "layer");  // tmpfs may lack user xattrs
  ASSERT_EQ(lstat(P("usr").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0711u);
  EXPECT_EQ(st.st_mtim.tv_sec, 1400000000);  // set after its contents were written
  EXPECT_EQ(fs::read_symlink(P("usr/sbin")), "bin");
  ASSERT_EQ(lstat(P("run/fifo").c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0620u);
  if (IsRoot()) {
    ASSERT_EQ(lstat(P("dev/null").c_str(), &st), 0);
    EXPECT_TRUE(S_ISCHR(st.st_mode));
    EXPECT_EQ(st.st_rdev, makedev(1, 3));
  }
}

TEST_F(ApplyTest, RefusesDotDotEscapes) {
  for (const char* name : {"../x", "a/../../x", "../../../../etc/strata-escape"}) {
    TarBuilder b;
    b.File(name, "pwned");
    auto r = Apply(b.Finish());
    ASSERT_FALSE(r) << name;
    EXPECT_EQ(r.error().message, std::string("apply layer sha256:ab12: entry \"") + name +
                                     "\": path escapes the root");
  }
  EXPECT_FALSE(Exists(tmp_.path() + "/x"));
  EXPECT_FALSE(Exists("/etc/strata-escape"));
}

TEST_F(ApplyTest, AbsolutePathsLandInsideRoot) {
  TarBuilder b;
  b.File("/abs/file", "in root");
  ASSERT_TRUE(Apply(b.Finish()));
  EXPECT_EQ(Read("abs/file"), "in root");
}

TEST_F(ApplyTest, SymlinkToSlashResolvesInsideRoot) {
  std::string victim = "strata-escape-" + std::to_string(getpid());
  TarBuilder b;
  b.Symlink("evil", "/").File("evil/tmp/" + victim, "x");
  auto r = Apply(b.Finish());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_FALSE(Exists("/tmp/" + victim));
  EXPECT_EQ(Read("tmp/" + victim), "x");
  EXPECT_EQ(fs::read_symlink(P("evil")), "/");
}

TEST_F(ApplyTest, SymlinkClimbingUpResolvesInsideRoot) {
  // root_ is <tmp>/root, so ../../.. from root/a/b would reach / on the host.
  ASSERT_TRUE(MakeDirs(P("a/b")));
  TarBuilder b;
  b.Symlink("a/b/evil", "../../..").File("a/b/evil/escaped", "x");
  auto r = Apply(b.Finish());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_FALSE(Exists(tmp_.path() + "/escaped"));
  EXPECT_FALSE(Exists("/escaped"));
  EXPECT_EQ(Read("escaped"), "x");
}

TEST_F(ApplyTest, SymlinkedDirectoryToHostPathStaysInRoot) {
  auto victim = TempDir::Create("/tmp", "strata-victim-");
  std::string in_root = victim->path().substr(1);
  // The absolute target does not exist inside the root: refused, not followed out.
  TarBuilder b1;
  b1.Symlink("d", victim->path()).File("d/file", "x");
  auto r1 = Apply(b1.Finish());
  ASSERT_FALSE(r1);
  EXPECT_NE(r1.error().message.find("entry \"d/file\""), std::string::npos) << r1.error().message;
  EXPECT_FALSE(Exists(victim->path() + "/file"));

  // Once it exists inside the root, the symlink resolves there, as under chroot.
  TarBuilder b;
  b.Dir(in_root + "/").Symlink("d", victim->path()).File("d/file", "x");
  b.Symlink("f", victim->path() + "/target").File("f", "replaces the symlink, not its target");
  auto r = Apply(b.Finish());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_FALSE(Exists(victim->path() + "/file"));
  EXPECT_FALSE(Exists(victim->path() + "/target"));
  EXPECT_EQ(Read(in_root + "/file"), "x");
  struct stat st;
  ASSERT_EQ(lstat(P("f").c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
}

TEST_F(ApplyTest, RefusesHardlinkOutsideRoot) {
  struct stat before;
  ASSERT_EQ(stat("/etc/passwd", &before), 0);
  TarBuilder b;
  b.Hardlink("pw", "../../etc/passwd");
  auto r = Apply(b.Finish());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("apply layer sha256:ab12: entry \"pw\""), std::string::npos);
  EXPECT_NE(r.error().message.find("escapes the root"), std::string::npos) << r.error().message;

  // Through a symlink: the target resolves inside the root, where there is no passwd.
  TarBuilder b2;
  b2.Symlink("etcdir", "/etc").Hardlink("pw2", "etcdir/passwd");
  auto r2 = Apply(b2.Finish());
  ASSERT_FALSE(r2);
  EXPECT_NE(r2.error().message.find("entry \"pw2\""), std::string::npos) << r2.error().message;
  EXPECT_FALSE(Exists(P("pw")));
  EXPECT_FALSE(Exists(P("pw2")));
  struct stat after;
  ASSERT_EQ(stat("/etc/passwd", &after), 0);
  EXPECT_EQ(before.st_nlink, after.st_nlink);
}

TEST_F(ApplyTest, HardlinkThroughInRootSymlinkWorks) {
  TarBuilder b;
  b.Dir("usr/lib/").File("usr/lib/libc.so", "elf").Symlink("lib", "/usr/lib");
  b.Hardlink("libc-link", "lib/libc.so");
  auto r = Apply(b.Finish());
  ASSERT_TRUE(r) << r.error().message;
  struct stat a, c;
  ASSERT_EQ(lstat(P("libc-link").c_str(), &a), 0);
  ASSERT_EQ(lstat(P("usr/lib/libc.so").c_str(), &c), 0);
  EXPECT_EQ(a.st_ino, c.st_ino);
}

TEST_F(ApplyTest, MergedWhiteoutsDelete) {
  ASSERT_TRUE(MakeDirs(P("a")));
  ASSERT_TRUE(MakeDirs(P("b/deep")));
  ASSERT_TRUE(WriteFileAtomic(P("a/f"), "lower"));
  ASSERT_TRUE(WriteFileAtomic(P("a/g"), "lower"));
  ASSERT_TRUE(WriteFileAtomic(P("b/deep/x"), "lower"));
  TarBuilder b;
  b.File("a/.wh.f", "").File(".wh.b", "").File(".wh.missing", "");
  auto r = Apply(b.Finish());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_FALSE(Exists(P("a/f")));
  EXPECT_FALSE(Exists(P("a/.wh.f")));
  EXPECT_FALSE(Exists(P("b")));
  EXPECT_EQ(Read("a/g"), "lower");

  TarBuilder bad;
  bad.File("a/.wh..", "");
  EXPECT_FALSE(Apply(bad.Finish()));
}

TEST_F(ApplyTest, MergedOpaqueKeepsOnlyThisLayer) {
  ASSERT_TRUE(MakeDirs(P("d/sub")));
  ASSERT_TRUE(WriteFileAtomic(P("d/old"), "lower"));
  ASSERT_TRUE(WriteFileAtomic(P("d/sub/old2"), "lower"));
  ASSERT_TRUE(WriteFileAtomic(P("keep"), "lower"));
  TarBuilder b;
  // "early" sorts before the marker; "sub/new2" after it.
  b.Dir("d/").File("d/+early", "new").File("d/.wh..wh..opq", "").File("d/new", "new");
  b.File("d/sub/new2", "new");
  auto r = Apply(b.Finish());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_FALSE(Exists(P("d/old")));
  EXPECT_FALSE(Exists(P("d/sub/old2")));
  EXPECT_FALSE(Exists(P("d/.wh..wh..opq")));
  EXPECT_EQ(Read("d/+early"), "new");
  EXPECT_EQ(Read("d/new"), "new");
  EXPECT_EQ(Read("d/sub/new2"), "new");
  EXPECT_EQ(Read("keep"), "lower");
}

TEST_F(ApplyTest, OverlayDiffWritesOverlayWhiteoutsAndDiffConvertsBack) {
  if (!IsRoot()) GTEST_SKIP() << "needs CAP_MKNOD and trusted.* xattrs";
  TarBuilder b;
  b.Dir("d/").File("d/.wh..wh..opq", "").File("d/new", "n").File("e/.wh.gone", "");
  auto r = Apply(b.Finish(), ApplyMode::kOverlayDiff);
  ASSERT_TRUE(r) << r.error().message;
  struct stat st;
  ASSERT_EQ(lstat(P("e/gone").c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(st.st_rdev, makedev(0, 0));
  EXPECT_FALSE(Exists(P("e/.wh.gone")));
  char v[4];
  ssize_t n = lgetxattr(P("d").c_str(), "trusted.overlay.opaque", v, sizeof(v));
  ASSERT_EQ(n, 1);
  EXPECT_EQ(v[0], 'y');
  EXPECT_FALSE(Exists(P("d/.wh..wh..opq")));

  // And back: the upper dir as an OCI layer.
  StringWriter sw;
  TarTreeOptions o;
  o.overlay_whiteouts = true;
  auto lt = WriteLayerTar(root_, sw, o);
  ASSERT_TRUE(lt) << lt.error().message;
  StringReader sr(sw.str());
  TarReader tr(sr);
  std::vector<std::string> names;
  for (;;) {
    auto e = tr.Next();
    ASSERT_TRUE(e) << e.error().message;
    if (!*e) break;
    names.push_back((*e)->path);
    if ((*e)->path == "e/.wh.gone") {
      EXPECT_EQ((*e)->type, EntryType::kFile);
      EXPECT_EQ((*e)->size, 0);
    }
    for (const auto& [k, val] : (*e)->xattrs) EXPECT_NE(k, "trusted.overlay.opaque");
  }
  std::vector<std::string> want = {"d/", "d/.wh..wh..opq", "d/new", "e/", "e/.wh.gone"};
  EXPECT_EQ(names, want);

  // Applying that layer merged onto a lower tree hides what it should.
  std::string lower = tmp_.path() + "/lower";
  ASSERT_TRUE(MakeDirs(lower + "/d"));
  ASSERT_TRUE(MakeDirs(lower + "/e"));
  ASSERT_TRUE(WriteFileAtomic(lower + "/d/old", "x"));
  ASSERT_TRUE(WriteFileAtomic(lower + "/e/gone", "x"));
  ASSERT_TRUE(Apply(sw.str(), ApplyMode::kMerged, lower));
  EXPECT_FALSE(Exists(lower + "/d/old"));
  EXPECT_FALSE(Exists(lower + "/e/gone"));
  EXPECT_TRUE(Exists(lower + "/d/new"));
}

TEST_F(ApplyTest, ReplacesEntriesOfADifferentType) {
  ASSERT_TRUE(WriteFileAtomic(P("x"), "file"));
  ASSERT_TRUE(MakeDirs(P("y/inner")));
  ASSERT_TRUE(WriteFileAtomic(P("y/inner/f"), "deep"));
  ASSERT_EQ(symlink("/nowhere", P("z").c_str()), 0);
  ASSERT_TRUE(MakeDirs(P("keep")));
  ASSERT_TRUE(WriteFileAtomic(P("keep/old"), "old"));
  TarBuilder b;
  b.Dir("x/").File("y", "now a file").Dir("z/").Dir("keep/", 0700).Symlink("keep/old", "elsewhere");
  auto r = Apply(b.Finish());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(fs::is_directory(fs::symlink_status(P("x"))));
  EXPECT_EQ(Read("y"), "now a file");
  EXPECT_TRUE(fs::is_directory(fs::symlink_status(P("z"))));
  struct stat st;
  ASSERT_EQ(lstat(P("keep").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  EXPECT_EQ(fs::read_symlink(P("keep/old")), "elsewhere");
}

// The create-first fast path: modes the umask would cut and setuid bits still come out
// exact, ours-as-created owners are still right under a setgid directory, and a directory
// swapped for a symlink inside one tar is resolved anew (the cached parent is not reused).
TEST_F(ApplyTest, CreateFirstKeepsModesOwnersAndResolution) {
  if (IsRoot()) {
    ASSERT_TRUE(MakeDirs(P("shared")));
    ASSERT_EQ(chown(P("shared").c_str(), 0, 50), 0);
    ASSERT_EQ(chmod(P("shared").c_str(), 02775), 0);
  }
  RawEntry open_file;
  open_file.name = "m/open";
  open_file.data = "o";
  open_file.mode = 0666;  // cut to 0644 by umask 022 at creation
  RawEntry suid;
  suid.name = "m/suid";
  suid.data = "s";
  suid.mode = 04755;
  suid.uid = 7;
  RawEntry plain;
  plain.name = "m/plain";
  plain.data = "p";
  plain.mode = 0640;
  RawEntry in_shared;
  in_shared.name = "shared/f";
  in_shared.data = "g";
  in_shared.mode = 0644;  // 0:0 in the tar, but the setgid dir would give it group 50
  TarBuilder b;
  b.Dir("m/").Add(open_file).Add(suid).Add(plain).Add(in_shared);
  b.Dir("d/").File("d/a", "in dir").Symlink("d", "m").File("d/b", "through link");
  b.File("m/plain", "replaced");
  ASSERT_TRUE(MakeDirs(P("elsewhere")));
  auto r = Apply(b.Finish());
  ASSERT_TRUE(r) << r.error().message;
  struct stat st;
  ASSERT_EQ(lstat(P("m/open").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0666u);
  ASSERT_EQ(lstat(P("m/plain").c_str(), &st), 0);
  EXPECT_EQ(Read("m/plain"), "replaced");
  EXPECT_TRUE(r->replaced);
  if (IsRoot()) {
    ASSERT_EQ(lstat(P("m/suid").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 04755u);
    EXPECT_EQ(st.st_uid, 7u);
    ASSERT_EQ(lstat(P("shared/f").c_str(), &st), 0);
    EXPECT_EQ(st.st_gid, 0u);
  }
  // "d" became a symlink to m: d/b lands in m, and d/a went with the removed directory.
  EXPECT_EQ(fs::read_symlink(P("d")), "m");
  EXPECT_EQ(Read("m/b"), "through link");
  EXPECT_FALSE(Exists(P("m/a")));
}

TEST_F(ApplyTest, TruncatedAndCorruptLayersFail) {
  TarBuilder b;
  b.File("big", std::string(100000, 'b'));
  std::string tar = b.Finish();
  auto r = Apply(tar.substr(0, 30000));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("apply layer sha256:ab12"), std::string::npos);
  EXPECT_NE(r.error().message.find("unexpected EOF"), std::string::npos) << r.error().message;
  EXPECT_FALSE(Apply("this is not a tar archive at all, definitely not" + std::string(600, 'q')));
}

TEST_F(ApplyTest, AppliesCompressedLayers) {
  TarBuilder b;
  b.File("hello", "world");
  std::string tar = b.Finish();
  for (Compression c : {Compression::kGzip, Compression::kZstd, Compression::kNone}) {
    StringWriter sw;
    auto w = NewCompressingWriter(sw, c);
    ASSERT_TRUE(w);
    ASSERT_TRUE((*w)->Write(tar));
    ASSERT_TRUE((*w)->Close());
    StringReader sr(sw.str());
    Compression got;
    auto dr = NewDecompressingReader(sr, &got);
    ASSERT_TRUE(dr);
    EXPECT_EQ(got, c);
    digest::HashingReader hr(**dr);
    auto target = TempDir::Create(tmp_.path());
    auto r = ApplyLayer(hr, target->path());
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(hr.Sum(), digest::Sha256Of(tar));  // the diff ID
    EXPECT_EQ(ReadFile(target->path() + "/hello").value_or(""), "world");
  }
}

// ---- diff / round trip ----

// A canonical listing of a tree: everything a layer carries.
std::string Describe(const std::string& root) {
  std::vector<std::string> lines;
  std::map<std::pair<dev_t, ino_t>, std::string> inodes;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator();
       ++it) {
    std::string p = it->path().string();
    std::string rel = p.substr(root.size() + 1);
    struct stat st;
    lstat(p.c_str(), &st);
    std::string line =
        rel + " mode=" + std::to_string(st.st_mode) + " mtime=" + std::to_string(st.st_mtim.tv_sec);
    if (IsRoot()) line += " own=" + std::to_string(st.st_uid) + ":" + std::to_string(st.st_gid);
    if (S_ISREG(st.st_mode)) {
      line += " data=" + ReadFile(p).value_or("?");
      auto [i, fresh] = inodes.emplace(std::make_pair(st.st_dev, st.st_ino), rel);
      if (!fresh) line += " linked-to=" + i->second;
    }
    if (S_ISLNK(st.st_mode)) line += " -> " + fs::read_symlink(p).string();
    if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) line += " rdev=" + std::to_string(st.st_rdev);
    char names[1024];
    ssize_t n = llistxattr(p.c_str(), names, sizeof(names));
    for (ssize_t i = 0; i < n;) {
      std::string k(names + i);
      i += static_cast<ssize_t>(k.size()) + 1;
      char v[256];
      ssize_t vn = lgetxattr(p.c_str(), k.c_str(), v, sizeof(v));
      line += " xattr:" + k + "=" + std::string(v, std::max<ssize_t>(vn, 0));
    }
    lines.push_back(line);
  }
  std::sort(lines.begin(), lines.end());
  std::string out;
  for (auto& l : lines) out += l + "\n";
  return out;
}

void SetTime(const std::string& p, int64_t t) {
  timespec ts[2] = {{t, 0}, {t, 0}};
  ASSERT_EQ(utimensat(AT_FDCWD, p.c_str(), ts, AT_SYMLINK_NOFOLLOW), 0) << p;
}

void BuildTree(const std::string& r) {
  ASSERT_TRUE(MakeDirs(r + "/bin"));
  ASSERT_TRUE(MakeDirs(r + "/etc/conf.d"));
  ASSERT_TRUE(MakeDirs(r + "/ro"));
  ASSERT_TRUE(WriteFileAtomic(r + "/bin/app", "binary", 0755));
  ASSERT_TRUE(WriteFileAtomic(r + "/etc/conf.d/a.conf", "a=1", 0640));
  ASSERT_TRUE(WriteFileAtomic(r + "/etc/z", "zzz"));
  ASSERT_TRUE(WriteFileAtomic(r + "/a.txt", "sorts between etc and etc/ children"));
  ASSERT_TRUE(WriteFileAtomic(r + "/ro/inside", "in a read-only dir", 0444));
  ASSERT_TRUE(WriteFileAtomic(r + "/" + std::string(130, 'L'), "long name"));
  ASSERT_EQ(link((r + "/bin/app").c_str(), (r + "/bin/app-link").c_str()), 0);
  ASSERT_EQ(symlink("../bin/app", (r + "/etc/app").c_str()), 0);
  ASSERT_EQ(symlink("/does/not/exist", (r + "/dangling").c_str()), 0);
  ASSERT_EQ(mkfifo((r + "/fifo").c_str(), 0600), 0);
  // user.* xattrs are not supported everywhere (tmpfs before 6.6): optional.
  setxattr((r + "/etc/z").c_str(), "user.k", "v", 1, 0);
  if (IsRoot()) {
    ASSERT_EQ(mknod((r + "/null").c_str(), S_IFCHR | 0666, makedev(1, 3)), 0);
    ASSERT_EQ(lchown((r + "/etc/conf.d/a.conf").c_str(), 1000, 1001), 0);
    ASSERT_EQ(lchown((r + "/etc/app").c_str(), 7, 8), 0);
    ASSERT_EQ(chmod((r + "/bin/app").c_str(), 04755), 0);
  }
  ASSERT_EQ(chmod((r + "/ro").c_str(), 0555), 0);
  int64_t t = 1600000000;
  for (const char* p : {"/bin/app", "/etc/conf.d/a.conf", "/etc/z", "/a.txt", "/ro/inside",
                        "/etc/app", "/dangling", "/fifo", "/etc/conf.d", "/etc", "/bin", "/ro"}) {
    SetTime(r + p, t++);
  }
  if (IsRoot()) SetTime(r + "/null", t++);
  SetTime(r + "/" + std::string(130, 'L'), t++);
}

TEST_F(ApplyTest, TreeRoundTripsThroughALayer) {
  std::string src = tmp_.path() + "/src";
  ASSERT_TRUE(MakeDirs(src));
  BuildTree(src);
  StringWriter sw;
  auto lt = WriteLayerTar(src, sw);
  ASSERT_TRUE(lt) << lt.error().message;
  EXPECT_EQ(lt->size, sw.str().size());
  EXPECT_EQ(lt->diff_id, digest::Sha256Of(sw.str()));

  auto stats = Apply(sw.str());
  ASSERT_TRUE(stats) << stats.error().message;
  EXPECT_EQ(Describe(root_), Describe(src));
  // Same tree again, same bytes: applying and re-diffing is a fixed point.
  StringWriter again;
  auto lt2 = WriteLayerTar(root_, again);
  ASSERT_TRUE(lt2);
  EXPECT_EQ(lt2->diff_id, lt->diff_id);
  EXPECT_EQ(again.str(), sw.str());
  chmod((src + "/ro").c_str(), 0755);
  chmod(P("ro").c_str(), 0755);
}

TEST_F(ApplyTest, DiffIsDeterministicOrderedAndReadableByGnuTar) {
  std::string src = tmp_.path() + "/src";
  ASSERT_TRUE(MakeDirs(src));
  BuildTree(src);
  StringWriter a, b;
  auto da = WriteLayerTar(src, a);
  auto db = WriteLayerTar(src, b);
  ASSERT_TRUE(da && db);
  EXPECT_EQ(a.str(), b.str());
  EXPECT_EQ(da->diff_id, db->diff_id);

  StringReader sr(a.str());
  TarReader tr(sr);
  std::vector<std::string> names;
  for (;;) {
    auto e = tr.Next();
    ASSERT_TRUE(e);
    if (!*e) break;
    names.push_back((*e)->path);
    if ((*e)->path == "bin/app-link") {
      EXPECT_EQ((*e)->type, EntryType::kHardlink);
      EXPECT_EQ((*e)->linkname, "bin/app");
    }
    if (!IsRoot()) {
      EXPECT_EQ((*e)->uid, geteuid());
    } else if ((*e)->path == "etc/conf.d/a.conf") {
      EXPECT_EQ((*e)->uid, 1000);  // numeric ids, straight from the inode
      EXPECT_EQ((*e)->gid, 1001);
    }
  }
  ASSERT_GE(names.size(), 5u);
  EXPECT_EQ(names[0], std::string(130, 'L'));
  EXPECT_EQ(names[1], "a.txt");
  EXPECT_EQ(names[2], "bin/");
  EXPECT_EQ(names[3], "bin/app");
  EXPECT_EQ(names[4], "bin/app-link");

  std::string tarfile = tmp_.path() + "/l.tar";
  ASSERT_TRUE(WriteFileAtomic(tarfile, a.str()));
  std::string cmd = "tar --numeric-owner -tvf " + tarfile + " > " + tmp_.path() + "/list";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  std::string list = ReadFile(tmp_.path() + "/list").value_or("");
  EXPECT_NE(list.find("bin/app-link link to bin/app"), std::string::npos) << list;
  EXPECT_NE(list.find("etc/app -> ../bin/app"), std::string::npos) << list;
  EXPECT_NE(list.find(std::string(130, 'L')), std::string::npos) << list;

  // SOURCE_DATE_EPOCH clamps every mtime.
  StringWriter c;
  TarTreeOptions o;
  o.clamp_mtime = 1600000003;
  ASSERT_TRUE(WriteLayerTar(src, c, o));
  StringReader sr2(c.str());
  TarReader tr2(sr2);
  int clamped = 0;
  for (;;) {
    auto e = tr2.Next();
    ASSERT_TRUE(e);
    if (!*e) break;
    EXPECT_LE((*e)->mtime_sec, 1600000003) << (*e)->path;
    clamped += (*e)->mtime_sec == 1600000003;
  }
  EXPECT_GT(clamped, 3);
  chmod((src + "/ro").c_str(), 0755);
}

}  // namespace
}  // namespace strata::archive

namespace strata::archive {
namespace {

TEST_F(ApplyTest, SparseFilesStaySparse) {
  std::string src = tmp_.path() + "/sparse-src";
  ASSERT_TRUE(MakeDirs(src));
  std::string cmd = "truncate -s 1G " + src + "/big && printf tail >> " + src +
                    "/big && tar --sparse -C " + src + " -cf " + tmp_.path() + "/sparse.tar big";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  auto tar = ReadFile(tmp_.path() + "/sparse.tar");
  ASSERT_TRUE(tar);
  ASSERT_LT(tar->size(), 1u << 20);
  auto r = Apply(*tar);
  ASSERT_TRUE(r) << r.error().message;
  struct stat st;
  ASSERT_EQ(stat(P("big").c_str(), &st), 0);
  EXPECT_EQ(st.st_size, (1ll << 30) + 4);
  EXPECT_LT(st.st_blocks * 512, 1ll << 20);  // holes were not written out
  UniqueFd fd(open(P("big").c_str(), O_RDONLY));
  char buf[8] = {};
  ASSERT_EQ(pread(fd.get(), buf, 8, (1ll << 30) - 4), 8);
  EXPECT_EQ(std::string(buf, 8), std::string(4, '\0') + "tail");
}

}  // namespace
}  // namespace strata::archive
