// Decode attention of one KV head: the n_group query heads that share it (grouped-query
// attention) against cached K/V rows read in place from the cache's storage (kernels/kv_rows.h).
//
//   out_g = sum_j softmax_j(scale * q_g . k_j) v_j
//
// with an optional per-query-head sink logit that joins the softmax's max and denominator but has
// no value row (GPT-OSS). The fast kernels use an online softmax over tiles of keys: one pass over
// K and V, scratch independent of the context length.
#pragma once
#include <cstdint>
#include <span>

#include "kernels/kv_rows.h"
#include "kernels/step_exact.h"

namespace silica::kernels {

struct AttentionShape {
    int64_t head_dim = 0;
    int64_t n_group = 1;           // query heads per KV head
    float scale = 1.0f;            // multiplies q . k
    const float* sinks = nullptr;  // n_group sink logits, or null
};

// q and out: n_group rows of head_dim floats. The spans must hold at least one row in total.
// Uses the active ISA (kernels/isa.h). `prefetch_later`: rows the caller reads next (a decode
// batch's next KV head), fetched into cache while this call computes; only the AVX-512 kernel for
// head sizes 32 and 64 uses it.
void attend_spans(std::span<const KvRowSpan> spans, const float* q, const AttentionShape& shape, float* out,
                  std::span<const KvRowSpan> prefetch_later = {});

// Plain two-pass reference (double accumulation) that the fast kernels are tested against.
void attend_spans_reference(std::span<const KvRowSpan> spans, const float* q, const AttentionShape& shape,
                            float* out);

// Prefill attention: the queries of n_tokens consecutive positions (each with the n_group query
// heads of this KV head) against the KV head's cached rows, each query seeing the keys at or
// before its own position (and, with a window, fewer than `window` positions back). The caller
// stores the whole chunk's K/V rows first; `spans` must cover, in order, every position from the
// first token's first visible key to the last token's position.
//
// One pass over the keys serves a block of queries: each K/V tile is converted to float once per
// block instead of once per query, and the scores of a key for all the block's queries form one
// vector (no horizontal sums).
// The first key position a query at `pos` sees: 0 without a window (window <= 0), else the oldest
// of its last `window` positions.
inline int64_t first_visible_key(int64_t pos, int64_t window) {
    return window > 0 && pos - window + 1 > 0 ? pos - window + 1 : 0;
}

struct QueryChunk {
    const float* q = nullptr;  // token t, head g: q + t * q_stride + g * head_dim
    int64_t q_stride = 0;
    float* out = nullptr;      // same layout, with out_stride
    int64_t out_stride = 0;
    int64_t n_tokens = 0;
    int64_t first_pos = 0;     // position of token 0; token t is at first_pos + t
    int64_t window = 0;        // 0: all earlier keys; else keys with pos_q - pos_k < window
};
void attend_chunk(std::span<const KvRowSpan> spans, const QueryChunk& chunk, const AttentionShape& shape);

// Reference: attend_spans_reference for each token on its own visible keys.
void attend_chunk_reference(std::span<const KvRowSpan> spans, const QueryChunk& chunk, const AttentionShape& shape);

// Per-ISA entry points (kernels/attention_tiled.h compiled per ISA); call only when active_isa()
// allows them.
void attend_spans_scalar(std::span<const KvRowSpan> spans, const float* q, const AttentionShape& shape, float* out);
void attend_spans_avx2(std::span<const KvRowSpan> spans, const float* q, const AttentionShape& shape, float* out);
void attend_spans_avx512(std::span<const KvRowSpan> spans, const float* q, const AttentionShape& shape, float* out,
                         std::span<const KvRowSpan> prefetch_later);
// The chunk's tokens one by one as attend_spans would take them (bit-identical), each K/V tile
// converted once for all of them (AVX-512, head size 32 or 64, no window in effect); false when it
// does not apply.
bool attend_tokens_avx512(std::span<const KvRowSpan> spans, const QueryChunk& chunk, const AttentionShape& shape);
// The block kernels for head size 64 (AVX-512, AVX2); false when they do not apply (other head
// sizes).
bool attend_chunk_avx512(std::span<const KvRowSpan> spans, const QueryChunk& chunk, const AttentionShape& shape);
bool attend_chunk_avx2(std::span<const KvRowSpan> spans, const QueryChunk& chunk, const AttentionShape& shape);

}  // namespace silica::kernels
