// The scalar parts of the prefill attention block kernels (kernels/attention_chunk_avx2.cpp with 16
// queries per block, kernels/attention_chunk_avx512.cpp with 32): their scratch buffers, each
// block's queries transposed in and its outputs written back. Queries are token-major: lane l of
// the block starting at query b is token (b + l) / n_group, head (b + l) % n_group.
#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>

#include "kernels/attention.h"

namespace silica::kernels::block {

constexpr int64_t kHd = 64;     // the head size the block kernels take
constexpr int64_t kKeys = 32;   // keys per tile
// The running max before any key: finite, so exp(max_old - max_new) never sees inf - inf.
constexpr float kNoMax = -1e30f;

// Per-thread buffers, 64-byte aligned: transposed queries, one K and one V tile, the tile's
// weights (key-major, kLanes each) and the transposed output accumulators.
template <int kLanes>
struct Scratch {
    std::vector<float> storage;
    float *qt, *k, *v, *p, *ot;
    Scratch() {
        constexpr size_t kFloats = kHd * kLanes + 2 * kKeys * kHd + kKeys * kLanes + kHd * kLanes;
        storage.assign(kFloats + 16, 0.0f);
        float* base = storage.data();
        base += (16 - (reinterpret_cast<uintptr_t>(base) / sizeof(float)) % 16) % 16;
        qt = base;
        k = qt + kHd * kLanes;
        v = k + kKeys * kHd;
        p = v + kKeys * kHd;
        ot = p + kKeys * kLanes;
    }
};

// Each lane's query position, first visible key position and running max and sum to start from.
template <int kLanes>
struct LaneStart {
    alignas(64) int32_t pos[kLanes];
    alignas(64) int32_t first[kLanes];
    alignas(64) float run_max[kLanes];
    alignas(64) float run_sum[kLanes];
};

// Queries [b, b + nq) of the chunk (nq <= kLanes), scaled, into s.qt (dimension-major); s.ot
// zeroed; the lanes' start state into start. A lane past the chunk sees no key (position -1).
template <int kLanes>
void load_queries(const QueryChunk& chunk, const AttentionShape& shape, int64_t b, int64_t nq, Scratch<kLanes>& s,
                  LaneStart<kLanes>& start) {
    const int64_t G = shape.n_group;
    for (int l = 0; l < kLanes; ++l) {
        const int64_t i = b + l, t = i / G, g = i % G;
        const int64_t p = chunk.first_pos + t;
        const bool live = l < nq;
        start.pos[l] = live ? static_cast<int32_t>(p) : -1;
        start.first[l] = live ? static_cast<int32_t>(first_visible_key(p, chunk.window)) : 0;
        // A sink is a key with logit sinks[g] and no value: the running softmax starts from it.
        const float sink = live && shape.sinks ? shape.sinks[g] : 0.0f;
        start.run_max[l] = live && shape.sinks ? sink : kNoMax;
        start.run_sum[l] = live && shape.sinks ? 1.0f : 0.0f;
        const float* q = chunk.q + t * chunk.q_stride + g * kHd;
        for (int64_t d = 0; d < kHd; ++d) s.qt[d * kLanes + l] = live ? q[d] * shape.scale : 0.0f;
    }
    std::fill(s.ot, s.ot + kHd * kLanes, 0.0f);
}

// The block's outputs s.ot / run_sum (dimension-major) to the chunk's rows.
template <int kLanes>
void store_outputs(const QueryChunk& chunk, const AttentionShape& shape, int64_t b, int64_t nq,
                   const Scratch<kLanes>& s, const float* run_sum) {
    const int64_t G = shape.n_group;
    for (int64_t l = 0; l < nq; ++l) {
        const int64_t i = b + l, t = i / G, g = i % G;
        float* out = chunk.out + t * chunk.out_stride + g * kHd;
        const float inv = 1.0f / run_sum[l];
        for (int64_t d = 0; d < kHd; ++d) out[d] = s.ot[d * kLanes + l] * inv;
    }
}

}  // namespace silica::kernels::block
