// CopyTree: the copy driver's full-tree copy keeps every attribute a layer has.
#include "snapshot/copy.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <filesystem>

#include "util/fs.h"

namespace strata::snapshot {
namespace {

namespace fs = std::filesystem;

struct stat Lstat(const std::string& p) {
  struct stat st {};
  EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
  return st;
}

void SetTime(const std::string& p, time_t sec, long nsec) {
  struct timespec ts[2] = {{sec, nsec}, {sec, nsec}};
  ASSERT_EQ(::utimensat(AT_FDCWD, p.c_str(), ts, AT_SYMLINK_NOFOLLOW), 0) << p;
}

class CopyTreeTest : public testing::Test {
 protected:
  void SetUp() override {
    auto t = TempDir::Create(fs::temp_directory_path().string(), "copy-test-");
    ASSERT_TRUE(t);
    tmp_ = std::move(*t);
    src_ = tmp_.path() + "/src";
    dst_ = tmp_.path() + "/dst";
    ASSERT_TRUE(MakeDirs(src_ + "/dir/sub"));
  }
  TempDir tmp_;
  std::string src_, dst_;
};

TEST_F(CopyTreeTest, PreservesContentModesTimesLinks) {
  std::string big(3 << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7 + i / 4096);
  ASSERT_TRUE(WriteFileAtomic(src_ + "/dir/big", big, 0640));
  ASSERT_TRUE(WriteFileAtomic(src_ + "/empty", "", 0600));
  ASSERT_EQ(::chmod((src_ + "/empty").c_str(), 01751), 0);
  ASSERT_EQ(::link((src_ + "/dir/big").c_str(), (src_ + "/dir/sub/hard").c_str()), 0);
  ASSERT_EQ(::symlink("/etc/passwd", (src_ + "/abs-link").c_str()), 0);
  ASSERT_EQ(::symlink("../big", (src_ + "/dir/sub/rel-link").c_str()), 0);
  ASSERT_EQ(::mkfifo((src_ + "/fifo").c_str(), 0620), 0);
  ASSERT_EQ(::chmod((src_ + "/fifo").c_str(), 0620), 0);  // past the umask
  ASSERT_EQ(::setxattr((src_ + "/dir/big").c_str(), "user.note", "v1", 2, 0), 0);
  ASSERT_EQ(::chmod((src_ + "/dir").c_str(), 0710), 0);
  SetTime(src_ + "/dir/big", 1000000000, 123456789);
  SetTime(src_ + "/abs-link", 1100000000, 5);
  SetTime(src_ + "/dir/sub", 1200000000, 0);
  SetTime(src_ + "/dir", 1300000000, 42);  // after its children were made

  ASSERT_TRUE(CopyTree(src_, dst_));

  EXPECT_EQ(*ReadFile(dst_ + "/dir/big"), big);
  EXPECT_EQ(Lstat(dst_ + "/dir/big").st_mode & 07777, 0640u);
  EXPECT_EQ(Lstat(dst_ + "/empty").st_mode & 07777, 01751u);
  EXPECT_EQ(Lstat(dst_ + "/dir").st_mode & 07777, 0710u);
  // Hardlinks stay one inode, distinct from the source's.
  EXPECT_EQ(Lstat(dst_ + "/dir/big").st_ino, Lstat(dst_ + "/dir/sub/hard").st_ino);
  EXPECT_NE(Lstat(dst_ + "/dir/big").st_ino, Lstat(src_ + "/dir/big").st_ino);
  EXPECT_EQ(Lstat(dst_ + "/dir/big").st_nlink, 2u);
  // Symlinks copied as links, not followed.
  EXPECT_TRUE(S_ISLNK(Lstat(dst_ + "/abs-link").st_mode));
  EXPECT_EQ(fs::read_symlink(dst_ + "/abs-link"), "/etc/passwd");
  EXPECT_EQ(fs::read_symlink(dst_ + "/dir/sub/rel-link"), "../big");
  EXPECT_TRUE(S_ISFIFO(Lstat(dst_ + "/fifo").st_mode));
  EXPECT_EQ(Lstat(dst_ + "/fifo").st_mode & 07777, 0620u);
  char v[8] = {};
  EXPECT_EQ(::getxattr((dst_ + "/dir/big").c_str(), "user.note", v, sizeof(v)), 2);
  EXPECT_STREQ(v, "v1");
  // Times, including a symlink's and a directory's with children.
  auto big_st = Lstat(dst_ + "/dir/big");
  EXPECT_EQ(big_st.st_mtim.tv_sec, 1000000000);
  EXPECT_EQ(big_st.st_mtim.tv_nsec, 123456789);
  EXPECT_EQ(Lstat(dst_ + "/abs-link").st_mtim.tv_sec, 1100000000);
  EXPECT_EQ(Lstat(dst_ + "/dir/sub").st_mtim.tv_sec, 1200000000);
  EXPECT_EQ(Lstat(dst_ + "/dir").st_mtim.tv_sec, 1300000000);
  EXPECT_EQ(Lstat(dst_ + "/dir").st_mtim.tv_nsec, 42);
  // The copy is independent of the source.
  ASSERT_TRUE(WriteFileAtomic(dst_ + "/empty", "changed"));
  EXPECT_EQ(*ReadFile(src_ + "/empty"), "");
}

TEST_F(CopyTreeTest, PreservesOwnersDevicesAndSetuid) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root for chown and mknod";
  ASSERT_TRUE(WriteFileAtomic(src_ + "/suid", "x", 0755));
  ASSERT_EQ(::chown((src_ + "/suid").c_str(), 1234, 5678), 0);
  ASSERT_EQ(::chmod((src_ + "/suid").c_str(), 04755), 0);
  ASSERT_EQ(::chown((src_ + "/dir").c_str(), 11, 12), 0);
  ASSERT_EQ(::symlink("suid", (src_ + "/link").c_str()), 0);
  ASSERT_EQ(::lchown((src_ + "/link").c_str(), 42, 43), 0);
  ASSERT_EQ(::mknod((src_ + "/null").c_str(), S_IFCHR | 0666, makedev(1, 3)), 0);
  ASSERT_EQ(::chmod((src_ + "/null").c_str(), 0666), 0);
  ASSERT_EQ(::mknod((src_ + "/whiteout").c_str(), S_IFCHR | 0, makedev(0, 0)), 0);
  ASSERT_EQ(::setxattr((src_ + "/dir").c_str(), "trusted.overlay.opaque", "y", 1, 0), 0);

