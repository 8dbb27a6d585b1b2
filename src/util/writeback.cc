#include "util/writeback.h"

#include <fcntl.h>
#include <unistd.h>

namespace strata {

BackgroundFlusher::BackgroundFlusher(int fd, uint64_t batch, std::function<void(int)> flush)
    : fd_(::fcntl(fd, F_DUPFD_CLOEXEC, 0)), batch_(batch), flush_(std::move(flush)) {
  if (!flush_) flush_ = [](int f) { (void)::syncfs(f); };
  if (fd_) thread_ = std::thread([this] { Loop(); });
}

BackgroundFlusher::~BackgroundFlusher() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void BackgroundFlusher::Wrote(uint64_t bytes) {
  pending_ += bytes;
  if (pending_ < batch_ || !fd_) return;
  pending_ = 0;
  {
    std::lock_guard<std::mutex> l(mu_);
    wake_ = true;
  }
  cv_.notify_one();
}

void BackgroundFlusher::Loop() {
  std::unique_lock<std::mutex> l(mu_);
  for (;;) {
    cv_.wait(l, [this] { return wake_ || stop_; });
    if (stop_) return;
    wake_ = false;
    l.unlock();
    flush_(fd_.get());
    l.lock();
  }
}

}  // namespace strata
