// ADD <url>'s fetcher against a scripted loopback server: names as dockerfile2llb gives them,
// the file's mode, mtime and digest, and BuildKit's error wording.
#include "engine/http_source.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "digest/digest.h"
#include "registry/test_support.h"

namespace strata::engine {
namespace {

using registry::testing::Reply;
using registry::testing::SeenRequest;
using registry::testing::TestServer;

TEST(HttpSourceTest, FileNameIsTheLastElementOfTheUrlPath) {
  // docker 20.10: hello.txt?x=1&y=2 → hello.txt, dir/ → dir, http://host/ → __unnamed__.
  EXPECT_EQ(HttpSourceFileName("http://h:1/a/hello.txt"), "hello.txt");
  EXPECT_EQ(HttpSourceFileName("http://h/hello.txt?x=1&y=2"), "hello.txt");
  EXPECT_EQ(HttpSourceFileName("https://h/a/dir/"), "dir");
  EXPECT_EQ(HttpSourceFileName("http://h/"), "__unnamed__");
  EXPECT_EQ(HttpSourceFileName("http://h"), "__unnamed__");
  EXPECT_EQ(HttpSourceFileName("http://h?x=/y"), "__unnamed__");
  EXPECT_EQ(HttpSourceFileName("http://h/a%20b.txt#frag"), "a b.txt");  // Go's u.Path is decoded
  EXPECT_EQ(HttpSourceFileName("http://h/x/.."), "__unnamed__");
  EXPECT_EQ(HttpSourceFileName("http://h/bad%zz"), "__unnamed__");  // url.Parse fails
}

TEST(HttpSourceTest, ParsesHttpDates) {
  EXPECT_EQ(ParseHttpDate("Thu, 02 Jan 2020 03:04:05 GMT"), 1577934245);
  EXPECT_EQ(ParseHttpDate("Thursday, 02-Jan-20 03:04:05 GMT"), 1577934245);
  EXPECT_EQ(ParseHttpDate("Thu Jan  2 03:04:05 2020"), 1577934245);
  EXPECT_EQ(ParseHttpDate("yesterday"), std::nullopt);
}

class HttpSourceFetchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto t = TempDir::Create("/tmp", "http-source-test-");
    ASSERT_TRUE(t) << t.error().message;
    tmp_ = std::move(*t);
  }
  TempDir tmp_;
  registry::HttpClient client_;
};

TEST_F(HttpSourceFetchTest, StreamsToA0600FileDatedByLastModified) {
  std::string body(3 << 20, 'x');  // larger than the client's in-memory body limit
  TestServer server([&](const SeenRequest& r) {
    Reply rep;
    if (r.target == "/old/") {
      rep.status = 301;
      rep.headers = {{"Location", "/files/big.bin?sig=1"}};
      return rep;
    }
    rep.headers = {{"Last-Modified", "Thu, 02 Jan 2020 03:04:05 GMT"}};
    rep.body = body;
    return rep;
  });
  auto d = FetchHttpSource(client_, server.url() + "/old/", tmp_.path());
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(d->name, "old");  // named after the URL written, not the redirect's target
  EXPECT_EQ(d->digest, digest::Sha256Of(body));
  EXPECT_EQ(d->size, body.size());
  struct stat st;
  ASSERT_EQ(::stat(d->path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(st.st_mtime, 1577934245);
  EXPECT_EQ(static_cast<size_t>(st.st_size), body.size());
  std::string dir = d->dir.path();
  { HttpDownload gone = std::move(*d); }
  EXPECT_NE(::access(dir.c_str(), F_OK), 0);  // the scratch dir goes with the download
}

TEST_F(HttpSourceFetchTest, NoLastModifiedIsTheEpoch) {
  TestServer server([](const SeenRequest&) { return Reply{200, {}, "listing"}; });
  auto d = FetchHttpSource(client_, server.url() + "/", tmp_.path());
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(d->name, "__unnamed__");
  struct stat st;
  ASSERT_EQ(::stat(d->path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mtime, 0);
}

TEST_F(HttpSourceFetchTest, StopsWhenTheBuildStops) {
  TestServer server([](const SeenRequest&) { return Reply{200, {}, std::string(1 << 20, 'y')}; });
  auto d = FetchHttpSource(client_, server.url() + "/big", tmp_.path(), [] { return true; });
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().code, ErrorCode::kCancelled) << d.error().message;
  EXPECT_TRUE(std::filesystem::is_empty(tmp_.path()));  // nothing of it is left
}

TEST_F(HttpSourceFetchTest, ErrorsInBuildKitsWords) {
  TestServer server([](const SeenRequest&) { return Reply{404, {}, "no"}; });
  auto d = FetchHttpSource(client_, server.url() + "/missing.txt", tmp_.path());
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().message, "invalid response status 404");

  int port = registry::testing::FreePort();
  std::string url = "http://127.0.0.1:" + std::to_string(port) + "/x.txt";
  d = FetchHttpSource(client_, url, tmp_.path());
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().message.rfind("Get \"" + url + "\": ", 0), 0u) << d.error().message;
}

}  // namespace
}  // namespace strata::engine
