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

namespace silica::kernels {

struct AttentionShape {
    int64_t head_dim = 0;
    int64_t n_group = 1;           // query heads per KV head
    float scale = 1.0f;            // multiplies q . k
    const float* sinks = nullptr;  // n_group sink logits, or null
};

// q and out: n_group rows of head_dim floats. The spans must hold at least one row in total.
// Uses the active ISA (kernels/isa.h).
void attend_spans(std::span<const KvRowSpan> spans, const float* q, const AttentionShape& shape, float* out);

// Plain two-pass reference (double accumulation) that the fast kernels are tested against.
void attend_spans_reference(std::span<const KvRowSpan> spans, const float* q, const AttentionShape& shape,
                            float* out);

// Per-ISA entry points (kernels/attention_tiled.h compiled per ISA); call only when active_isa()
// allows them.
void attend_spans_scalar(std::span<const KvRowSpan> spans, const float* q, const AttentionShape& shape, float* out);
void attend_spans_avx2(std::span<const KvRowSpan> spans, const float* q, const AttentionShape& shape, float* out);
void attend_spans_avx512(std::span<const KvRowSpan> spans, const float* q, const AttentionShape& shape, float* out);

}  // namespace silica::kernels
