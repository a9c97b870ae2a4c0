// Causal attention of one token against the KV cache, for the query heads that share one KV head
// (grouped-query attention). Supports a sliding window and per-head "sink" logits that join the
// softmax without contributing a value (GPT-OSS). The cached rows are read in place by the fused
// online-softmax kernel (kernels/attention.h).
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "cache/kv_cache.h"
#include "kernels/kv_rows.h"

namespace silica::cache {

struct AttentionSpec {
    float scale = 1.0f;            // multiplies q·k
    int64_t window = 0;            // 0: full causal attention; else keys with pos_q - pos_k < window
    const float* sinks = nullptr;  // per query head of this group (n_group values), or null
};

// Reused between calls (one per thread) so attention allocates nothing in steady state.
struct AttentionScratch {
    std::vector<kernels::KvRowSpan> spans;
    std::vector<kernels::KvRowSpan> later_spans;  // what the caller prefetches for its next call
};

// q and out: n_group query heads of head_dim floats each (contiguous). Keys at positions
// [first visible .. pos] must already be stored in `kv` for this layer and kv_head.
// `prefetch_later`: rows of the caller's next call, fetched while this one computes
// (kernels::attend_spans).
void attend(const KvCache& kv, int64_t layer, int64_t kv_head, int64_t pos, const float* q, int64_t n_group,
            const AttentionSpec& spec, float* out, AttentionScratch& scratch,
            std::span<const kernels::KvRowSpan> prefetch_later = {});

// Prefill: tokens pos0 .. pos0 + n_tokens - 1 at once (kernels::attend_chunk). Token t's query heads
// start at q + t * q_stride, its output at out + t * out_stride; the K/V rows of every token of
// the chunk must already be stored (the cache's ring slack keeps the oldest token's keys).
void attend_chunk(const KvCache& kv, int64_t layer, int64_t kv_head, int64_t pos0, int64_t n_tokens, const float* q,
                  int64_t q_stride, int64_t n_group, const AttentionSpec& spec, float* out, int64_t out_stride,
                  AttentionScratch& scratch);

}  // namespace silica::cache