  ASSERT_TRUE(CopyTree(src_, dst_));

  auto suid = Lstat(dst_ + "/suid");
  EXPECT_EQ(suid.st_uid, 1234u);
  EXPECT_EQ(suid.st_gid, 5678u);
  EXPECT_EQ(suid.st_mode & 07777, 04755u);  // chown did not clear it
  EXPECT_EQ(Lstat(dst_ + "/dir").st_uid, 11u);
  EXPECT_EQ(Lstat(dst_ + "/link").st_uid, 42u);
  EXPECT_EQ(Lstat(dst_ + "/link").st_gid, 43u);
  auto null = Lstat(dst_ + "/null");
  EXPECT_TRUE(S_ISCHR(null.st_mode));
  EXPECT_EQ(null.st_rdev, makedev(1, 3));
  EXPECT_EQ(null.st_mode & 07777, 0666u);
  EXPECT_EQ(Lstat(dst_ + "/whiteout").st_rdev, makedev(0, 0));
  char v[4] = {};
  EXPECT_EQ(::getxattr((dst_ + "/dir").c_str(), "trusted.overlay.opaque", v, sizeof(v)), 1);
}

TEST_F(CopyTreeTest, MissingSourceIsNotFound) {
  Status st = CopyTree(tmp_.path() + "/nope", dst_);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::kNotFound);
}

}  // namespace
}  // namespace strata::snapshot
