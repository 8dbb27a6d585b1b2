#include "util/writeback.h"

#include <fcntl.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace strata {
namespace {

// A flush runs once per completed batch, on the helper thread, and the destructor waits for
// it; bytes short of a batch trigger nothing.
TEST(BackgroundFlusher, FlushesOncePerBatchOffTheWritingThread) {
  UniqueFd dir(::open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  ASSERT_TRUE(dir);
  std::atomic<int> flushes{0};
  std::atomic<bool> other_thread{true};
  const auto writer = std::this_thread::get_id();
  {
    BackgroundFlusher f(dir.get(), 100, [&](int fd) {
      EXPECT_GE(fd, 0);
      if (std::this_thread::get_id() == writer) other_thread = false;
      ++flushes;
    });
    f.Wrote(60);
    f.Wrote(30);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_EQ(flushes.load(), 0);
    f.Wrote(20);  // 110: one batch
    for (int i = 0; i < 200 && flushes.load() == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    EXPECT_EQ(flushes.load(), 1);
  }
  EXPECT_TRUE(other_thread.load());
  EXPECT_EQ(flushes.load(), 1);
}

}  // namespace
}  // namespace strata
