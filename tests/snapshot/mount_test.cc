// MountAll and MountGuard: mounts happen, undo on failure, unmount on scope exit.
#include "snapshot/mount.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "util/fs.h"

namespace strata::snapshot {
namespace {

namespace fs = std::filesystem;

bool IsMountPoint(const std::string& path) {
  auto info = ReadFile("/proc/self/mountinfo");
  if (!info) return false;
  return info->find(" " + fs::canonical(path).string() + " ") != std::string::npos;
}

#define REQUIRE_ROOT() \
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to mount"

class MountTest : public testing::Test {
 protected:
  void SetUp() override {
    auto t = TempDir::Create(fs::temp_directory_path().string(), "mount-test-");
    ASSERT_TRUE(t);
    tmp_ = std::move(*t);
    src_ = tmp_.path() + "/src";
    target_ = tmp_.path() + "/target";
    ASSERT_TRUE(MakeDirs(src_));
    ASSERT_TRUE(MakeDirs(target_));
    ASSERT_TRUE(WriteFileAtomic(src_ + "/hello", "hi"));
  }
  TempDir tmp_;
  std::string src_, target_;
};

TEST(RelativizeOverlayOptionsTest, PathsBecomeRelativeToTheirCommonDir) {
  auto r = RelativizeOverlayOptions(
      {"index=off", "workdir=/var/lib/s/snapshots/3/work", "upperdir=/var/lib/s/snapshots/3/fs",
       "lowerdir=/var/lib/s/snapshots/2/fs:/var/lib/s/snapshots/1/fs"});
  EXPECT_EQ(r.dir, "/var/lib/s/snapshots");
  EXPECT_EQ(r.options, (std::vector<std::string>{"index=off", "workdir=3/work", "upperdir=3/fs",
                                                 "lowerdir=2/fs:1/fs"}));
  // Lowers only, sharing a deeper prefix.
  auto l = RelativizeOverlayOptions({"lowerdir=/a/b/c/fs:/a/b/d/fs"});
  EXPECT_EQ(l.dir, "/a/b");
  EXPECT_EQ(l.options, (std::vector<std::string>{"lowerdir=c/fs:d/fs"}));
}

TEST_F(MountTest, ReadOnlyBindUnmountsWithGuard) {
  REQUIRE_ROOT();
  {
    auto g = MountAll({{"bind", src_, {"rbind", "ro"}}}, target_);
    ASSERT_TRUE(g) << g.error().message;
    EXPECT_TRUE(IsMountPoint(target_));
    EXPECT_EQ(*ReadFile(target_ + "/hello"), "hi");
    int fd = ::open((target_ + "/new").c_str(), O_WRONLY | O_CREAT, 0644);
    EXPECT_LT(fd, 0);
    EXPECT_EQ(errno, EROFS);
  }
  EXPECT_FALSE(IsMountPoint(target_));
  EXPECT_FALSE(fs::exists(target_ + "/hello"));
}

TEST_F(MountTest, ReleaseKeepsTheMount) {
  REQUIRE_ROOT();
  std::vector<std::string> targets;
  {
    auto g = MountAll({{"bind", src_, {"rbind", "rw"}}}, target_);
    ASSERT_TRUE(g);
    targets = g->release();
  }
  EXPECT_EQ(targets, std::vector<std::string>{target_});
  EXPECT_TRUE(IsMountPoint(target_));
  MountGuard again(targets);
  EXPECT_TRUE(again.Unmount());
  EXPECT_FALSE(IsMountPoint(target_));
}

TEST_F(MountTest, FailureUndoesEarlierMounts) {
  REQUIRE_ROOT();
  auto g =
      MountAll({{"bind", src_, {"rbind"}}, {"bind", tmp_.path() + "/missing", {"rbind"}}}, target_);
  ASSERT_FALSE(g);
  EXPECT_EQ(g.error().code, ErrorCode::kNotFound);
  EXPECT_FALSE(IsMountPoint(target_));
}

TEST_F(MountTest, BusyMountIsDetached) {
  REQUIRE_ROOT();
  auto g = MountAll({{"bind", src_, {"rbind"}}}, target_);
  ASSERT_TRUE(g);
  // An open directory on the mount makes umount2 fail with EBUSY.
  int fd = ::open(target_.c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(fd, 0);
  int cwd = ::open(".", O_RDONLY | O_DIRECTORY);
  ASSERT_EQ(::fchdir(fd), 0);
  Status st = g->Unmount();
  ASSERT_EQ(::fchdir(cwd), 0);
  ::close(cwd);
  ::close(fd);
  EXPECT_FALSE(st);                     // reported...
  EXPECT_FALSE(IsMountPoint(target_));  // ...but detached all the same
}

TEST_F(MountTest, OverlayMethods) {
  REQUIRE_ROOT();
  for (const char* d : {"/l1", "/up", "/work"}) ASSERT_TRUE(MakeDirs(tmp_.path() + d));
  ASSERT_TRUE(WriteFileAtomic(tmp_.path() + "/l1/top", "l1"));
  Mount m{"overlay",
          "overlay",
          {"workdir=" + tmp_.path() + "/work", "upperdir=" + tmp_.path() + "/up",
           "lowerdir=" + tmp_.path() + "/l1:" + src_}};
  for (auto method : {OverlayMethod::kMountData, OverlayMethod::kChdir, OverlayMethod::kFsConfig,
                      OverlayMethod::kAuto}) {
    SCOPED_TRACE(static_cast<int>(method));
    std::string cwd = fs::current_path();
    auto g = MountAll({m}, target_, method);
    if (!g && method == OverlayMethod::kFsConfig) continue;  // kernel without lowerdir+
    ASSERT_TRUE(g) << g.error().message;
    EXPECT_EQ(*ReadFile(target_ + "/hello"), "hi");
    EXPECT_EQ(*ReadFile(target_ + "/top"), "l1");
    EXPECT_EQ(fs::current_path(), cwd);  // kChdir leaves the process cwd alone
  }
}

TEST_F(MountTest, OversizedMountDataIsRejected) {
  std::string lowers;
  for (int i = 0; i < 200; ++i) lowers += (i ? ":" : "") + src_ + "/" + std::string(20, 'x');
  auto g = MountAll({{"overlay", "overlay", {"lowerdir=" + lowers}}}, target_,
                    OverlayMethod::kMountData);
  ASSERT_FALSE(g);
  EXPECT_EQ(g.error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace strata::snapshot
