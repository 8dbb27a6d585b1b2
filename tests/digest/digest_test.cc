#include "digest/digest.h"

#include <gtest/gtest.h>

#include "digest/hasher.h"

namespace strata::digest {
namespace {

TEST(DigestTest, ParsesSha256) {
  auto d = Digest::Parse("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->algorithm(), "sha256");
  EXPECT_EQ(d->Short(), "e3b0c44298fc");
}

TEST(DigestTest, RejectsMalformed) {
  for (const char* s :
       {"", "sha256", "sha256:", "sha256:abc", "md5:d41d8cd98f00b204e9800998ecf8427e",
        "sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
        ":e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85g"}) {
    auto d = Digest::Parse(s);
    EXPECT_FALSE(d) << s;
    if (!d) {
      EXPECT_EQ(d.error().code, ErrorCode::kInvalidArgument);
    }
  }
  auto d = Digest::Parse("md5:abc");
  ASSERT_FALSE(d);
  EXPECT_NE(d.error().message.find("unsupported algorithm"), std::string::npos);
}

TEST(DigestTest, Sha256OfMatchesKnownVectors) {
  EXPECT_EQ(Sha256Of("").str(),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Of("abc").hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(HasherTest, StreamingEqualsOneShot) {
  std::string data(100000, 'x');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 31);
  StringReader sr(data);
  HashingReader hr(sr);
  CountingWriter cw;
  ASSERT_TRUE(Copy(hr, cw));
  EXPECT_EQ(hr.Sum(), Sha256Of(data));
  EXPECT_EQ(hr.size(), data.size());
  HashingWriter hw;
  ASSERT_TRUE(hw.Write(data.substr(0, 5)));
  ASSERT_TRUE(hw.Write(data.substr(5)));
  EXPECT_EQ(hw.Sum(), Sha256Of(data));
}

}  // namespace
}  // namespace strata::digest
