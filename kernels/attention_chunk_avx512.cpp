// Prefill attention for head size 64 with AVX-512 (kernels/attention.h, attend_chunk).
//
// Queries are taken 32 at a time (token-major: lane l is token (b + l) / n_group, head
// (b + l) % n_group), transposed so that dimension d of all 32 queries is two vectors. For each
// tile of up to 32 keys, converted to float once for the whole block:
//   scores:  S[key j] (32 lanes) = sum_d Qt[d] * K[j][d]      -- K[j][d] broadcast, no reductions
//   softmax: per lane, online (running max and sum, rescaled once per tile)
//   values:  Ot[d] (32 lanes)   += sum_j P[j] * V[j][d]      -- V[j][d] broadcast
// so every FMA does useful work in all 16 lanes. Causality and the window are lane masks on the
// tiles that need them. Each query's keys are visited in position order whatever the block it is
// in, and a thread runs a whole call, so results do not depend on the thread split. The scalar
// parts (scratch, query and output transposes): kernels/attention_block.h.
// GCC 12's unmasked AVX-512 intrinsics trip a false -Wmaybe-uninitialized (GCC bug 105593).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <limits>

#include "kernels/attention.h"
#include "kernels/attention_block.h"
#include "kernels/exp_avx512.h"
#include "kernels/kv_rows_avx512.h"

