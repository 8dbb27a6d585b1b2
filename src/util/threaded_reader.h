// ThreadedReader: runs the reading of a stream (and whatever its Reader chain
// does: decompress, hash, tee) on its own thread, handing chunks to Read()
// through a bounded queue, so two stages of one stream use two cores.
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "util/io.h"

namespace strata {

class ThreadedReader : public Reader {
 public:
  // Starts reading `src` at once. Memory stays under depth * chunk bytes.
  // `src` (and everything under it) belongs to the producer thread until
  // Join() returns or the ThreadedReader is destroyed.
  explicit ThreadedReader(Reader& src, size_t chunk = 1 << 20, size_t depth = 4);
  ~ThreadedReader() override;
  ThreadedReader(const ThreadedReader&) = delete;
  ThreadedReader& operator=(const ThreadedReader&) = delete;

  // The producer's bytes in order; its error once the bytes before it are read.
  Result<size_t> Read(void* buf, size_t n) override;
  // Stops the producer (if it is still running) and waits for it. After
  // this, `src` may be used again from the calling thread.
  void Join();

 private:
  struct Chunk {
    std::unique_ptr<char[]> data;
    size_t size = 0;
  };
  void Produce();
  Reader& src_;
  size_t chunk_;
  size_t depth_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Chunk> queue_;
  std::vector<Chunk> free_;  // consumed chunks, reused without reallocating
  std::optional<Error> error_;
  bool eof_ = false;
  bool stop_ = false;
  Chunk cur_;  // consumer's current chunk
  size_t pos_ = 0;
  std::thread thread_;
};

}  // namespace strata
