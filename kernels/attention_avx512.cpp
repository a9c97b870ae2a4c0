// AVX-512 operations for the attention driver (kernels/attention_tiled.h).
// GCC 12's unmasked AVX-512 intrinsics trip a false -Wmaybe-uninitialized (GCC bug 105593), and
// in the head_dim 32 instance of sum_lanes_16 a false -Wuninitialized.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

#include "kernels/attention_tiled.h"
#include "kernels/exp_avx512.h"
#include "kernels/kv_rows_avx512.h"

namespace silica::kernels {

namespace {

using avx512::tail_mask;


struct Avx512Ops {
    static float dot(const float* a, const float* b, int64_t n) {
        __m512 s = _mm512_setzero_ps();
        int64_t i = 0;
        for (; i + 16 <= n; i += 16) s = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s);
        if (i < n) {
            const __mmask16 m = tail_mask(n - i);
            s = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), s);
        }
        return _mm512_reduce_add_ps(s);
    }
    static void axpy(float a, const float* x, float* y, int64_t n) {
        const __m512 va = _mm512_set1_ps(a);
        int64_t i = 0;
        for (; i + 16 <= n; i += 16)
            _mm512_storeu_ps(y + i, _mm512_fmadd_ps(va, _mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i)));
        if (i < n) {
            const __mmask16 m = tail_mask(n - i);
            _mm512_mask_storeu_ps(y + i, m,
                                  _mm512_fmadd_ps(va, _mm512_maskz_loadu_ps(m, x + i), _mm512_maskz_loadu_ps(m, y + i)));
        }
    }
    static void scale(float* y, float a, int64_t n) {
        const __m512 va = _mm512_set1_ps(a);
        int64_t i = 0;
        for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, _mm512_mul_ps(va, _mm512_loadu_ps(y + i)));
        if (i < n) {
            const __mmask16 m = tail_mask(n - i);
            _mm512_mask_storeu_ps(y + i, m, _mm512_mul_ps(va, _mm512_maskz_loadu_ps(m, y + i)));
        }
    }
    static void exp_inplace(float* x, int64_t n) {
        int64_t i = 0;
        for (; i + 16 <= n; i += 16) _mm512_storeu_ps(x + i, avx512::exp_ps(_mm512_loadu_ps(x + i)));
        if (i < n) {
            const __mmask16 m = tail_mask(n - i);
            _mm512_mask_storeu_ps(x + i, m, avx512::exp_ps(_mm512_maskz_loadu_ps(m, x + i)));
        }
    }
    static void row_to_f32(TensorType type, const uint8_t* src, float* dst, int64_t n) {
        avx512::kv_row_to_f32(type, src, dst, n);
    }
};

// ---- head_dim 64 (GPT-2, GPT-OSS) and 32 (small GPT-2s such as the trained default model):
// scores of 16 keys at once, accumulators in registers ----
//
// The generic driver scores one key at a time (a dot product ending in a horizontal sum) and
// adds V rows into accumulators in memory. Here a query scores 16 keys as 16 partial vectors
// folded into one vector of 16 scores by a transpose-and-add tree (under 3 shuffles per key
// instead of a full horizontal sum), and up to 4 query heads keep their accumulators in
// registers while the tile's V rows stream past them.

// HD: the head dimension, a multiple of 16; NV = HD / 16 vectors per row.

