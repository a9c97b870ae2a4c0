// The keys of a token sequence's full blocks, shared by the prefix caches (prefix_store.h,
// shared_prefix_index.h). Block b covers tokens [b*B, (b+1)*B); its key is
//   key(b) = XXH3-64(token ids of block b, seed = key(b-1)),  key(-1) = 0,
// so a key identifies the whole prefix up to the end of its block.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

namespace silica::cache {

std::vector<uint64_t> prefix_block_keys(std::span<const int32_t> tokens, int64_t block_tokens);

}  // namespace silica::cache
