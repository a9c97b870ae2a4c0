// The online-softmax attention driver shared by every ISA (included by attention.cpp,
// attention_avx2.cpp and attention_avx512.cpp with that ISA's Ops).
//
// Keys are processed in tiles of kTile rows: the tile's K rows are converted to float once and
// scored against all n_group query heads, then each head's running max/sum/accumulator is rescaled
// once per tile (not once per key) and the tile's V rows are added with their weights. Memory
// traffic is one read of K and V; the scratch is a few tiles, whatever the context length.
//
// Ops provides, for its ISA:
//   static float dot(const float* a, const float* b, int64_t n);
//   static void axpy(float a, const float* x, float* y, int64_t n);     // y += a x
//   static void scale(float* y, float a, int64_t n);                    // y *= a
//   static void exp_inplace(float* x, int64_t n);                       // x = exp(x), x <= 0
//   static void row_to_f32(TensorType type, const uint8_t* src, float* dst, int64_t n);
// and optionally
//   static float score_tile(const float* q, const float* k, int64_t nt, int64_t hd, float scale, float* s);
//       s[i] = scale * (q . k_i) for i < nt, returns max s[i] (else the driver loops dot)
//   static void accumulate(const float* w, const float* v, int64_t nt, float* acc, int64_t hd);
//       acc[d] += w[i] * v[i * hd + d] for i = 0..nt-1 in order (else the driver loops axpy)
#pragma once
#include <algorithm>
#include <cmath>
#include <limits>
#include <span>
#include <vector>

#include "kernels/attention.h"

namespace silica::kernels::detail {

constexpr int64_t kTile = 32;

template <typename Ops>
void attend_tiled(std::span<const KvRowSpan> spans, const float* q, const AttentionShape& shape, float* out) {
    const int64_t hd = shape.head_dim, G = shape.n_group;
    // Per thread, sized by the shape only: [K tile][V tile][scores G x kTile][acc G x hd][max G][sum G].
    thread_local std::vector<float> scratch;
    scratch.resize(static_cast<size_t>(2 * kTile * hd + G * kTile + G * hd + 2 * G));
    float* k_tile = scratch.data();
    float* v_tile = k_tile + kTile * hd;
    float* scores = v_tile + kTile * hd;
    float* acc = scores + G * kTile;
    float* run_max = acc + G * hd;
    float* run_sum = run_max + G;

    std::fill(acc, acc + G * hd, 0.0f);
    for (int64_t g = 0; g < G; ++g) {
        // A sink is a key with logit sinks[g] and no value: start the running softmax from it.
        run_max[g] = shape.sinks ? shape.sinks[g] : -std::numeric_limits<float>::infinity();
        run_sum[g] = shape.sinks ? 1.0f : 0.0f;
    }

    for (const KvRowSpan& span : spans) {
        for (int64_t r0 = 0; r0 < span.n_rows; r0 += kTile) {
            const int64_t nt = std::min(kTile, span.n_rows - r0);
            for (int64_t i = 0; i < nt; ++i)
                Ops::row_to_f32(span.type, span.k + (r0 + i) * span.stride, k_tile + i * hd, hd);
            for (int64_t g = 0; g < G; ++g) {
                float* s = scores + g * kTile;
                float tile_max = -std::numeric_limits<float>::infinity();
                if constexpr (requires { Ops::score_tile(q, k_tile, nt, hd, shape.scale, s); }) {
                    tile_max = Ops::score_tile(q + g * hd, k_tile, nt, hd, shape.scale, s);
                } else {
                    for (int64_t i = 0; i < nt; ++i) {
                        s[i] = Ops::dot(q + g * hd, k_tile + i * hd, hd) * shape.scale;
                        tile_max = std::max(tile_max, s[i]);
                    }
                }
                const float new_max = std::max(run_max[g], tile_max);
                if (new_max > run_max[g]) {
                    const float correction = std::exp(run_max[g] - new_max);  // 0 when run_max is -inf
                    Ops::scale(acc + g * hd, correction, hd);
                    run_sum[g] *= correction;
                    run_max[g] = new_max;
                }
                for (int64_t i = 0; i < nt; ++i) s[i] -= new_max;
                Ops::exp_inplace(s, nt);
                for (int64_t i = 0; i < nt; ++i) run_sum[g] += s[i];
            }
            for (int64_t i = 0; i < nt; ++i)
                Ops::row_to_f32(span.type, span.v + (r0 + i) * span.stride, v_tile + i * hd, hd);
            // acc_g += sum_i scores_g[i] v_i, key by key in order (the same operations per element
            // whatever the loop nest). Ops::accumulate, when an ISA has it, keeps acc_g in
            // registers for the whole tile instead of a load-FMA-store per key, whose store-to-load
            // latency chained every key of a head.
            for (int64_t g = 0; g < G; ++g) {
                if constexpr (requires { Ops::accumulate(scores, v_tile, nt, acc, hd); })
                    Ops::accumulate(scores + g * kTile, v_tile, nt, acc + g * hd, hd);
                else
                    for (int64_t i = 0; i < nt; ++i) Ops::axpy(scores[g * kTile + i], v_tile + i * hd, acc + g * hd, hd);
            }
        }
    }
    for (int64_t g = 0; g < G; ++g) {
        const float inv = 1.0f / run_sum[g];
        for (int64_t d = 0; d < hd; ++d) out[g * hd + d] = acc[g * hd + d] * inv;
    }
}

}  // namespace silica::kernels::detail
