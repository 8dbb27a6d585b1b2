// Parallel compression for push: independent gzip members / zstd frames that every reader
// decodes back to the input, the same bytes whatever the thread count, bounded buffering.
#include "engine/push.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include "archive/compression.h"
#include "digest/digest.h"

namespace strata::engine {
namespace {

// Text-like bytes (compressible) with some noise.
std::string Data(size_t n) {
  std::string s;
  uint32_t x = 99;
  while (s.size() < n) {
    x = x * 1103515245 + 12345;
    s += "line " + std::to_string(x % 1000) + " of the layer, with words\n";
    if (x % 7 == 0) s += std::string(1, static_cast<char>(x >> 24));
  }
  s.resize(n);
  return s;
}

std::string CompressAll(const std::string& in, archive::Compression c, int threads,
                        size_t block = 1 << 20, digest::Digest* d = nullptr) {
  CompressPool pool(threads);
  StringReader src(in);
  ParallelCompressReader z(src, pool, c, -1, block);
  StringWriter w;
  auto n = Copy(z, w);
  EXPECT_TRUE(n) << n.error().message;
  if (d != nullptr) *d = z.Digest();
  EXPECT_EQ(z.size(), w.str().size());
  return w.take();
}

std::string Decompress(const std::string& z) {
  StringReader r(z);
  auto dec = archive::NewDecompressingReader(r);
  EXPECT_TRUE(dec);
  StringWriter w;
  auto n = Copy(**dec, w);
  EXPECT_TRUE(n) << n.error().message;
  return w.take();
}

// zlib's own multi-member gunzip, independent of strata's ISA-L reader.
std::string ZlibGunzip(const std::string& z) {
  std::string out;
  z_stream s{};
  inflateInit2(&s, 15 + 32);
  s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(z.data()));
  s.avail_in = static_cast<uInt>(z.size());
  char buf[65536];
  for (;;) {
    s.next_out = reinterpret_cast<Bytef*>(buf);
    s.avail_out = sizeof buf;
    int rc = inflate(&s, Z_NO_FLUSH);
    out.append(buf, sizeof buf - s.avail_out);
    if (rc == Z_STREAM_END) {
      if (s.avail_in == 0) break;
      inflateReset(&s);  // next member
      continue;
    }
    if (rc != Z_OK) {
      ADD_FAILURE() << "zlib inflate " << rc;
      break;
    }
  }
  inflateEnd(&s);
  return out;
}

TEST(ParallelCompressTest, GzipMembersDecodeToTheInput) {
  std::string in = Data(5 << 20 | 12345);
  digest::Digest d;
  std::string z = CompressAll(in, archive::Compression::kGzip, 2, 1 << 20, &d);
  EXPECT_EQ(d, digest::Sha256Of(z));
  EXPECT_LT(z.size(), in.size() / 2);
  EXPECT_EQ(Decompress(z), in);
  EXPECT_EQ(ZlibGunzip(z), in);
}

TEST(ParallelCompressTest, SameBytesWhateverTheThreads) {
  std::string in = Data(3 << 20);
  std::string one = CompressAll(in, archive::Compression::kGzip, 1, 256 << 10);
  std::string three = CompressAll(in, archive::Compression::kGzip, 3, 256 << 10);
  EXPECT_EQ(one, three);
  std::string z1 = CompressAll(in, archive::Compression::kZstd, 1, 256 << 10);
  std::string z3 = CompressAll(in, archive::Compression::kZstd, 3, 256 << 10);
  EXPECT_EQ(z1, z3);
  EXPECT_EQ(Decompress(z1), in);
}

TEST(ParallelCompressTest, EmptyAndTinyInputs) {
  for (size_t n : {size_t{0}, size_t{1}, size_t{4096}}) {
    std::string in = Data(n);
    std::string z = CompressAll(in, archive::Compression::kGzip, 2);
    ASSERT_FALSE(z.empty()) << n;  // an empty layer is still a valid gzip stream
    EXPECT_EQ(ZlibGunzip(z), in) << n;
  }
}

// A source that fails mid-way: the error reaches the reader of the compressed stream.
class FailingReader : public Reader {
 public:
  Result<size_t> Read(void* buf, size_t n) override {
    if (given_ >= (3 << 20)) return DataLoss("layer verification failed");
    size_t k = std::min<size_t>(n, 65536);
    std::memset(buf, 'a', k);
    given_ += k;
    return k;
  }

 private:
  size_t given_ = 0;
};

TEST(ParallelCompressTest, SourceErrorsPropagate) {
  CompressPool pool(2);
  FailingReader src;
  ParallelCompressReader z(src, pool, archive::Compression::kGzip, -1);
  CountingWriter w;
  auto n = Copy(z, w);
  ASSERT_FALSE(n);
  EXPECT_EQ(n.error().code, ErrorCode::kDataLoss);
}

}  // namespace
}  // namespace strata::engine
