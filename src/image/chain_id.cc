#include "image/chain_id.h"

namespace strata::image {

std::vector<digest::Digest> ChainIds(const std::vector<digest::Digest>& diff_ids) {
  std::vector<digest::Digest> out;
  out.reserve(diff_ids.size());
  for (const auto& id : diff_ids) {
    if (out.empty()) {
      out.push_back(id);
    } else {
      out.push_back(digest::Sha256Of(out.back().str() + " " + id.str()));
    }
  }
  return out;
}

digest::Digest ChainId(const std::vector<digest::Digest>& diff_ids) {
  if (diff_ids.empty()) return {};
  return ChainIds(diff_ids).back();
}

}  // namespace strata::image
