#include "content/local_store.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
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

TEST_F(LocalStoreTest, PartialSurvivesItsWriterAndResumesAtItsEnd) {
  std::string blob = "0123456789abcdefghij";
  digest::Digest d = digest::Sha256Of(blob);
  {
    auto p = store_->OpenPartial(d);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->offset(), 0u);
    ASSERT_TRUE(p->Write(std::string_view(blob).substr(0, 7)));
  }  // dropped uncommitted: an interrupted download
  EXPECT_EQ(ReadFile(PartialPath(dir_.path(), d)).value_or(""), blob.substr(0, 7));
  auto p = store_->OpenPartial(d);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->offset(), 7u);
  ASSERT_TRUE(p->HashFromStart());
  ASSERT_TRUE(p->Write(std::string_view(blob).substr(7)));
  auto got = p->Commit(static_cast<int64_t>(blob.size()));
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ(*got, d);
  EXPECT_EQ(store_->ReadBlob(d).value_or(""), blob);
  EXPECT_EQ(IngestFiles(), 0u);
}

TEST_F(LocalStoreTest, PartialWhoseBytesMissTheDigestIsRefused) {
  std::string blob = "the real content";
  digest::Digest d = digest::Sha256Of(blob);
  {
    auto p = store_->OpenPartial(d);
    ASSERT_TRUE(p);
    ASSERT_TRUE(p->Write(std::string_view("THE")));  // not what the blob starts with
  }
  auto p = store_->OpenPartial(d);
  ASSERT_TRUE(p);
  ASSERT_TRUE(p->HashFromStart());
  ASSERT_TRUE(p->Write(std::string_view(blob).substr(3)));
  auto got = p->Commit(static_cast<int64_t>(blob.size()));
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code, ErrorCode::kDataLoss);
  EXPECT_FALSE(store_->Exists(d));
  // Discard starts it over, in place.
  ASSERT_TRUE(p->Discard());
  EXPECT_EQ(p->offset(), 0u);
  ASSERT_TRUE(p->Write(std::string_view(blob)));
  ASSERT_TRUE(p->Commit(static_cast<int64_t>(blob.size())));
  EXPECT_EQ(store_->ReadBlob(d).value_or(""), blob);
}

TEST_F(LocalStoreTest, PartialInUseIsAConflictAndIsNotCleaned) {
  digest::Digest d = digest::Sha256Of("x");
  auto p = store_->OpenPartial(d);
  ASSERT_TRUE(p);
  auto q = store_->OpenPartial(d);
  ASSERT_FALSE(q);
  EXPECT_EQ(q.error().code, ErrorCode::kConflict);
  // Old as it may be, a partial a running process holds stays.
  struct timespec old[2] = {{0, UTIME_OMIT}, {::time(nullptr) - 3 * 86400, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, p->path().c_str(), old, 0), 0);
  ASSERT_TRUE(store_->CleanIngest(0, 0));
  EXPECT_TRUE(std::filesystem::exists(p->path()));
}

TEST_F(LocalStoreTest, CleanIngestKeepsFreshPartialsAndRemovesStaleOnes) {
  digest::Digest fresh = digest::Sha256Of("fresh"), stale = digest::Sha256Of("stale");
  for (const auto& d : {fresh, stale}) {
    auto p = store_->OpenPartial(d);
    ASSERT_TRUE(p);
    ASSERT_TRUE(p->Write(std::string_view("abc")));
  }
  // A crash leftover of an ordinary ingest goes at once; partials wait a day for a resume.
  auto w = store_->Ingest();
  ASSERT_TRUE(w);
  std::string leftover = IngestDir(dir_.path()) + "/leftover";
  std::ofstream(leftover) << "x";
  struct timespec old[2] = {{0, UTIME_OMIT}, {::time(nullptr) - kPartialMaxAgeSeconds - 60, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, PartialPath(dir_.path(), stale).c_str(), old, 0), 0);
  ASSERT_TRUE(store_->CleanIngest(0));
  EXPECT_TRUE(std::filesystem::exists(PartialPath(dir_.path(), fresh)));
  EXPECT_FALSE(std::filesystem::exists(PartialPath(dir_.path(), stale)));
  EXPECT_FALSE(std::filesystem::exists(leftover));
  // system prune's age: every partial nobody holds.
  ASSERT_TRUE(store_->CleanIngest(0, 0));
  EXPECT_FALSE(std::filesystem::exists(PartialPath(dir_.path(), fresh)));
}

}  // namespace
}  // namespace strata::content