// Lane i of the result is the sum of v[i]'s 16 lanes.
__m512 sum_lanes_16(const __m512 (&v)[16]) {
    __m512 u[8];  // per 128-bit lane: pairs (2j, 2j+1) folded to 4 partial sums
    for (int j = 0; j < 8; ++j)
        u[j] = _mm512_add_ps(_mm512_unpacklo_ps(v[2 * j], v[2 * j + 1]), _mm512_unpackhi_ps(v[2 * j], v[2 * j + 1]));
    __m512 w[4];  // per 128-bit lane: the partial sums of 4 consecutive vectors
    for (int k = 0; k < 4; ++k)
        w[k] = _mm512_add_ps(_mm512_shuffle_ps(u[2 * k], u[2 * k + 1], 0x44),
                             _mm512_shuffle_ps(u[2 * k], u[2 * k + 1], 0xEE));
    const __m512 y01 = _mm512_add_ps(_mm512_shuffle_f32x4(w[0], w[1], 0x44), _mm512_shuffle_f32x4(w[0], w[1], 0xEE));
    const __m512 y23 = _mm512_add_ps(_mm512_shuffle_f32x4(w[2], w[3], 0x44), _mm512_shuffle_f32x4(w[2], w[3], 0xEE));
    return _mm512_add_ps(_mm512_shuffle_f32x4(y01, y23, 0x88), _mm512_shuffle_f32x4(y01, y23, 0xDD));
}

// Scores of keys [0, 16) of `k` (rows of HD floats) against one query already multiplied by the scale.
template <int HD>
__m512 score_16_keys(const __m512 (&q)[HD / 16], const float* k) {
    __m512 parts[16];
#pragma GCC unroll 16
    for (int j = 0; j < 16; ++j) {
        const float* row = k + j * HD;
        __m512 s = _mm512_mul_ps(q[0], _mm512_loadu_ps(row));
        for (int c = 1; c < HD / 16; ++c) s = _mm512_fmadd_ps(q[c], _mm512_loadu_ps(row + 16 * c), s);
        parts[j] = s;
    }
    return sum_lanes_16(parts);
}

// acc[g] += sum_i p[g * kTile + i] * v[i] for GN query heads, over nt keys.
template <int HD, int GN>
void accumulate_values(const float* p, const float* v, int64_t nt, float* acc) {
    constexpr int NV = HD / 16;
    __m512 a[GN][NV];
    for (int g = 0; g < GN; ++g)
        for (int c = 0; c < NV; ++c) a[g][c] = _mm512_loadu_ps(acc + g * HD + 16 * c);
    for (int64_t i = 0; i < nt; ++i) {
        __m512 vr[NV];
        for (int c = 0; c < NV; ++c) vr[c] = _mm512_loadu_ps(v + i * HD + 16 * c);
        for (int g = 0; g < GN; ++g) {
            const __m512 w = _mm512_set1_ps(p[g * detail::kTile + i]);
            for (int c = 0; c < NV; ++c) a[g][c] = _mm512_fmadd_ps(w, vr[c], a[g][c]);
        }
    }
    for (int g = 0; g < GN; ++g)
        for (int c = 0; c < NV; ++c) _mm512_storeu_ps(acc + g * HD + 16 * c, a[g][c]);
}

