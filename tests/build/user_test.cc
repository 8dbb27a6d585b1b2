#include "build/user.h"

#include <gtest/gtest.h>

#include <fstream>

#include "util/fs.h"

namespace strata::build {
namespace {

class UserTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = TempDir::Create("/tmp", "strata-user-");
    ASSERT_TRUE(d);
    dir_ = std::move(*d);
    root_ = dir_.path();
    ASSERT_TRUE(MakeDirs(root_ + "/etc"));
  }
  void Write(const std::string& rel, const std::string& data) {
    std::ofstream(root_ + "/" + rel) << data;
  }
  // The files of conformance experiment g3 (docker 20.10, see tests/testdata/build/copy/README).
  void WriteG3() {
    Write("etc/passwd", "root:x:0:0:root:/root:/bin/sh\nu1:x:100:200::/:/bin/sh\n");
    Write("etc/group", "root:x:0:\ng2:x:300:u1,other\ng1:x:200:\ng3:x:400:other,u1\n");
  }
  TempDir dir_;
  std::string root_;
};

TEST_F(UserTest, RunUserAsDocker) {
  WriteG3();
  // `id` output inside docker 20.10 RUN steps for these USER values.
  EXPECT_EQ(*ResolveUser(root_, "u1"), (Ids{100, 200, {300, 400}}));
  EXPECT_EQ(*ResolveUser(root_, "u1:g2"), (Ids{100, 300, {}}));
  EXPECT_EQ(*ResolveUser(root_, "5000"), (Ids{5000, 0, {}}));
  EXPECT_EQ(*ResolveUser(root_, "0:300"), (Ids{0, 300, {}}));
  EXPECT_EQ(*ResolveUser(root_, "root"), (Ids{0, 0, {}}));
  EXPECT_EQ(*ResolveUser(root_, ""), (Ids{0, 0, {}}));
  EXPECT_EQ(*ResolveUser(root_, "100"), (Ids{100, 200, {300, 400}}));
}

TEST_F(UserTest, RunUserErrorsAsDocker) {
  WriteG3();
  auto r = ResolveUser(root_, "nosuch");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "unable to find user nosuch: no matching entries in passwd file");
  r = ResolveUser(root_, "5:nosuchgroup");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message,
            "unable to find group nosuchgroup: no matching entries in group file");
}

TEST_F(UserTest, MissingPasswdAsDocker2010) {
  // docker 20.10: `RUN rm /etc/passwd` then `USER 5` + RUN fails like this; "0:0" works.
  auto r = ResolveUser(root_, "5");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "unable to find user 5: invalid argument");
  EXPECT_EQ(*ResolveUser(root_, "0:0"), (Ids{0, 0, {}}));
  EXPECT_EQ(*ResolveUser(root_, "7:8"), (Ids{7, 8, {}}));
}

TEST_F(UserTest, PasswdSymlinkStaysInRoot) {
  auto outside = TempDir::Create("/tmp", "strata-user-out-");
  ASSERT_TRUE(outside);
  ASSERT_TRUE(MakeDirs(outside->path() + "/etc"));
  std::ofstream(outside->path() + "/etc/passwd") << "evil:x:666:666::/:/bin/sh\n";
  // An absolute symlink resolves inside the rootfs, not on the host.
  ASSERT_EQ(::symlink((outside->path() + "/etc/passwd").c_str(), (root_ + "/etc/passwd").c_str()),
            0);
  auto r = ResolveUser(root_, "evil");
  EXPECT_FALSE(r);
  r = ResolveChown(root_, "evil");
  EXPECT_FALSE(r);  // the link dangles inside the root: the file is missing
}

TEST_F(UserTest, ChownAsDocker) {
  WriteG3();
  // Results of COPY --chown in docker 20.10 (experiments f10, f11, g3).
  EXPECT_EQ(*ResolveChown(root_, "u1"), (Ids{100, 200, {}}));
  EXPECT_EQ(*ResolveChown(root_, "u1:g2"), (Ids{100, 300, {}}));
  EXPECT_EQ(*ResolveChown(root_, "root:g1"), (Ids{0, 200, {}}));
  EXPECT_EQ(*ResolveChown(root_, "5:g1"), (Ids{5, 200, {}}));
  EXPECT_EQ(*ResolveChown(root_, "7"), (Ids{7, 7, {}}));
  EXPECT_EQ(*ResolveChown(root_, "1001:1002"), (Ids{1001, 1002, {}}));
  EXPECT_EQ(*ResolveChown(root_, "nobody"), (Ids{0, 0, {}}));         // unknown name: 0:0
  EXPECT_EQ(*ResolveChown(root_, "1:nosuchgroup"), (Ids{1, 1, {}}));  // unknown group: kept
}

TEST_F(UserTest, ChownNameNeedsFiles) {
  auto r = ResolveChown(root_, "nosuch");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "open " + root_ + "/etc/passwd: no such file or directory");
  r = ResolveChown(root_, "1:grp");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "open " + root_ + "/etc/group: no such file or directory");
  EXPECT_EQ(*ResolveChown(root_, "3:4"), (Ids{3, 4, {}}));  // numbers need no file
}

}  // namespace
}  // namespace strata::build
