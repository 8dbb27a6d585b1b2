// ThreadedReader hands a producer thread's bytes over in order, passes its
// error on after the bytes before it, and stops a producer still running.
#include "util/threaded_reader.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <random>

namespace strata {
namespace {

// Returns its data in reads of varying sizes, then an error if set.
class ChoppyReader : public Reader {
 public:
  ChoppyReader(std::string data, std::optional<Error> fail = std::nullopt)
      : data_(std::move(data)), fail_(std::move(fail)) {}
  Result<size_t> Read(void* buf, size_t n) override {
    reads++;
    if (pos_ == data_.size()) {
      if (fail_) return *fail_;
      return size_t{0};
    }
    size_t k = std::min({n, data_.size() - pos_, size_t{1} + (pos_ * 7919) % 5000});
    std::memcpy(buf, data_.data() + pos_, k);
    pos_ += k;
    return k;
  }
  std::atomic<int> reads{0};

 private:
  std::string data_;
  std::optional<Error> fail_;
  size_t pos_ = 0;
};

std::string Bytes(size_t n) {
  std::mt19937 g(42);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(g());
  return s;
}

TEST(ThreadedReader, PassesEveryByteInOrder) {
  for (size_t size : {size_t{0}, size_t{1}, size_t{4095}, size_t{300000}}) {
    std::string data = Bytes(size);
    ChoppyReader src(data);
    ThreadedReader r(src, /*chunk=*/4096, /*depth=*/2);
    std::string out;
    char buf[777];
    for (;;) {
      auto k = r.Read(buf, sizeof(buf));
      ASSERT_TRUE(k);
      if (*k == 0) break;
      out.append(buf, *k);
    }
    EXPECT_TRUE(out == data) << size;
    // EOF stays EOF.
    auto again = r.Read(buf, sizeof(buf));
    ASSERT_TRUE(again);
    EXPECT_EQ(*again, 0u);
  }
}

TEST(ThreadedReader, ReportsTheErrorAfterTheBytesBeforeIt) {
  std::string data = Bytes(10000);
  ChoppyReader src(data, DataLoss("connection reset"));
  ThreadedReader r(src, 1024, 2);
  StringWriter w;
  auto n = Copy(r, w);
  ASSERT_FALSE(n);
  EXPECT_EQ(n.error().message, "connection reset");
  EXPECT_TRUE(w.str() == data);
}

TEST(ThreadedReader, JoinStopsAProducerTheConsumerAbandoned) {
  // 32 MB takes a while; the consumer reads one byte and gives up. The
  // producer must stop after filling its bounded queue, not read it all.
  std::string data(32 << 20, 'x');
  ChoppyReader src(data);
  {
    ThreadedReader r(src, 64 << 10, 2);
    char c;
    ASSERT_TRUE(r.Read(&c, 1));
    r.Join();
  }
  EXPECT_LT(src.reads.load(), 1000);
  // After Join the source is the caller's again and continues where it was.
  char buf[16];
  auto k = src.Read(buf, sizeof(buf));
  ASSERT_TRUE(k);
  EXPECT_GT(*k, 0u);
}

}  // namespace
}  // namespace strata