template <int HD>
void attend_hd(std::span<const KvRowSpan> spans, const float* q, const AttentionShape& shape, float* out) {
    using detail::kTile;
    constexpr int64_t kHd = HD;
    constexpr int NV = HD / 16;
    const int64_t G = shape.n_group;
    // Per thread: [K tile][V tile][weights G x kTile][acc G x 64][scaled q G x 64].
    thread_local std::vector<float> scratch;
    scratch.resize(static_cast<size_t>(2 * kTile * kHd + G * kTile + 2 * G * kHd));
    float* k_tile = scratch.data();
    float* v_tile = k_tile + kTile * kHd;
    float* p = v_tile + kTile * kHd;
    float* acc = p + G * kTile;
    float* qs = acc + G * kHd;
    std::vector<float> run_max(static_cast<size_t>(G)), run_sum(static_cast<size_t>(G));
    for (int64_t g = 0; g < G; ++g) {
        run_max[g] = shape.sinks ? shape.sinks[g] : -std::numeric_limits<float>::infinity();
        run_sum[g] = shape.sinks ? 1.0f : 0.0f;
    }
    std::fill(acc, acc + G * kHd, 0.0f);
    for (int64_t i = 0; i < G * kHd; ++i) qs[i] = q[i] * shape.scale;
    const __m512 minus_inf = _mm512_set1_ps(-std::numeric_limits<float>::infinity());

    for (const KvRowSpan& span : spans) {
        for (int64_t r0 = 0; r0 < span.n_rows; r0 += kTile) {
            const int64_t nt = std::min(kTile, span.n_rows - r0);
            for (int64_t i = 0; i < nt; ++i) {
                Avx512Ops::row_to_f32(span.type, span.k + (r0 + i) * span.stride, k_tile + i * kHd, kHd);
                Avx512Ops::row_to_f32(span.type, span.v + (r0 + i) * span.stride, v_tile + i * kHd, kHd);
            }
            // Lanes of keys past nt hold stale rows: their scores are masked to -inf, weights to 0.
            const __mmask16 valid[2] = {nt >= 16 ? __mmask16(0xffff) : tail_mask(nt),
                                        nt >= 32 ? __mmask16(0xffff) : nt > 16 ? tail_mask(nt - 16) : __mmask16(0)};
            for (int64_t g = 0; g < G; ++g) {
                __m512 qv[NV];
                for (int c = 0; c < NV; ++c) qv[c] = _mm512_loadu_ps(qs + g * kHd + 16 * c);
                __m512 s[2] = {minus_inf, minus_inf};
                for (int h = 0; h < 2 && valid[h]; ++h)
                    s[h] = _mm512_mask_mov_ps(minus_inf, valid[h], score_16_keys<HD>(qv, k_tile + h * 16 * kHd));
                const float tile_max = _mm512_reduce_max_ps(_mm512_max_ps(s[0], s[1]));
                if (tile_max > run_max[g]) {
                    const float correction = std::exp(run_max[g] - tile_max);  // 0 when run_max is -inf
                    for (int c = 0; c < NV; ++c)
                        _mm512_storeu_ps(acc + g * kHd + 16 * c,
                                         _mm512_mul_ps(_mm512_set1_ps(correction), _mm512_loadu_ps(acc + g * kHd + 16 * c)));
                    run_sum[g] *= correction;
                    run_max[g] = tile_max;
                }
                const __m512 m = _mm512_set1_ps(run_max[g]);
                for (int h = 0; h < 2; ++h) {
                    const __m512 w = _mm512_maskz_mov_ps(valid[h], avx512::exp_ps(_mm512_sub_ps(s[h], m)));
                    run_sum[g] += _mm512_reduce_add_ps(w);
                    _mm512_storeu_ps(p + g * kTile + 16 * h, w);
                }
            }
            int64_t g = 0;
            for (; g + 4 <= G; g += 4) accumulate_values<HD, 4>(p + g * kTile, v_tile, nt, acc + g * kHd);
            switch (G - g) {
                case 3: accumulate_values<HD, 3>(p + g * kTile, v_tile, nt, acc + g * kHd); break;
                case 2: accumulate_values<HD, 2>(p + g * kTile, v_tile, nt, acc + g * kHd); break;
                case 1: accumulate_values<HD, 1>(p + g * kTile, v_tile, nt, acc + g * kHd); break;
                default: break;
            }
        }
    }
    for (int64_t g = 0; g < G; ++g) {
        const float inv = 1.0f / run_sum[g];
        for (int64_t d = 0; d < kHd; ++d) out[g * kHd + d] = acc[g * kHd + d] * inv;
    }
}

}  // namespace

void attend_spans_avx512(std::span<const KvRowSpan> spans, const float* q, const AttentionShape& shape, float* out) {
    if (shape.head_dim == 64) return attend_hd<64>(spans, q, shape, out);
    if (shape.head_dim == 32) return attend_hd<32>(spans, q, shape, out);
    detail::attend_tiled<Avx512Ops>(spans, q, shape, out);
}

}  // namespace silica::kernels
