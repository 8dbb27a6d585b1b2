#include "store/metadata.h"

#include <gtest/gtest.h>

#include <thread>

#include "util/fs.h"

namespace strata::store {
namespace {

class MetadataTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto t = TempDir::Create("/tmp", "strata-db-");
    ASSERT_TRUE(t);
    dir_ = std::move(*t);
    auto db = Db::Open(dir_.path() + "/metadata.db");
    ASSERT_TRUE(db) << db.error().message;
    db_ = std::move(*db);
    md_ = std::make_unique<Metadata>(*db_);
  }
  static LayerRecord Layer(const std::string& c, std::optional<std::string> parent) {
    LayerRecord l;
    l.chain_id = c;
    l.diff_id = "d" + c;
    l.parent_chain_id = std::move(parent);
    l.size = 10;
    return l;
  }
  static ImageRecord Image(const std::string& id, std::optional<std::string> top, int64_t created) {
    ImageRecord i;
    i.id = id;
    i.top_chain_id = std::move(top);
    i.created = created;
    return i;
  }
  TempDir dir_;
  std::unique_ptr<Db> db_;
  std::unique_ptr<Metadata> md_;
};

TEST_F(MetadataTest, MigrationsApplyOnceAndRecordVersion) {
  EXPECT_GE(db_->SchemaVersion(), 1);
  int v = db_->SchemaVersion();
  db_.reset();
  auto again = Db::Open(dir_.path() + "/metadata.db");
  ASSERT_TRUE(again);
  EXPECT_EQ((*again)->SchemaVersion(), v);
  auto problems = (*again)->Check();
  ASSERT_TRUE(problems);
  EXPECT_TRUE(problems->empty());
}

// A store made before a migration gets it on its next open, and the migration runs with no
// statement of the runner's own still open (a DROP fails on an open statement).
TEST_F(MetadataTest, OlderStoreIsMigratedOnOpen) {
  ASSERT_TRUE(
      db_->Exec("DROP INDEX tags_image_ref; CREATE INDEX tags_image ON tags(image_id); "
                "PRAGMA user_version=4"));
  md_.reset();
  db_.reset();
  auto again = Db::Open(dir_.path() + "/metadata.db");
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_GE((*again)->SchemaVersion(), 5);
  auto plan =
      (*again)->Prepare("EXPLAIN QUERY PLAN SELECT ref FROM tags WHERE image_id=? ORDER BY ref");
  ASSERT_TRUE(plan);
  std::string detail;
  for (;;) {
    auto row = plan->Step();
    ASSERT_TRUE(row);
    if (!*row) break;
    detail += plan->Text(3) + "\n";
  }
  EXPECT_NE(detail.find("tags_image_ref"), std::string::npos) << detail;
  EXPECT_EQ(detail.find("TEMP B-TREE"), std::string::npos) << detail;
}

TEST_F(MetadataTest, TagsMoveAndReportPrevious) {
  ASSERT_TRUE(md_->PutImage(Image("sha256:aa", std::nullopt, 1)));
  ASSERT_TRUE(md_->PutImage(Image("sha256:bb", std::nullopt, 2)));
  auto prev = md_->SetTag("docker.io/library/x:latest", "sha256:aa");
  ASSERT_TRUE(prev);
  EXPECT_FALSE(prev->has_value());
  prev = md_->SetTag("docker.io/library/x:latest", "sha256:bb");
  ASSERT_TRUE(prev);
  EXPECT_EQ(**prev, "sha256:aa");
  auto list = md_->ListImages();
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].id, "sha256:bb");  // newest first
  EXPECT_EQ((*list)[0].tags, std::vector<std::string>{"docker.io/library/x:latest"});
  EXPECT_TRUE((*list)[1].tags.empty());
}

