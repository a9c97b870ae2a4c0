#include "cache/prefix_keys.h"

#include <xxhash.h>

namespace silica::cache {

std::vector<uint64_t> prefix_block_keys(std::span<const int32_t> tokens, int64_t block_tokens) {
    std::vector<uint64_t> keys;
    const size_t B = static_cast<size_t>(block_tokens);
    uint64_t parent = 0;
    for (size_t b = 0; (b + 1) * B <= tokens.size(); ++b) {
        parent = XXH3_64bits_withSeed(tokens.data() + b * B, B * sizeof(int32_t), parent);
        keys.push_back(parent);
    }
    return keys;
}

}  // namespace silica::cache
