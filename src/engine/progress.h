// Per-layer progress of pull and push, as docker's jsonmessage stream carries it,
// and the lock that lets several transfer threads report through one callback.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>

namespace strata::engine {

// One progress event: `id` names the layer (short digest; "" for whole-image
// lines), `status` is docker's word for the stage, current/total are bytes
// while data moves.
struct LayerProgress {
  std::string id;
  std::string status;
  uint64_t current = 0;
  uint64_t total = 0;
};

// Serializes callbacks from the transfer threads.
class ProgressOut {
 public:
  explicit ProgressOut(const std::function<void(const LayerProgress&)>& fn) : fn_(fn) {}
  void Emit(const std::string& id, const std::string& status, uint64_t cur = 0,
            uint64_t total = 0) {
    if (!fn_) return;
    std::lock_guard lk(mu_);
    fn_(LayerProgress{id, status, cur, total});
  }

 private:
  const std::function<void(const LayerProgress&)>& fn_;
  std::mutex mu_;
};

}  // namespace strata::engine
