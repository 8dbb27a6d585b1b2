#include "image/chain_id.h"

#include <gtest/gtest.h>

namespace strata::image {
namespace {

digest::Digest D(const char* s) { return *digest::Digest::Parse(s); }

// Expected values computed independently (Python hashlib) from the OCI definition:
// ChainID(L0) = DiffID(L0); ChainID(L0|…|Ln) = sha256(ChainID(L0|…|Ln-1) + " " + DiffID(Ln)).
TEST(ChainIdTest, KnownVectors) {
  std::vector<digest::Digest> diff_ids = {digest::Sha256Of("layer0"), digest::Sha256Of("layer1"),
                                          digest::Sha256Of("layer2")};
  ASSERT_EQ(diff_ids[0].str(),
            "sha256:4fbec69b941195fd56f8212a5000e304129451d82efca94ff0e0fb2d5355472e");
  auto ids = ChainIds(diff_ids);
  ASSERT_EQ(ids.size(), 3u);
  EXPECT_EQ(ids[0], diff_ids[0]);
  EXPECT_EQ(ids[1], D("sha256:ef232af0eb422cdfd7917631657cd8ed2bfd5b9461b37c427aa0d3e0a19adf79"));
  EXPECT_EQ(ids[2], D("sha256:7ad3896338947cc04ee0b35b50d400ff32538d63f42f85ec87feac78bf71a54d"));
  EXPECT_EQ(ChainId(diff_ids), ids[2]);
}

TEST(ChainIdTest, SingleAndEmpty) {
  auto one = digest::Sha256Of("x");
  EXPECT_EQ(ChainId({one}), one);
  EXPECT_TRUE(ChainId({}).empty());
  EXPECT_TRUE(ChainIds({}).empty());
}

TEST(ChainIdTest, OrderMatters) {
  auto a = digest::Sha256Of("a"), b = digest::Sha256Of("b");
  EXPECT_NE(ChainId({a, b}), ChainId({b, a}));
  EXPECT_EQ(ChainId({a, b}), digest::Sha256Of(a.str() + " " + b.str()));
}

}  // namespace
}  // namespace strata::image
