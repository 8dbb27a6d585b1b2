#include "build/context.h"

#include <gtest/gtest.h>

#include <fstream>

#include "util/fs.h"

namespace strata::build {
namespace {

class ContextTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = TempDir::Create("/tmp", "strata-context-");
    ASSERT_TRUE(d);
    tmp_ = std::move(*d);
    ctx_ = tmp_.path() + "/ctx";
    ASSERT_TRUE(MakeDirs(ctx_ + "/sub"));
  }
  void Write(const std::string& rel, const std::string& data) {
    std::ofstream(ctx_ + "/" + rel) << data;
  }
  TempDir tmp_;
  std::string ctx_;
};

TEST_F(ContextTest, DockerignoreFiltersButDockerfileStaysReadable) {
  Write("Dockerfile", "FROM scratch\n");
  Write(".dockerignore", "# c\nDockerfile\n.dockerignore\n*.log\n!keep.log\n");
  auto c = Context::Open(ctx_, "", nullptr);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->ignore_file(), ctx_ + "/.dockerignore");
  EXPECT_EQ(c->ignore_patterns(),
            (std::vector<std::string>{"Dockerfile", ".dockerignore", "*.log", "!keep.log"}));
  EXPECT_FALSE(c->Includes("Dockerfile"));
  EXPECT_FALSE(c->Includes(".dockerignore"));
  EXPECT_FALSE(c->Includes("a.log"));
  EXPECT_TRUE(c->Includes("keep.log"));
  EXPECT_TRUE(c->Includes("sub/a.log"));  // "*.log" is anchored at the root
  auto text = c->ReadDockerfile();
  ASSERT_TRUE(text);
  EXPECT_EQ(*text, "FROM scratch\n");
  EXPECT_TRUE(c->Source().is_context);
  EXPECT_NE(c->Source().ignore, nullptr);
}

TEST_F(ContextTest, PerDockerfileIgnoreWins) {
  Write(".dockerignore", "a\n");
  ASSERT_TRUE(MakeDirs(tmp_.path() + "/df"));
  std::ofstream(tmp_.path() + "/df/build.Dockerfile") << "FROM scratch\n";
  std::ofstream(tmp_.path() + "/df/build.Dockerfile.dockerignore") << "b\n";
  auto c = Context::Open(ctx_, tmp_.path() + "/df/build.Dockerfile", nullptr);
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->Includes("a"));
  EXPECT_FALSE(c->Includes("b"));
  EXPECT_EQ(*c->ReadDockerfile(), "FROM scratch\n");
}

TEST_F(ContextTest, NoIgnoreFile) {
  auto c = Context::Open(ctx_ + "/", "", nullptr);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->dir(), ctx_);
  EXPECT_EQ(c->ignore_file(), "");
  EXPECT_EQ(c->Source().ignore, nullptr);
  EXPECT_TRUE(c->Includes("anything"));
  EXPECT_FALSE(c->ReadDockerfile());
}

TEST_F(ContextTest, BadPatternAndMissingDir) {
  Write(".dockerignore", "[\n");
  EXPECT_FALSE(Context::Open(ctx_, "", nullptr));
  auto r = Context::Open(tmp_.path() + "/nope", "", nullptr);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
}

}  // namespace
}  // namespace strata::build
