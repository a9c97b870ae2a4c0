// Prefill attention for head size 64 with AVX2 (kernels/attention.h, attend_chunk): the block
// kernel of kernels/attention_chunk_avx512.cpp at 256 bits, 16 queries per block instead of 32.
//
// Queries are taken 16 at a time (token-major: lane l is token (b + l) / n_group, head
// (b + l) % n_group), transposed so that dimension d of all 16 queries is two vectors. For each
// tile of up to 32 keys, converted to float once for the whole block:
//   scores:  S[key j] (16 lanes) = sum_d Qt[d] * K[j][d]      -- K[j][d] broadcast, no reductions
//   softmax: per lane, online (running max and sum, rescaled once per tile)
//   values:  Ot[d] (16 lanes)   += sum_j P[j] * V[j][d]      -- V[j][d] broadcast
// so every FMA does useful work in all 8 lanes; the per-token kernel (kernels/attention_avx2.cpp)
// spends a horizontal-add tree per 8 keys and per query head. Zen 3, 1 thread, `attention_bench
// --benchmark_filter=BM_AttentionChunk/first:(0|256)/type:1/` (F16 KV), block vs per-token, us:
// GPT-2 shape 159 vs 247 and 429 vs 855; GPT-OSS 1168 vs 1778 and 3294 vs 5559; GPT-OSS with its
// window 916 vs 1323 and 1199 vs 1742 (55-61 GFLOP/s, ~60% of the FMA peak). Causality and the
// window are lane masks on the tiles that need them. Each query's keys are visited in position
// order whatever the block it is in, and a thread runs a whole call, so results do not depend on
// the thread split. The scalar parts (scratch, query and output transposes): kernels/attention_block.h.
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <limits>

#include "kernels/attention.h"
#include "kernels/attention_block.h"
#include "kernels/exp_avx2.h"
#include "kernels/kv_rows_avx2.h"

