// Values computed once per key: the first caller computes, callers asking for the same key
// meanwhile wait for that result, later ones get it at once (a build's context checksums and
// URL downloads, asked for by stages running in parallel).
#pragma once

#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "util/result.h"

namespace strata {

template <typename V>
class OnceMap {
 public:
  template <typename Compute>
  Result<V> Get(const std::string& key, Compute&& compute) {
    std::shared_future<Result<V>> got;
    std::optional<std::promise<Result<V>>> mine;
    {
      std::lock_guard<std::mutex> l(mu_);
      auto it = map_.find(key);
      if (it == map_.end()) {
        got = mine.emplace().get_future().share();
        map_.emplace(key, got);
      } else {
        got = it->second;
      }
    }
    if (mine) mine->set_value(std::forward<Compute>(compute)());
    return got.get();
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::shared_future<Result<V>>> map_;
};

}  // namespace strata
