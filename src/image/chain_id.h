// ChainID: the identity of a stack of layers (OCI config.md "Layer ChainID"), which names
// snapshots: ChainID(L0) = DiffID(L0), ChainID(L0..Ln) = sha256(ChainID(L0..Ln-1) + " " +
// DiffID(Ln)), digests written as "sha256:<hex>".
#pragma once

#include <vector>

#include "digest/digest.h"

namespace strata::image {

// ChainID of the whole stack; an empty Digest for no layers.
digest::Digest ChainId(const std::vector<digest::Digest>& diff_ids);
// ChainIDs of every prefix: result[i] = ChainID(diff_ids[0..i]).
std::vector<digest::Digest> ChainIds(const std::vector<digest::Digest>& diff_ids);

}  // namespace strata::image