namespace silica::kernels {
namespace {

using block::kHd;
using block::kKeys;
constexpr int kLanes = 32;         // queries per block: two vectors
constexpr int kKeyGroup = 8;       // keys scored together (independent FMA chains)
constexpr int kDimGroup = 8;       // output dimensions accumulated together
using Scratch = block::Scratch<kLanes>;

struct Lanes {
    __m512i pos[2], first[2];  // each query's position and first visible key position
    int64_t pos_min, pos_max, first_min, first_max;
};

// Scores of the tile's nt keys against the block's 32 queries into p (key-major), masked to
// -inf where a key is not visible to a lane; returns the per-lane tile max in tmax.
void score_tile(const float* qt, const float* k, int64_t nt, int64_t key_pos, const Lanes& lanes, bool masked,
                float* p, __mmask16 (*valid)[2], __m512 tmax[2]) {
    const __m512 minus_inf = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
    tmax[0] = tmax[1] = minus_inf;
    for (int64_t j0 = 0; j0 < nt; j0 += kKeyGroup) {
        __m512 acc[2][kKeyGroup];
        for (int j = 0; j < kKeyGroup; ++j) acc[0][j] = acc[1][j] = _mm512_setzero_ps();
        // Rows past nt hold an earlier tile's keys (finite): scored, then never used.
        for (int64_t d = 0; d < kHd; ++d) {
            const __m512 q0 = _mm512_load_ps(qt + d * kLanes), q1 = _mm512_load_ps(qt + d * kLanes + 16);
#pragma GCC unroll 8
            for (int j = 0; j < kKeyGroup; ++j) {
                const __m512 kb = _mm512_set1_ps(k[(j0 + j) * kHd + d]);
                acc[0][j] = _mm512_fmadd_ps(q0, kb, acc[0][j]);
                acc[1][j] = _mm512_fmadd_ps(q1, kb, acc[1][j]);
            }
        }
        for (int j = 0; j < kKeyGroup && j0 + j < nt; ++j) {
            const int64_t row = j0 + j;
            for (int h = 0; h < 2; ++h) {
                __mmask16 m = 0xffff;
                if (masked) {
                    const __m512i kp = _mm512_set1_epi32(static_cast<int32_t>(key_pos + row));
                    m = _mm512_cmple_epi32_mask(kp, lanes.pos[h]) & _mm512_cmpge_epi32_mask(kp, lanes.first[h]);
                }
                valid[row][h] = m;
                const __m512 s = _mm512_mask_mov_ps(minus_inf, m, acc[h][j]);
                _mm512_store_ps(p + row * kLanes + 16 * h, s);
                tmax[h] = _mm512_max_ps(tmax[h], s);
            }
        }
    }
}

// ot[d] = ot[d] * corr + sum_j p[j] * v[j][d] for all 64 dimensions, 32 lanes each.
void accumulate_values(const float* p, const float* v, int64_t nt, const __m512 corr[2], float* ot) {
    for (int64_t d0 = 0; d0 < kHd; d0 += kDimGroup) {
        __m512 acc[2][kDimGroup];
        for (int dd = 0; dd < kDimGroup; ++dd)
            for (int h = 0; h < 2; ++h)
                acc[h][dd] = _mm512_mul_ps(corr[h], _mm512_load_ps(ot + (d0 + dd) * kLanes + 16 * h));
        for (int64_t j = 0; j < nt; ++j) {
            const __m512 p0 = _mm512_load_ps(p + j * kLanes), p1 = _mm512_load_ps(p + j * kLanes + 16);
#pragma GCC unroll 8
            for (int dd = 0; dd < kDimGroup; ++dd) {
                const __m512 vb = _mm512_set1_ps(v[j * kHd + d0 + dd]);
                acc[0][dd] = _mm512_fmadd_ps(p0, vb, acc[0][dd]);
                acc[1][dd] = _mm512_fmadd_ps(p1, vb, acc[1][dd]);
            }
        }
        for (int dd = 0; dd < kDimGroup; ++dd)
            for (int h = 0; h < 2; ++h) _mm512_store_ps(ot + (d0 + dd) * kLanes + 16 * h, acc[h][dd]);
    }
}

// Queries [b, b + nq) of the chunk (nq <= 32).
void attend_block(std::span<const KvRowSpan> spans, const QueryChunk& chunk, const AttentionShape& shape, int64_t b,
                  int64_t nq, Scratch& s) {
    block::LaneStart<kLanes> start;
    block::load_queries(chunk, shape, b, nq, s, start);
    Lanes lanes;
    for (int h = 0; h < 2; ++h) {
        lanes.pos[h] = _mm512_load_si512(start.pos + 16 * h);
        lanes.first[h] = _mm512_load_si512(start.first + 16 * h);
    }
    // Positions and window starts grow with the lane.
    lanes.pos_min = start.pos[0];
    lanes.pos_max = start.pos[nq - 1];
    lanes.first_min = start.first[0];
    lanes.first_max = start.first[nq - 1];

    __m512 m[2] = {_mm512_load_ps(start.run_max), _mm512_load_ps(start.run_max + 16)};
    __m512 sum[2] = {_mm512_load_ps(start.run_sum), _mm512_load_ps(start.run_sum + 16)};
    __mmask16 valid[kKeys][2];
    for (const KvRowSpan& span : spans) {
        const int64_t lo = std::max(lanes.first_min, span.first_pos);
        const int64_t hi = std::min(lanes.pos_max, span.first_pos + span.n_rows - 1);
        for (int64_t r0 = lo; r0 <= hi; r0 += kKeys) {
            const int64_t nt = std::min(kKeys, hi - r0 + 1);
            for (int64_t j = 0; j < nt; ++j) {
                const int64_t row = r0 - span.first_pos + j;
                avx512::kv_row_to_f32(span.type, span.k + row * span.stride, s.k + j * kHd, kHd);
                avx512::kv_row_to_f32(span.type, span.v + row * span.stride, s.v + j * kHd, kHd);
            }
            // Every lane sees every key of the tile unless it crosses a lane's position or window start.
            const bool masked = r0 + nt - 1 > lanes.pos_min || r0 < lanes.first_max;
            __m512 tmax[2];
            score_tile(s.qt, s.k, nt, r0, lanes, masked, s.p, valid, tmax);
            __m512 corr[2];
            for (int h = 0; h < 2; ++h) {
                const __m512 m_new = _mm512_max_ps(m[h], tmax[h]);
                corr[h] = avx512::exp_ps(_mm512_sub_ps(m[h], m_new));
                m[h] = m_new;
                __m512 tile_sum = _mm512_setzero_ps();
                for (int64_t j = 0; j < nt; ++j) {
                    float* pj = s.p + j * kLanes + 16 * h;
                    const __m512 w =
                        _mm512_maskz_mov_ps(valid[j][h], avx512::exp_ps(_mm512_sub_ps(_mm512_load_ps(pj), m_new)));
                    _mm512_store_ps(pj, w);
                    tile_sum = _mm512_add_ps(tile_sum, w);
                }
                sum[h] = _mm512_fmadd_ps(sum[h], corr[h], tile_sum);
            }
            accumulate_values(s.p, s.v, nt, corr, s.ot);
        }
    }
    _mm512_store_ps(start.run_sum, sum[0]);
    _mm512_store_ps(start.run_sum + 16, sum[1]);
    block::store_outputs(chunk, shape, b, nq, s, start.run_sum);
}

}  // namespace

bool attend_chunk_avx512(std::span<const KvRowSpan> spans, const QueryChunk& chunk, const AttentionShape& shape) {
    if (shape.head_dim != kHd) return false;
    thread_local Scratch scratch;
    const int64_t n_q = chunk.n_tokens * shape.n_group;
    for (int64_t b = 0; b < n_q; b += kLanes) attend_block(spans, chunk, shape, b, std::min<int64_t>(kLanes, n_q - b), scratch);
    return true;
}

}  // namespace silica::kernels
