// Conformance suite for Snapshotter, run on the overlay and the copy driver
// (in the manner of containerd:core/snapshots/testsuite).
#include "snapshot/snapshotter.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <set>
#include <thread>

#include "snapshot/copy.h"
#include "snapshot/overlay.h"
#include "util/fs.h"

namespace strata::snapshot {
namespace {

namespace fs = std::filesystem;

struct Driver {
  std::string name;
  Result<std::unique_ptr<Snapshotter>> (*open)(const std::string& root);
};

Result<std::unique_ptr<Snapshotter>> OpenOverlay(const std::string& root) {
  STRATA_ASSIGN_OR_RETURN(auto s, OverlaySnapshotter::Open(root));
  return std::unique_ptr<Snapshotter>(std::move(s));
}
Result<std::unique_ptr<Snapshotter>> OpenCopy(const std::string& root) {
  STRATA_ASSIGN_OR_RETURN(auto s, CopySnapshotter::Open(root));
  return std::unique_ptr<Snapshotter>(std::move(s));
}

void Write(const std::string& path, const std::string& data) {
  ASSERT_TRUE(WriteFileAtomic(path, data)) << path;
}

std::string Read(const std::string& path) {
  auto r = ReadFile(path);
  return r ? *r : "<" + r.error().message + ">";
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

// A mounted snapshot; the guard unmounts before the dir is removed.
struct Mounted {
  TempDir dir;
  MountGuard guard;
  std::string path() const { return dir.path(); }
};

#define REQUIRE_ROOT() \
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to mount"

class SnapshotterTest : public testing::TestWithParam<Driver> {
 protected:
  void SetUp() override {
    auto tmp = TempDir::Create(fs::temp_directory_path().string(), "snapshot-test-");
    ASSERT_TRUE(tmp);
    tmp_ = std::move(*tmp);
    root_ = tmp_.path() + "/root";
    if (overlay() && !OverlaySnapshotter::Supported(root_))
      GTEST_SKIP() << "overlayfs not usable here";
    Reopen();
  }

  void Reopen() {
    sn_.reset();
    auto s = GetParam().open(root_);
    ASSERT_TRUE(s) << s.error().message;
    sn_ = std::move(*s);
  }

  bool overlay() const { return GetParam().name == "overlay"; }

  Mounted MountSpecs(const Result<std::vector<Mount>>& mounts,
                     OverlayMethod method = OverlayMethod::kAuto) {
    Mounted m;
    EXPECT_TRUE(mounts) << mounts.error().message;
    if (!mounts) return m;
    auto dir = TempDir::Create(tmp_.path(), "mnt-");
    EXPECT_TRUE(dir);
    m.dir = std::move(*dir);
    auto guard = MountAll(*mounts, m.dir.path(), method);
    EXPECT_TRUE(guard) << guard.error().message;
    if (guard) m.guard = std::move(*guard);
    return m;
  }

  Mounted MountKey(const std::string& key, OverlayMethod method = OverlayMethod::kAuto) {
    return MountSpecs(sn_->Mounts(key), method);
  }

  // Deletes name in an active snapshot's Dir the way a layer apply does for
  // this driver: an overlay whiteout, or a real delete in a full tree.
  void Delete(const std::string& key, const std::string& name) {
    auto dir = sn_->Dir(key);
    ASSERT_TRUE(dir);
    std::string p = *dir + "/" + name;
    if (overlay()) {
      ASSERT_EQ(::mknod(p.c_str(), S_IFCHR | 0000, makedev(0, 0)), 0) << strerror(errno);
    } else {
      ASSERT_TRUE(RemoveAll(p));
    }
  }

  // Prepares key on parent, writes files into its Dir, commits it as name.
  void Layer(const std::string& name, const std::string& parent,
             const std::vector<std::pair<std::string, std::string>>& files) {
    std::string key = "extract-" + name;
    ASSERT_TRUE(sn_->Prepare(key, parent));
    auto dir = sn_->Dir(key);
    ASSERT_TRUE(dir) << dir.error().message;
    for (const auto& [f, data] : files) Write(*dir + "/" + f, data);
    ASSERT_TRUE(sn_->Commit(name, key));
  }

  TempDir tmp_;
  std::string root_;
  std::unique_ptr<Snapshotter> sn_;
};

TEST_P(SnapshotterTest, PrepareCommitStat) {
  auto before = std::chrono::system_clock::now() - std::chrono::seconds(1);
  auto mounts = sn_->Prepare("k1", "");
  ASSERT_TRUE(mounts) << mounts.error().message;
  ASSERT_EQ(mounts->size(), 1u);
  EXPECT_EQ((*mounts)[0].type, "bind");

  auto st = sn_->Stat("k1");
  ASSERT_TRUE(st);
  EXPECT_EQ(st->kind, Kind::kActive);
  EXPECT_EQ(st->name, "k1");
  EXPECT_EQ(st->parent, "");
  EXPECT_GT(st->created, before);
  EXPECT_LT(st->created, std::chrono::system_clock::now() + std::chrono::seconds(1));

  ASSERT_TRUE(sn_->Commit("sha256:aaaa", "k1"));
  EXPECT_EQ(sn_->Stat("k1").error().code, ErrorCode::kNotFound);
  st = sn_->Stat("sha256:aaaa");
  ASSERT_TRUE(st);
  EXPECT_EQ(st->kind, Kind::kCommitted);
  EXPECT_EQ(st->name, "sha256:aaaa");

  ASSERT_TRUE(sn_->Prepare("k2", "sha256:aaaa"));
  st = sn_->Stat("k2");
  ASSERT_TRUE(st);
  EXPECT_EQ(st->parent, "sha256:aaaa");
  // Committed snapshots are not mountable as such, and have no Dir.
  EXPECT_EQ(sn_->Mounts("sha256:aaaa").error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(sn_->Dir("sha256:aaaa").error().code, ErrorCode::kFailedPrecondition);
}

TEST_P(SnapshotterTest, MountSpecsDescribeTheDriver) {
  Layer("a", "", {{"a", "1"}});
  Layer("b", "a", {{"b", "2"}});
  auto m = sn_->Prepare("c", "b");
  ASSERT_TRUE(m);
  ASSERT_EQ(m->size(), 1u);
  auto dir = sn_->Dir("c");
  ASSERT_TRUE(dir);
  const Mount& mt = (*m)[0];
  if (overlay()) {
    EXPECT_EQ(mt.type, "overlay");
    std::string lower, upper;
    for (const auto& o : mt.options) {
      if (o.starts_with("lowerdir=")) lower = o.substr(9);
      if (o.starts_with("upperdir=")) upper = o.substr(9);
    }
    EXPECT_EQ(upper, *dir);
    // Nearest parent first: b's fs holds "b", a's holds "a".
    size_t colon = lower.find(':');
    ASSERT_NE(colon, std::string::npos);
    EXPECT_TRUE(Exists(lower.substr(0, colon) + "/b"));
    EXPECT_TRUE(Exists(lower.substr(colon + 1) + "/a"));
  } else {
    EXPECT_EQ(mt.type, "bind");
    EXPECT_EQ(mt.source, *dir);
    // The copy driver's tree already has both parents' files.
    EXPECT_EQ(Read(*dir + "/a"), "1");
    EXPECT_EQ(Read(*dir + "/b"), "2");
  }
  // Mounts returns the same description again.
  auto again = sn_->Mounts("c");
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, *m);
  // Views are read-only.
  auto v = sn_->View("v", "b");
  ASSERT_TRUE(v);
  ASSERT_FALSE(v->empty());
  bool ro = false;
  for (const auto& o : (*v)[0].options) ro |= o == "ro";
  EXPECT_TRUE(ro);
}

TEST_P(SnapshotterTest, ParentFilesVisibleThroughMount) {
  REQUIRE_ROOT();
  Layer("a", "", {{"a.txt", "from a"}, {"shared", "a"}});
  Layer("b", "a", {{"b.txt", "from b"}, {"shared", "b"}});
  auto m = MountSpecs(sn_->Prepare("c", "b"));
  EXPECT_EQ(Read(m.path() + "/a.txt"), "from a");
  EXPECT_EQ(Read(m.path() + "/b.txt"), "from b");
  EXPECT_EQ(Read(m.path() + "/shared"), "b");  // nearer layer wins
}

TEST_P(SnapshotterTest, WritesDoNotAffectParent) {
  REQUIRE_ROOT();
  Layer("a", "", {{"a.txt", "orig"}});
  {
    auto m = MountSpecs(sn_->Prepare("c", "a"));
    Write(m.path() + "/a.txt", "changed");
    Write(m.path() + "/new.txt", "new");
    EXPECT_EQ(Read(m.path() + "/a.txt"), "changed");
  }
  // The change lives in c only: a sibling sees the parent as it was.
  auto sib = MountSpecs(sn_->Prepare("d", "a"));
  EXPECT_EQ(Read(sib.path() + "/a.txt"), "orig");
  EXPECT_FALSE(Exists(sib.path() + "/new.txt"));
  // ...and c still has its change on a second mount.
  auto again = MountKey("c");
  EXPECT_EQ(Read(again.path() + "/a.txt"), "changed");
  EXPECT_EQ(Read(again.path() + "/new.txt"), "new");
}

TEST_P(SnapshotterTest, DeletionsHideParentFiles) {
  REQUIRE_ROOT();
  Layer("a", "", {{"gone", "x"}, {"kept", "y"}});
  ASSERT_TRUE(sn_->Prepare("del", "a"));
  Delete("del", "gone");
  ASSERT_TRUE(sn_->Commit("b", "del"));
  auto m = MountSpecs(sn_->Prepare("top", "b"));
  EXPECT_FALSE(Exists(m.path() + "/gone"));
  EXPECT_EQ(Read(m.path() + "/kept"), "y");
  // The parent still has it.
  auto v = MountSpecs(sn_->View("view-a", "a"));
  EXPECT_EQ(Read(v.path() + "/gone"), "x");
}

TEST_P(SnapshotterTest, ViewsAreReadOnly) {
  REQUIRE_ROOT();
  Layer("a", "", {{"a", "1"}});
  Layer("b", "a", {{"b", "2"}});
  for (const auto& [key, parent] :
       std::vector<std::pair<std::string, std::string>>{{"v0", ""}, {"v1", "a"}, {"v2", "b"}}) {
    SCOPED_TRACE(key);
    auto m = MountSpecs(sn_->View(key, parent));
    if (!parent.empty()) EXPECT_EQ(Read(m.path() + "/a"), "1");
    if (parent == "b") EXPECT_EQ(Read(m.path() + "/b"), "2");
    int fd = ::open((m.path() + "/w").c_str(), O_WRONLY | O_CREAT, 0644);
    EXPECT_LT(fd, 0);
    EXPECT_EQ(errno, EROFS);
    if (fd >= 0) ::close(fd);
    EXPECT_EQ(sn_->Stat(key)->kind, Kind::kView);
  }
  EXPECT_EQ(sn_->Commit("x", "v1").error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(sn_->Dir("v1").error().code, ErrorCode::kFailedPrecondition);
}

TEST_P(SnapshotterTest, RemoveRefusesParentsWithChildren) {
  Layer("a", "", {{"a", "1"}});
  Layer("b", "a", {});
  ASSERT_TRUE(sn_->Prepare("c", "b"));
  EXPECT_EQ(sn_->Remove("a").error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(sn_->Remove("b").error().code, ErrorCode::kFailedPrecondition);
  EXPECT_TRUE(sn_->Stat("b"));
  ASSERT_TRUE(sn_->Remove("c"));
  ASSERT_TRUE(sn_->Remove("b"));
  ASSERT_TRUE(sn_->Remove("a"));
  EXPECT_EQ(sn_->Stat("a").error().code, ErrorCode::kNotFound);
  // Nothing is left on disk but the bookkeeping files.
  for (const auto& e : fs::directory_iterator(root_ + "/snapshots")) {
    EXPECT_EQ(e.path().filename().string()[0], '.') << e.path();
  }
}

TEST_P(SnapshotterTest, WalkListsParentsFirst) {
  Layer("a", "", {});
  Layer("b", "a", {});
  ASSERT_TRUE(sn_->Prepare("active", "b"));
  ASSERT_TRUE(sn_->View("view", "a"));
  std::vector<Info> seen;
  ASSERT_TRUE(sn_->Walk([&](const Info& i) {
    seen.push_back(i);
    return Ok();
  }));
  ASSERT_EQ(seen.size(), 4u);
  std::map<std::string, Info> by;
  std::vector<std::string> order;
  for (const auto& i : seen) {
    by[i.name] = i;
    order.push_back(i.name);
  }
  EXPECT_EQ(by["a"].kind, Kind::kCommitted);
  EXPECT_EQ(by["b"].parent, "a");
  EXPECT_EQ(by["active"].kind, Kind::kActive);
  EXPECT_EQ(by["active"].parent, "b");
  EXPECT_EQ(by["view"].kind, Kind::kView);
  auto pos = [&](const std::string& n) { return std::find(order.begin(), order.end(), n); };
  EXPECT_LT(pos("a"), pos("b"));
  EXPECT_LT(pos("b"), pos("active"));
  // An error from fn stops the walk and comes back.
  int calls = 0;
  Status st = sn_->Walk([&](const Info&) -> Status {
    ++calls;
    return Cancelled("stop");
  });
  EXPECT_EQ(st.error().code, ErrorCode::kCancelled);
  EXPECT_EQ(calls, 1);
  // fn may call back into the snapshotter (no lock is held).
  EXPECT_TRUE(sn_->Walk([&](const Info& i) -> Status {
    return sn_->Stat(i.name).has_value() ? Ok() : Internal("stat");
  }));
}

TEST_P(SnapshotterTest, UsageCountsOwnDirectory) {
  std::string big(1 << 20, 'x');
  Layer("a", "", {{"big", big}});
  auto u = sn_->Usage("a");
  ASSERT_TRUE(u);
  EXPECT_GE(u->size, 1u << 20);
  EXPECT_EQ(u->inodes, 2u);  // the root dir and the file
  ASSERT_TRUE(sn_->Prepare("c", "a"));
  auto dir = sn_->Dir("c");
  Write(*dir + "/small", "abc");
  auto uc = sn_->Usage("c");
  ASSERT_TRUE(uc);
  if (overlay()) {
    // Only c's own changes, not the parent's file.
    EXPECT_LT(uc->size, 1u << 20);
    EXPECT_EQ(uc->inodes, 2u);
  } else {
    // A full tree (reflinks still count their blocks).
    EXPECT_EQ(uc->inodes, 3u);
  }
  EXPECT_EQ(sn_->Usage("nope").error().code, ErrorCode::kNotFound);
}

TEST_P(SnapshotterTest, UnknownAndDuplicateKeys) {
  EXPECT_EQ(sn_->Commit("x", "nope").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(sn_->Remove("nope").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(sn_->Stat("nope").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(sn_->Mounts("nope").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(sn_->Dir("nope").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(sn_->Prepare("k", "nope").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(sn_->Prepare("", "").error().code, ErrorCode::kInvalidArgument);

  ASSERT_TRUE(sn_->Prepare("k", ""));
  EXPECT_EQ(sn_->Prepare("k", "").error().code, ErrorCode::kAlreadyExists);
  EXPECT_EQ(sn_->View("k", "").error().code, ErrorCode::kAlreadyExists);
  // An active snapshot cannot be a parent.
  EXPECT_EQ(sn_->Prepare("k2", "k").error().code, ErrorCode::kFailedPrecondition);
  ASSERT_TRUE(sn_->Prepare("other", ""));
  ASSERT_TRUE(sn_->Commit("done", "other"));
  // Keys and names share one namespace.
  EXPECT_EQ(sn_->Commit("done", "k").error().code, ErrorCode::kAlreadyExists);
  EXPECT_EQ(sn_->Prepare("done", "").error().code, ErrorCode::kAlreadyExists);
  EXPECT_EQ(sn_->Commit("again", "done").error().code, ErrorCode::kFailedPrecondition);
  EXPECT_TRUE(sn_->Stat("k"));  // failed commits leave the key active
}

TEST_P(SnapshotterTest, DeepChainMounts) {
  REQUIRE_ROOT();
  // A long root makes the absolute lowerdir list of 128 layers overflow the
  // one-page mount data, so each overlay method is really exercised.
  root_ = tmp_.path() + "/" + std::string(60, 'r') + "/" + std::string(60, 's');
  Reopen();
  constexpr int kLayers = 128;
  std::string parent;
  for (int i = 0; i < kLayers; ++i) {
    std::string name = "sha256:" + std::string(60, 'a' + i % 6) + std::to_string(i);
    Layer(name, parent, {{"f" + std::to_string(i), std::to_string(i)}});
    if (HasFatalFailure()) return;
    parent = name;
  }
  auto mounts = sn_->Prepare("top", parent);
  ASSERT_TRUE(mounts);
  std::vector<OverlayMethod> methods = {OverlayMethod::kAuto};
  if (overlay()) {
    size_t data = 0;
    for (const auto& o : (*mounts)[0].options) data += o.size() + 1;
    EXPECT_GT(data, 4096u);
    methods.push_back(OverlayMethod::kChdir);
    methods.push_back(OverlayMethod::kFsConfig);
  }
  for (OverlayMethod method : methods) {
    SCOPED_TRACE(static_cast<int>(method));
    if (method == OverlayMethod::kFsConfig) {
      // "lowerdir+" needs Linux 6.8; on older kernels kAuto covered kChdir.
      auto probe = TempDir::Create(tmp_.path(), "probe-");
      ASSERT_TRUE(probe);
      auto g = MountAll(*mounts, probe->path(), method);
      if (!g && g.error().code == ErrorCode::kInvalidArgument) continue;
    }
    auto m = MountKey("top", method);
    for (int i = 0; i < kLayers; ++i) {
      ASSERT_EQ(Read(m.path() + "/f" + std::to_string(i)), std::to_string(i));
    }
    Write(m.path() + "/top", "t");
  }
  auto dir = sn_->Dir("top");
  EXPECT_EQ(Read(*dir + "/top"), "t");
  // A view of the same chain (overlay of lowerdirs only).
  auto v = MountSpecs(sn_->View("view", parent));
  EXPECT_EQ(Read(v.path() + "/f0"), "0");
  EXPECT_EQ(Read(v.path() + "/f127"), "127");
}

TEST_P(SnapshotterTest, ConcurrentPrepareFromThreads) {
  constexpr int kThreads = 6, kEach = 5;
  std::vector<std::thread> threads;
  std::atomic<int> failures = 0;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      // Half share the instance, half open their own (as other processes would).
      std::unique_ptr<Snapshotter> own;
      Snapshotter* s = sn_.get();
      if (t % 2) {
        auto o = GetParam().open(root_);
        if (!o) {
          failures++;
          return;
        }
        own = std::move(*o);
        s = own.get();
      }
      for (int i = 0; i < kEach; ++i) {
        if (!s->Prepare("t" + std::to_string(t) + "-" + std::to_string(i), "")) failures++;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures, 0);
  std::set<std::string> dirs;
  ASSERT_TRUE(sn_->Walk([&](const Info& i) -> Status {
    STRATA_ASSIGN_OR_RETURN(std::string d, sn_->Dir(i.name));
    dirs.insert(d);
    return Ok();
  }));
  EXPECT_EQ(dirs.size(), static_cast<size_t>(kThreads * kEach));
}

TEST_P(SnapshotterTest, ConcurrentPrepareFromProcesses) {
  Layer("base", "", {{"f", "x"}});
  constexpr int kProcs = 4, kEach = 5;
  std::vector<pid_t> pids;
  for (int p = 0; p < kProcs; ++p) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      auto s = GetParam().open(root_);
      int bad = s ? 0 : 1;
      for (int i = 0; s && i < kEach; ++i) {
        if (!(*s)->Prepare("p" + std::to_string(p) + "-" + std::to_string(i), "base")) bad++;
      }
      ::_exit(bad);
    }
    pids.push_back(pid);
  }
  for (pid_t pid : pids) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  }
  std::set<std::string> dirs;
  for (int p = 0; p < kProcs; ++p) {
    for (int i = 0; i < kEach; ++i) {
      auto d = sn_->Dir("p" + std::to_string(p) + "-" + std::to_string(i));
      ASSERT_TRUE(d) << d.error().message;
      dirs.insert(*d);
      if (!overlay()) EXPECT_EQ(Read(*d + "/f"), "x");
    }
  }
  EXPECT_EQ(dirs.size(), static_cast<size_t>(kProcs * kEach));
}

TEST_P(SnapshotterTest, RecoverCleansCrashLeftovers) {
  Layer("a", "", {{"a", "1"}});
  ASSERT_TRUE(sn_->Prepare("active", "a"));
  auto active_dir = sn_->Dir("active");
  ASSERT_TRUE(active_dir);
  std::string snaps = root_ + "/snapshots";
  // A Prepare that died before writing its info file.
  ASSERT_TRUE(MakeDirs(snaps + "/900/fs/sub"));
  Write(snaps + "/900/fs/sub/file", "half");
  // A Remove that died after the rename.
  ASSERT_TRUE(MakeDirs(snaps + "/rm-901/fs"));
  // A Commit that died before its rename: the temp info says committed.
  std::string sdir = fs::path(*active_dir).parent_path().string();
  Write(sdir + "/.info.tmp99999", R"({"kind":"committed","name":"half-commit"})");
  Write(snaps + "/..last-id.tmp99999", "77");

  Reopen();  // Open runs Recover

  EXPECT_FALSE(Exists(snaps + "/900"));
  EXPECT_FALSE(Exists(snaps + "/rm-901"));
  EXPECT_FALSE(Exists(sdir + "/.info.tmp99999"));
  EXPECT_FALSE(Exists(snaps + "/..last-id.tmp99999"));
  // The interrupted commit left the active snapshot as it was.
  auto st = sn_->Stat("active");
  ASSERT_TRUE(st);
  EXPECT_EQ(st->kind, Kind::kActive);
  EXPECT_EQ(sn_->Stat("half-commit").error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(sn_->Stat("a"));
  // New snapshots get fresh ids and work.
  ASSERT_TRUE(sn_->Prepare("after", "a"));
  auto after = sn_->Dir("after");
  ASSERT_TRUE(after);
  EXPECT_NE(*after, *active_dir);
  ASSERT_TRUE(sn_->Commit("a2", "after"));
  EXPECT_EQ(sn_->Stat("a2")->parent, "a");
}

TEST_P(SnapshotterTest, RecoverLeavesLiveWorkAlone) {
  std::string snaps = root_ + "/snapshots";
  // A removal in progress in another process holds its rm- dir locked.
  ASSERT_TRUE(MakeDirs(snaps + "/rm-5/fs"));
  int fd = ::open((snaps + "/rm-5").c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto s = GetParam().open(root_);  // runs Recover in another process
    ::_exit(s ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_EQ(status, 0);
  EXPECT_TRUE(Exists(snaps + "/rm-5/fs"));
  ::close(fd);  // the remover died
  ASSERT_TRUE(sn_->Recover());
  EXPECT_FALSE(Exists(snaps + "/rm-5"));
  // A probe whose prober died.
  ASSERT_TRUE(MakeDirs(snaps + "/probe-abc/merged"));
  ASSERT_TRUE(sn_->Recover());
  EXPECT_FALSE(Exists(snaps + "/probe-abc"));
}

TEST_P(SnapshotterTest, RootKeepsItsDriver) {
  auto other = GetParam().name == "overlay" ? OpenCopy(root_) : OpenOverlay(root_);
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code, ErrorCode::kFailedPrecondition);
  auto same = OpenSnapshotter(root_);
  ASSERT_TRUE(same) << same.error().message;
  EXPECT_EQ((*same)->Driver(), GetParam().name);
}

INSTANTIATE_TEST_SUITE_P(Drivers, SnapshotterTest,
                         testing::Values(Driver{"overlay", &OpenOverlay},
                                         Driver{"copy", &OpenCopy}),
                         [](const testing::TestParamInfo<Driver>& i) { return i.param.name; });

TEST(OpenSnapshotterTest, PicksOverlayWhenSupported) {
  auto tmp = TempDir::Create(fs::temp_directory_path().string(), "snapshot-open-");
  ASSERT_TRUE(tmp);
  bool supported = OverlaySnapshotter::Supported(tmp->path());
  if (::geteuid() == 0) EXPECT_TRUE(supported) << "root on a Linux 6 host should have overlay";
  auto s = OpenSnapshotter(tmp->path());
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ((*s)->Driver(), supported ? "overlay" : "copy");
  // The probe left nothing behind.
  for (const auto& e : fs::directory_iterator(tmp->path() + "/snapshots")) {
    EXPECT_EQ(e.path().filename().string()[0], '.') << e.path();
  }
}

}  // namespace
}  // namespace strata::snapshot
