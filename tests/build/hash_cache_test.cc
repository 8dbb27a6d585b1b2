#include "build/hash_cache.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <thread>

#include "util/fs.h"

namespace strata::build {
namespace {

class HashCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = TempDir::Create("/tmp", "strata-hashcache-");
    ASSERT_TRUE(d);
    tmp_ = std::move(*d);
    dir_ = UniqueFd(::open(tmp_.path().c_str(), O_RDONLY | O_DIRECTORY));
  }
  void Write(const std::string& name, const std::string& data) {
    std::ofstream(tmp_.path() + "/" + name, std::ios::binary | std::ios::trunc) << data;
  }
  struct stat Stat(const std::string& name) {
    struct stat st {};
    EXPECT_EQ(::fstatat(dir_.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW), 0);
    return st;
  }
  Result<digest::Digest> Get(HashCache& c, const std::string& name) {
    return c.FileDigest(dir_.get(), name.c_str(), tmp_.path() + "/" + name, Stat(name));
  }
  TempDir tmp_;
  UniqueFd dir_;
};

TEST_F(HashCacheTest, DigestIsContentSha256) {
  Write("f", "hello\n");
  HashCache c;
  auto d = Get(c, "f");
  ASSERT_TRUE(d);
  EXPECT_EQ(*d, digest::Sha256Of("hello\n"));
  EXPECT_EQ(c.files_read(), 1u);
}

TEST_F(HashCacheTest, UnchangedFileIsNotReadAfterReload) {
  Write("f", "hello\n");
  {
    auto c = HashCache::Open(tmp_.path() + "/cache");
    ASSERT_TRUE(c);
    ASSERT_TRUE(Get(**c, "f"));
    EXPECT_EQ((*c)->files_read(), 1u);
    ASSERT_TRUE((*c)->Save());
  }
  // A later build (new process): the saved entry answers.
  auto c = HashCache::Open(tmp_.path() + "/cache");
  ASSERT_TRUE(c);
  EXPECT_EQ((*c)->size(), 1u);
  auto d = Get(**c, "f");
  ASSERT_TRUE(d);
  EXPECT_EQ(*d, digest::Sha256Of("hello\n"));
  EXPECT_EQ((*c)->files_read(), 0u);
  // A chmod changes mode and ctime: hashed again.
  ::chmod((tmp_.path() + "/f").c_str(), 0600);
  ASSERT_TRUE(Get(**c, "f"));
  EXPECT_EQ((*c)->files_read(), 1u);
}

TEST_F(HashCacheTest, HitDoesNotOpenTheFile) {
  Write("f", "hello\n");
  HashCache c;
  struct stat st = Stat("f");
  ASSERT_TRUE(c.FileDigest(dir_.get(), "f", tmp_.path() + "/f", st));
  // The same key for a name that no longer exists: answered without opening anything.
  ASSERT_EQ(::rename((tmp_.path() + "/f").c_str(), (tmp_.path() + "/g").c_str()), 0);
  auto d = c.FileDigest(dir_.get(), "f", tmp_.path() + "/f", st);
  ASSERT_TRUE(d);
  EXPECT_EQ(*d, digest::Sha256Of("hello\n"));
  EXPECT_EQ(c.files_read(), 1u);
}

TEST_F(HashCacheTest, SameSizeNewMtimeIsRehashed) {
  Write("f", "aaaa");
  HashCache c;
  auto a = Get(c, "f");
  ASSERT_TRUE(a);
  Write("f", "bbbb");
  struct timespec t[2] = {{2000000000, 5}, {2000000000, 5}};
  ASSERT_EQ(::utimensat(dir_.get(), "f", t, 0), 0);
  auto b = Get(c, "f");
  ASSERT_TRUE(b);
  EXPECT_EQ(*b, digest::Sha256Of("bbbb"));
  EXPECT_EQ(c.files_read(), 2u);
}

TEST_F(HashCacheTest, CorruptFileStartsEmpty) {
  ASSERT_TRUE(MakeDirs(tmp_.path() + "/cache"));
  Write("cache/hashcache", "strata-hashcache-v1\n\x05\x00\x00\x00tru");
  auto c = HashCache::Open(tmp_.path() + "/cache");
  ASSERT_TRUE(c);
  EXPECT_EQ((*c)->size(), 0u);
}

TEST_F(HashCacheTest, ConcurrentLookups) {
  for (int i = 0; i < 64; ++i) Write("f" + std::to_string(i), std::to_string(i));
  HashCache c;
  std::vector<std::thread> threads;
  std::atomic<int> bad{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 64; ++i) {
        std::string n = "f" + std::to_string(i);
        struct stat st {};
        ::fstatat(dir_.get(), n.c_str(), &st, 0);
        auto d = c.FileDigest(dir_.get(), n.c_str(), tmp_.path() + "/" + n, st);
        if (!d || *d != digest::Sha256Of(std::to_string(i))) ++bad;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(c.size(), 64u);
}

}  // namespace
}  // namespace strata::build
