#include "util/threaded_reader.h"

#include <cstring>

namespace strata {

ThreadedReader::ThreadedReader(Reader& src, size_t chunk, size_t depth)
    : src_(src), chunk_(chunk), depth_(depth) {
  thread_ = std::thread([this] { Produce(); });
}

ThreadedReader::~ThreadedReader() { Join(); }

void ThreadedReader::Join() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ThreadedReader::Produce() {
  for (;;) {
    Chunk c;
    {
      std::lock_guard<std::mutex> l(mu_);
      if (!free_.empty()) {
        c = std::move(free_.back());
        free_.pop_back();
      }
    }
    if (!c.data) c.data = std::make_unique<char[]>(chunk_);
    c.size = 0;
    Result<size_t> got = size_t{0};
    // Fill the chunk (sources may return less than asked) so hand-offs stay few.
    while (c.size < chunk_) {
      got = src_.Read(c.data.get() + c.size, chunk_ - c.size);
      if (!got || *got == 0) break;
      c.size += *got;
    }
    bool last = !got || *got == 0;
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait(l, [&] { return stop_ || queue_.size() < depth_; });
    if (stop_) return;
    if (c.size > 0) queue_.push_back(std::move(c));
    if (last) {
      if (!got) error_ = std::move(got).error();
      eof_ = true;
    }
    l.unlock();
    cv_.notify_all();
    if (last) return;
  }
}

Result<size_t> ThreadedReader::Read(void* buf, size_t n) {
  if (n == 0) return size_t{0};
  if (pos_ == cur_.size) {
    std::unique_lock<std::mutex> l(mu_);
    if (cur_.data) free_.push_back(std::move(cur_));
    cur_ = Chunk{};
    pos_ = 0;
    cv_.wait(l, [&] { return !queue_.empty() || eof_ || stop_; });
    if (queue_.empty()) {
      if (error_) return *error_;
      return size_t{0};
    }
    cur_ = std::move(queue_.front());
    queue_.pop_front();
    l.unlock();
    cv_.notify_all();
  }
  size_t k = std::min(n, cur_.size - pos_);
  std::memcpy(buf, cur_.data.get() + pos_, k);
  pos_ += k;
  return k;
}

}  // namespace strata