TEST_F(MetadataTest, UnreferencedLayersChildrenFirst) {
  ASSERT_TRUE(md_->PutLayer(Layer("c1", std::nullopt)));
  ASSERT_TRUE(md_->PutLayer(Layer("c2", "c1")));
  ASSERT_TRUE(md_->PutLayer(Layer("c3", "c2")));
  ASSERT_TRUE(md_->PutLayer(Layer("o1", std::nullopt)));
  ASSERT_TRUE(md_->PutImage(Image("sha256:aa", "c2", 1)));
  auto un = md_->UnreferencedLayers();
  ASSERT_TRUE(un);
  std::vector<std::string> names;
  for (auto& l : *un) names.push_back(l.chain_id);
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"c3", "o1"}));
  ASSERT_TRUE(md_->DeleteImage("sha256:aa"));
  un = md_->UnreferencedLayers();
  ASSERT_TRUE(un);
  ASSERT_EQ(un->size(), 4u);
  // c3 before c2 before c1.
  auto pos = [&](const std::string& c) {
    for (size_t i = 0; i < un->size(); ++i)
      if ((*un)[i].chain_id == c) return i;
    return size_t{99};
  };
  EXPECT_LT(pos("c3"), pos("c2"));
  EXPECT_LT(pos("c2"), pos("c1"));
  auto chain = md_->LayerChain("c3");
  ASSERT_TRUE(chain);
  ASSERT_EQ(chain->size(), 3u);
  EXPECT_EQ((*chain)[2].chain_id, "c1");
}

TEST_F(MetadataTest, BuildCacheKeepsItsLayersAlive) {
  ASSERT_TRUE(md_->PutLayer(Layer("a", std::nullopt)));
  ASSERT_TRUE(md_->PutLayer(Layer("b", "a")));
  CacheRecord c;
  c.key = "sha256:k1";
  c.chain_id = "b";
  c.diff_id = "db";
  c.size = 7;
  c.last_used = 100;  // long ago: a Get refreshes it
  ASSERT_TRUE(md_->PutCache(c));
  auto un = md_->UnreferencedLayers();
  ASSERT_TRUE(un);
  EXPECT_TRUE(un->empty()) << "b and its parent a are reached from the cache row";
  auto got = md_->GetCache("sha256:k1");
  ASSERT_TRUE(got);
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->chain_id, std::optional<std::string>("b"));
  EXPECT_EQ((*got)->diff_id, "db");
  EXPECT_EQ((*got)->size, 7);
  EXPECT_GT((*got)->last_used, 100);
  auto missing = md_->GetCache("sha256:nope");
  ASSERT_TRUE(missing);
  EXPECT_FALSE(missing->has_value());
  auto all = md_->ListCache();
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 1u);
  ASSERT_TRUE(md_->DeleteCache("sha256:k1"));
  un = md_->UnreferencedLayers();
  ASSERT_TRUE(un);
  ASSERT_EQ(un->size(), 2u);
  EXPECT_EQ((*un)[0].chain_id, "b");  // children first
}

TEST_F(MetadataTest, LayerGainsBlobButKeepsRow) {
  ASSERT_TRUE(md_->PutLayer(Layer("c1", std::nullopt)));
  auto l = Layer("c1", std::nullopt);
  l.blob_digest = "sha256:blob";
  l.blob_size = 5;
  ASSERT_TRUE(md_->PutLayer(l));
  auto got = md_->GetLayer("c1");
  ASSERT_TRUE(got && got->has_value());
  EXPECT_EQ((*got)->blob_digest, "sha256:blob");
  EXPECT_EQ((*got)->blob_size, 5);
}

TEST_F(MetadataTest, ConcurrentWritersOnSeparateConnections) {
  std::vector<std::thread> ts;
  std::atomic<int> failures{0};
  for (int t = 0; t < 8; ++t) {
    ts.emplace_back([&, t] {
      auto db = Db::Open(dir_.path() + "/metadata.db");
      if (!db) {
        failures++;
        return;
      }
      Metadata md(**db);
      for (int i = 0; i < 25; ++i) {
        auto tx = (*db)->Begin();
        if (!tx) {
          failures++;
          continue;
        }
        std::string id = "sha256:" + std::to_string(t) + "-" + std::to_string(i);
        if (!md.PutImage(Image(id, std::nullopt, i)) ||
            !md.SetTag("docker.io/library/t" + std::to_string(t) + ":" + std::to_string(i), id) ||
            !tx->Commit()) {
          failures++;
        }
      }
    });
  }
  for (auto& th : ts) th.join();
  EXPECT_EQ(failures.load(), 0);
  auto list = md_->ListImages();
  ASSERT_TRUE(list);
  EXPECT_EQ(list->size(), 200u);
}

}  // namespace
}  // namespace strata::store