namespace silica::kernels {
namespace {

using block::kHd;
using block::kKeys;
constexpr int kVectors = 2;                // query vectors per block
constexpr int kLanes = 8 * kVectors;       // queries per block
constexpr int kKeyGroup = 4;               // keys scored together: 8 independent FMA chains
constexpr int kDimGroup = 4;               // output dimensions accumulated together: 8 chains
using Scratch = block::Scratch<kLanes>;

struct Lanes {
    __m256i pos[kVectors], first[kVectors];  // each query's position and first visible key position
    int64_t pos_min, pos_max, first_min, first_max;
};

// Scores of the tile's nt keys against the block's queries into p (key-major), -inf where a key is
// not visible to a lane (valid[row][h]: all-ones lanes where it is); the per-lane tile max in tmax.
void score_tile(const float* qt, const float* k, int64_t nt, int64_t key_pos, const Lanes& lanes, bool masked,
                float* p, __m256 (*valid)[kVectors], __m256 tmax[kVectors]) {
    const __m256 minus_inf = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
    const __m256 all = _mm256_castsi256_ps(_mm256_set1_epi32(-1));
    for (int h = 0; h < kVectors; ++h) tmax[h] = minus_inf;
    for (int64_t j0 = 0; j0 < nt; j0 += kKeyGroup) {
        __m256 acc[kVectors][kKeyGroup];
        for (int j = 0; j < kKeyGroup; ++j)
            for (int h = 0; h < kVectors; ++h) acc[h][j] = _mm256_setzero_ps();
        // Rows past nt hold an earlier tile's keys or zeros (finite): scored, then never used.
        for (int64_t d = 0; d < kHd; ++d) {
            const __m256 q0 = _mm256_load_ps(qt + d * kLanes), q1 = _mm256_load_ps(qt + d * kLanes + 8);
#pragma GCC unroll 4
            for (int j = 0; j < kKeyGroup; ++j) {
                const __m256 kb = _mm256_broadcast_ss(k + (j0 + j) * kHd + d);
                acc[0][j] = _mm256_fmadd_ps(q0, kb, acc[0][j]);
                acc[1][j] = _mm256_fmadd_ps(q1, kb, acc[1][j]);
            }
        }
        for (int j = 0; j < kKeyGroup && j0 + j < nt; ++j) {
            const int64_t row = j0 + j;
            for (int h = 0; h < kVectors; ++h) {
                __m256 m = all;
                if (masked) {
                    // key_pos + row <= pos and >= first
                    const __m256i kp = _mm256_set1_epi32(static_cast<int32_t>(key_pos + row));
                    const __m256i late = _mm256_cmpgt_epi32(kp, lanes.pos[h]);
                    const __m256i early = _mm256_cmpgt_epi32(lanes.first[h], kp);
                    m = _mm256_castsi256_ps(_mm256_andnot_si256(_mm256_or_si256(late, early), _mm256_set1_epi32(-1)));
                }
                valid[row][h] = m;
                const __m256 s = _mm256_blendv_ps(minus_inf, acc[h][j], m);
                _mm256_store_ps(p + row * kLanes + 8 * h, s);
                tmax[h] = _mm256_max_ps(tmax[h], s);
            }
        }
    }
}

// ot[d] = ot[d] * corr + sum_j p[j] * v[j][d] for all 64 dimensions, kLanes lanes each.
void accumulate_values(const float* p, const float* v, int64_t nt, const __m256 corr[kVectors], float* ot) {
    for (int64_t d0 = 0; d0 < kHd; d0 += kDimGroup) {
        __m256 acc[kVectors][kDimGroup];
        for (int dd = 0; dd < kDimGroup; ++dd)
            for (int h = 0; h < kVectors; ++h)
                acc[h][dd] = _mm256_mul_ps(corr[h], _mm256_load_ps(ot + (d0 + dd) * kLanes + 8 * h));
        for (int64_t j = 0; j < nt; ++j) {
            const __m256 p0 = _mm256_load_ps(p + j * kLanes), p1 = _mm256_load_ps(p + j * kLanes + 8);
#pragma GCC unroll 4
            for (int dd = 0; dd < kDimGroup; ++dd) {
                const __m256 vb = _mm256_broadcast_ss(v + j * kHd + d0 + dd);
                acc[0][dd] = _mm256_fmadd_ps(p0, vb, acc[0][dd]);
                acc[1][dd] = _mm256_fmadd_ps(p1, vb, acc[1][dd]);
            }
        }
        for (int dd = 0; dd < kDimGroup; ++dd)
            for (int h = 0; h < kVectors; ++h) _mm256_store_ps(ot + (d0 + dd) * kLanes + 8 * h, acc[h][dd]);
    }
}

// Queries [b, b + nq) of the chunk (nq <= kLanes).
void attend_block(std::span<const KvRowSpan> spans, const QueryChunk& chunk, const AttentionShape& shape, int64_t b,
                  int64_t nq, Scratch& s) {
    block::LaneStart<kLanes> start;
    block::load_queries(chunk, shape, b, nq, s, start);
    Lanes lanes;
    for (int h = 0; h < kVectors; ++h) {
        lanes.pos[h] = _mm256_load_si256(reinterpret_cast<const __m256i*>(start.pos + 8 * h));
        lanes.first[h] = _mm256_load_si256(reinterpret_cast<const __m256i*>(start.first + 8 * h));
    }
    // Positions and window starts grow with the lane.
    lanes.pos_min = start.pos[0];
    lanes.pos_max = start.pos[nq - 1];
    lanes.first_min = start.first[0];
    lanes.first_max = start.first[nq - 1];

    __m256 m[kVectors], sum[kVectors];
    for (int h = 0; h < kVectors; ++h) {
        m[h] = _mm256_load_ps(start.run_max + 8 * h);
        sum[h] = _mm256_load_ps(start.run_sum + 8 * h);
    }
    __m256 valid[kKeys][kVectors];
    for (const KvRowSpan& span : spans) {
        const int64_t lo = std::max(lanes.first_min, span.first_pos);
        const int64_t hi = std::min(lanes.pos_max, span.first_pos + span.n_rows - 1);
        for (int64_t r0 = lo; r0 <= hi; r0 += kKeys) {
            const int64_t nt = std::min(kKeys, hi - r0 + 1);
            for (int64_t j = 0; j < nt; ++j) {
                const int64_t row = r0 - span.first_pos + j;
                avx2::kv_row_to_f32(span.type, span.k + row * span.stride, s.k + j * kHd, kHd);
                avx2::kv_row_to_f32(span.type, span.v + row * span.stride, s.v + j * kHd, kHd);
            }
            // Every lane sees every key of the tile unless it crosses a lane's position or window start.
            const bool masked = r0 + nt - 1 > lanes.pos_min || r0 < lanes.first_max;
            __m256 tmax[kVectors];
            score_tile(s.qt, s.k, nt, r0, lanes, masked, s.p, valid, tmax);
            __m256 corr[kVectors];
            for (int h = 0; h < kVectors; ++h) {
                const __m256 m_new = _mm256_max_ps(m[h], tmax[h]);
                corr[h] = avx2::exp_ps(_mm256_sub_ps(m[h], m_new));
                m[h] = m_new;
                __m256 tile_sum = _mm256_setzero_ps();
                for (int64_t j = 0; j < nt; ++j) {
                    float* pj = s.p + j * kLanes + 8 * h;
                    // exp_ps clamps: a masked -inf would come out ~1e-38, so the mask zeroes it.
                    const __m256 w =
                        _mm256_and_ps(valid[j][h], avx2::exp_ps(_mm256_sub_ps(_mm256_load_ps(pj), m_new)));
                    _mm256_store_ps(pj, w);
                    tile_sum = _mm256_add_ps(tile_sum, w);
                }
                sum[h] = _mm256_fmadd_ps(sum[h], corr[h], tile_sum);
            }
            accumulate_values(s.p, s.v, nt, corr, s.ot);
        }
    }
    for (int h = 0; h < kVectors; ++h) _mm256_store_ps(start.run_sum + 8 * h, sum[h]);
    block::store_outputs(chunk, shape, b, nq, s, start.run_sum);
}

}  // namespace

bool attend_chunk_avx2(std::span<const KvRowSpan> spans, const QueryChunk& chunk, const AttentionShape& shape) {
    if (shape.head_dim != kHd) return false;
    thread_local Scratch scratch;
    const int64_t n_q = chunk.n_tokens * shape.n_group;
    for (int64_t b = 0; b < n_q; b += kLanes) attend_block(spans, chunk, shape, b, std::min<int64_t>(kLanes, n_q - b), scratch);
    return true;
}

}  // namespace silica::kernels
