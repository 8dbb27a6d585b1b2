#include "archive/compression.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <random>
#include <string>

#include "util/fs.h"

namespace strata::archive {
namespace {

std::string Payload(size_t n, unsigned seed = 1) {
  // Half random, half repetitive: compressible, but not trivially.
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i)
    s[i] = (i / 4096) % 2 ? static_cast<char>(rng()) : "abcdefgh"[i % 8];
  return s;
}

// Reads in small, odd-sized chunks to exercise the streaming paths.
Result<std::string> ReadAllSmall(Reader& r) {
  std::string out;
  char buf[777];
  for (;;) {
    STRATA_ASSIGN_OR_RETURN(size_t n, r.Read(buf, sizeof(buf)));
    if (n == 0) return out;
    out.append(buf, n);
  }
}

Result<std::string> Decompress(const std::string& data, Compression* c = nullptr) {
  StringReader sr(data);
  STRATA_ASSIGN_OR_RETURN(auto r, NewDecompressingReader(sr, c));
  return ReadAllSmall(*r);
}

std::string Compress(const std::string& data, Compression c, int level = -1) {
  StringWriter sw;
  auto w = NewCompressingWriter(sw, c, level);
  EXPECT_TRUE(w.has_value());
  // Several writes, to exercise continuation.
  for (size_t off = 0; off < data.size(); off += 100000) {
    EXPECT_TRUE((*w)->Write(data.data() + off, std::min<size_t>(100000, data.size() - off)));
  }
  EXPECT_TRUE((*w)->Close());
  return sw.take();
}

// Runs `cmd` with `in` on stdin, returning stdout.
std::string Pipe(const std::string& cmd, const std::string& in) {
  auto dir = TempDir::Create("/tmp", "strata-comp-");
  std::string inpath = dir->path() + "/in", outpath = dir->path() + "/out";
  EXPECT_TRUE(WriteFileAtomic(inpath, in));
  EXPECT_EQ(std::system((cmd + " < " + inpath + " > " + outpath).c_str()), 0) << cmd;
  return ReadFile(outpath, 1 << 30).value_or("");
}

TEST(Compression, DetectsByMagic) {
  EXPECT_EQ(DetectCompression(std::string("\x1f\x8b\x08\x00", 4)), Compression::kGzip);
  EXPECT_EQ(DetectCompression("\x28\xb5\x2f\xfd\x00"), Compression::kZstd);
  EXPECT_EQ(DetectCompression("BZh91AY"), Compression::kBzip2);
  EXPECT_EQ(DetectCompression(std::string("\xfd"
                                          "7zXZ\x00\x00",
                                          7)),
            Compression::kXz);
  EXPECT_EQ(DetectCompression("ustar"), Compression::kNone);
  EXPECT_EQ(DetectCompression(""), Compression::kNone);
  EXPECT_EQ(DetectCompression("\x1f"), Compression::kNone);
}

TEST(Compression, PlainPassesThrough) {
  std::string data = Payload(300000);
  Compression c;
  auto out = Decompress(data, &c);
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_EQ(c, Compression::kNone);
  EXPECT_EQ(*out, data);
  auto empty = Decompress("");
  ASSERT_TRUE(empty);
  EXPECT_EQ(*empty, "");
}

TEST(Compression, GzipRoundTripAllLevels) {
  std::string data = Payload(3 << 20);
  for (int level = 0; level <= 3; ++level) {
    std::string gz = Compress(data, Compression::kGzip, level);
    ASSERT_LT(gz.size(), data.size()) << level;
    Compression c;
    auto out = Decompress(gz, &c);
    ASSERT_TRUE(out) << out.error().message;
    EXPECT_EQ(c, Compression::kGzip);
    EXPECT_EQ(*out, data) << level;
    // GNU gzip reads what ISA-L writes.
    EXPECT_EQ(Pipe("gzip -dc", gz), data) << level;
  }
  StringWriter sw;
  EXPECT_FALSE(NewCompressingWriter(sw, Compression::kGzip, 9));
}

TEST(Compression, GzipIsDeterministic) {
  std::string data = Payload(500000);
  EXPECT_EQ(Compress(data, Compression::kGzip), Compress(data, Compression::kGzip));
}

TEST(Compression, ReadsGnuGzipWithNameAndConcatenatedMembers) {
  std::string a = Payload(200000, 2), b = Payload(150000, 3);
  // gzip -c on a named file stores FNAME in the header.
  std::string ga = Pipe("gzip -9c", a), gb = Compress(b, Compression::kGzip);
  auto out = Decompress(ga + gb);
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_EQ(*out, a + b);
  // An empty member in the middle is fine too.
  auto out2 = Decompress(ga + Compress("", Compression::kGzip) + gb);
  ASSERT_TRUE(out2) << out2.error().message;
  EXPECT_EQ(*out2, a + b);
}

TEST(Compression, GzipTruncatedIsUnexpectedEof) {
  std::string gz = Compress(Payload(400000), Compression::kGzip);
  for (size_t cut : {size_t{5}, size_t{12}, gz.size() / 2, gz.size() - 4, gz.size() - 1}) {
    auto out = Decompress(gz.substr(0, cut));
    ASSERT_FALSE(out) << cut;
    EXPECT_EQ(out.error().code, ErrorCode::kDataLoss);
    EXPECT_NE(out.error().message.find("unexpected EOF"), std::string::npos)
        << cut << ": " << out.error().message;
  }
}

TEST(Compression, GzipCorruptIsAnError) {
  std::string gz = Compress(Payload(100000), Compression::kGzip);
  std::string bad_header = gz;
  bad_header[2] = 7;  // compression method other than deflate
  auto r1 = Decompress(bad_header);
  ASSERT_FALSE(r1);
  EXPECT_NE(r1.error().message.find("invalid gzip header"), std::string::npos)
      << r1.error().message;

  std::string bad_crc = gz;
  bad_crc[bad_crc.size() - 6] ^= 0x55;  // CRC32 in the trailer
  auto r2 = Decompress(bad_crc);
  ASSERT_FALSE(r2);
  EXPECT_NE(r2.error().message.find("checksum"), std::string::npos) << r2.error().message;

  std::string garbage = gz + "garbage!";
  EXPECT_FALSE(Decompress(garbage));
}

TEST(Compression, ZstdRoundTripAndInterop) {
  std::string data = Payload(2 << 20);
  std::string zs = Compress(data, Compression::kZstd);
  Compression c;
  auto out = Decompress(zs, &c);
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_EQ(c, Compression::kZstd);
  EXPECT_EQ(*out, data);
  EXPECT_EQ(Pipe("zstd -dc", zs), data);
  // Frames written by the zstd tool, concatenated.
  auto two = Decompress(Pipe("zstd -c -q", "first ") + Pipe("zstd -c -q", "second"));
  ASSERT_TRUE(two) << two.error().message;
  EXPECT_EQ(*two, "first second");
}

TEST(Compression, ZstdTruncatedAndCorrupt) {
  std::string zs = Compress(Payload(500000), Compression::kZstd);
  auto t = Decompress(zs.substr(0, zs.size() / 2));
  ASSERT_FALSE(t);
  EXPECT_NE(t.error().message.find("unexpected EOF"), std::string::npos) << t.error().message;
  std::string bad = zs;
  for (size_t i = 20; i < 60; ++i) bad[i] ^= 0x5a;
  auto c = Decompress(bad);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, ErrorCode::kDataLoss);
}

TEST(Compression, Bzip2AndXzThroughLibarchive) {
  std::string data = Payload(700000);
  Compression c;
  auto bz = Decompress(Pipe("bzip2 -c", data), &c);
  ASSERT_TRUE(bz) << bz.error().message;
  EXPECT_EQ(c, Compression::kBzip2);
  EXPECT_EQ(*bz, data);
  auto xz = Decompress(Pipe("xz -c", data), &c);
  ASSERT_TRUE(xz) << xz.error().message;
  EXPECT_EQ(c, Compression::kXz);
  EXPECT_EQ(*xz, data);
  std::string xzs = Pipe("xz -c", data);
  EXPECT_FALSE(Decompress(xzs.substr(0, xzs.size() / 2)));
  std::string bzs = Pipe("bzip2 -c", data);
  EXPECT_FALSE(Decompress(bzs.substr(0, bzs.size() / 2)));
}

}  // namespace
}  // namespace strata::archive
