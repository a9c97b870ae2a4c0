// Causal attention of one token against the KV cache, for the query heads that share one KV head
// (grouped-query attention). Supports a sliding window and per-head "sink" logits that join the
// softmax without contributing a value (GPT-OSS).
#pragma once
#include <cstdint>
#include <vector>

#include "cache/kv_cache.h"

namespace silica::cache {

struct AttentionSpec {
    float scale = 1.0f;            // multiplies q·k
    int64_t window = 0;            // 0: full causal attention; else keys with pos_q - pos_k < window
    const float* sinks = nullptr;  // per query head of this group (n_group values), or null
};

// q and out: n_group query heads of head_dim floats each (contiguous). Keys at positions
// [first visible .. pos] must already be stored in `kv` for this layer and kv_head.
// `scratch` is reused between calls to avoid allocation.
void attend(const KvCache& kv, int64_t layer, int64_t kv_head, int64_t pos, const float* q, int64_t n_group,
            const AttentionSpec& spec, float* out, std::vector<float>& scratch);

}  // namespace silica::cache
