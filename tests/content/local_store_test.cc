#include "content/local_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <thread>

#include "content/paths.h"
#include "util/fs.h"

namespace strata::content {
namespace {

class LocalStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto t = TempDir::Create("/tmp", "strata-content-");
    ASSERT_TRUE(t);
    dir_ = std::move(*t);
    store_ = std::make_unique<LocalStore>(dir_.path());
    ASSERT_TRUE(store_->Init());
  }
  size_t IngestFiles() {
    size_t n = 0;
    for (auto& e : std::filesystem::directory_iterator(IngestDir(dir_.path()))) {
      (void)e;
      ++n;
    }
    return n;
  }
  TempDir dir_;
  std::unique_ptr<LocalStore> store_;
};

TEST_F(LocalStoreTest, PutThenReadVerified) {
  auto d = store_->Put("hello");
  ASSERT_TRUE(d);
  EXPECT_EQ(*d, digest::Sha256Of("hello"));
  EXPECT_TRUE(std::filesystem::exists(dir_.path() + "/content/blobs/sha256/" + d->hex()));
  auto data = store_->ReadBlob(*d);
  ASSERT_TRUE(data);
  EXPECT_EQ(*data, "hello");
  auto info = store_->Stat(*d);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->size, 5u);
  EXPECT_EQ(IngestFiles(), 0u);
}

TEST_F(LocalStoreTest, CommitRejectsWrongDigestAndLeavesNothing) {
  {
    auto w = store_->Ingest();
    ASSERT_TRUE(w);
    ASSERT_TRUE(w->Write(std::string_view("abc")));
    auto r = w->Commit(digest::Sha256Of("abd"));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::kDataLoss);
    EXPECT_NE(r.error().message.find("digest mismatch"), std::string::npos);
  }
  EXPECT_EQ(IngestFiles(), 0u);
  EXPECT_FALSE(store_->Exists(digest::Sha256Of("abc")));
}

TEST_F(LocalStoreTest, CommitRejectsWrongSize) {
  auto w = store_->Ingest();
  ASSERT_TRUE(w);
  ASSERT_TRUE(w->Write(std::string_view("abc")));
  auto r = w->Commit({}, 4);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("size mismatch"), std::string::npos);
}

TEST_F(LocalStoreTest, AbandonedIngestIsRemoved) {
  {
    auto w = store_->Ingest();
    ASSERT_TRUE(w);
    ASSERT_TRUE(w->Write(std::string_view("partial")));
    EXPECT_EQ(IngestFiles(), 1u);
  }
  EXPECT_EQ(IngestFiles(), 0u);
}

TEST_F(LocalStoreTest, VerifiedReaderDetectsCorruption) {
  auto d = store_->Put("good data");
  ASSERT_TRUE(d);
  std::string path = store_->BlobPath(*d);
  ASSERT_TRUE(WriteFileAtomic(path, "evil data"));
  auto data = store_->ReadBlob(*d);
  ASSERT_FALSE(data);
  EXPECT_EQ(data.error().code, ErrorCode::kDataLoss);
  auto raw = store_->Open(*d, /*verify=*/false);
  ASSERT_TRUE(raw);
}

TEST_F(LocalStoreTest, MissingBlobIsNotFound) {
  auto r = store_->Open(digest::Sha256Of("nope"), true);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
}

TEST_F(LocalStoreTest, WalkAndDelete) {
  ASSERT_TRUE(store_->Put("a"));
  ASSERT_TRUE(store_->Put("bb"));
  ASSERT_TRUE(WriteFileAtomic(dir_.path() + "/content/blobs/sha256/not-a-digest", "x"));
  std::map<std::string, uint64_t> seen;
  ASSERT_TRUE(store_->Walk([&](const Info& i) { seen[i.digest.str()] = i.size; }));
  EXPECT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[digest::Sha256Of("bb").str()], 2u);
  ASSERT_TRUE(store_->Delete(digest::Sha256Of("a")));
  EXPECT_FALSE(store_->Exists(digest::Sha256Of("a")));
  EXPECT_TRUE(store_->Delete(digest::Sha256Of("a")));  // idempotent
}

TEST_F(LocalStoreTest, ConcurrentIngestOfSameBlob) {
  std::string big(1 << 20, 'z');
  std::vector<std::thread> ts;
  std::atomic<int> ok{0};
  for (int i = 0; i < 8; ++i) {
    ts.emplace_back([&] {
      auto w = store_->Ingest();
      if (!w) return;
      if (!w->Write(std::string_view(big))) return;
      if (w->Commit(digest::Sha256Of(big))) ok++;
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(ok.load(), 8);
  auto data = store_->ReadBlob(digest::Sha256Of(big), 2 << 20);
  ASSERT_TRUE(data);
  EXPECT_EQ(data->size(), big.size());
  EXPECT_EQ(IngestFiles(), 0u);
}

}  // namespace
}  // namespace strata::content
