// Early writeback: start flushing written file ranges to disk while work
// goes on, so the fsync/syncfs that makes a blob or snapshot durable finds
// most data already written instead of waiting for all of it at the end.
#pragma once

#include <fcntl.h>

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>

#include "util/unique_fd.h"

namespace strata {

// Non-blocking: queues the range for writeback and returns (errors ignored;
// durability still comes from the later fsync).
inline void StartWriteback(int fd, int64_t offset, int64_t length) {
  if (length > 0) (void)::sync_file_range(fd, offset, length, SYNC_FILE_RANGE_WRITE);
}

inline constexpr int64_t kWritebackChunk = 8 << 20;

// Keeps a file system's writeback going while many small files are written (a layer's
// 20,000 files get no sync_file_range each: that would cost a system call per file on the
// writing thread). After every `batch` bytes reported, a helper thread calls syncfs, so the
// syncfs that makes the result durable at the end finds little left to write; the writer
// never waits for the disk. Errors are ignored: durability still comes from that last syncfs.
class BackgroundFlusher {
 public:
  // fd: any open file of the file system (duplicated). flush: what a batch triggers
  // (default: syncfs on fd).
  explicit BackgroundFlusher(int fd, uint64_t batch = 16 << 20,
                             std::function<void(int)> flush = nullptr);
  ~BackgroundFlusher();
  BackgroundFlusher(const BackgroundFlusher&) = delete;
  BackgroundFlusher& operator=(const BackgroundFlusher&) = delete;

  // Called by the writer; cheap unless a batch is complete.
  void Wrote(uint64_t bytes);

 private:
  void Loop();

  UniqueFd fd_;
  const uint64_t batch_;
  std::function<void(int)> flush_;
  uint64_t pending_ = 0;  // the writer's count since the last wake-up
  std::mutex mu_;
  std::condition_variable cv_;
  bool wake_ = false, stop_ = false;
  std::thread thread_;
};

}  // namespace strata
