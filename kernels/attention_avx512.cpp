// AVX-512 operations for the attention driver (kernels/attention_tiled.h).
// GCC 12's unmasked AVX-512 intrinsics trip a false -Wmaybe-uninitialized (GCC bug 105593).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <algorithm>
#include <limits>

#include "kernels/attention_tiled.h"
#include "quant/blocks.h"
#include "quant/dequantize.h"
#include "quant/fp16.h"

namespace silica::kernels {

namespace {

// Lanes [0, n) of a 16-float vector, for the tail of a row.
__mmask16 tail_mask(int64_t n) { return static_cast<__mmask16>((1u << n) - 1u); }

// exp(x) for x <= 0: 2^k * P(r) with x = k ln2 + r, |r| <= ln2/2; P is the degree-6 Taylor
// polynomial (relative error < 2e-7). Inputs below -87 give ~0 instead of subnormals.
__m512 exp_nonpositive(__m512 x) {
    x = _mm512_max_ps(x, _mm512_set1_ps(-87.0f));
    const __m512 k = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504f)), _MM_FROUND_TO_NEAREST_INT);
    __m512 r = _mm512_fnmadd_ps(k, _mm512_set1_ps(0.693145752f), x);  // ln2 split hi/lo for accuracy
    r = _mm512_fnmadd_ps(k, _mm512_set1_ps(1.42860677e-6f), r);
    __m512 p = _mm512_set1_ps(1.0f / 720);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    const __m512i bits = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(k), _mm512_set1_epi32(127)), 23);
    return _mm512_mul_ps(p, _mm512_castsi512_ps(bits));
}

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
    // Scores of up to 16 keys against q (hd = 64): each key's 16-lane partial products (4 FMAs
    // with q held in registers), then the 16 vectors reduced together by a transposing tree
    // (about 2 shuffles and 2 adds per key instead of a full horizontal sum per key).
    static __m512 scores16(const __m512 q[4], const float* k, int64_t n) {
        __m512 p[16];
        for (int64_t i = 0; i < 16; ++i) {
            if (i >= n) {
                p[i] = _mm512_setzero_ps();
                continue;
            }
            const float* ki = k + i * 64;
            __m512 t = _mm512_mul_ps(q[0], _mm512_loadu_ps(ki));
            t = _mm512_fmadd_ps(q[1], _mm512_loadu_ps(ki + 16), t);
            t = _mm512_fmadd_ps(q[2], _mm512_loadu_ps(ki + 32), t);
            p[i] = _mm512_fmadd_ps(q[3], _mm512_loadu_ps(ki + 48), t);
        }
        // Within each 128-bit block: 4 keys' sums of that block's 4 lanes, key j in lane j.
        __m512 quad[4];
        for (int j = 0; j < 4; ++j) {
            const __m512* v = p + 4 * j;
            const __m512 s01 = _mm512_add_ps(_mm512_unpacklo_ps(v[0], v[1]), _mm512_unpackhi_ps(v[0], v[1]));
            const __m512 s23 = _mm512_add_ps(_mm512_unpacklo_ps(v[2], v[3]), _mm512_unpackhi_ps(v[2], v[3]));
            quad[j] = _mm512_add_ps(_mm512_shuffle_ps(s01, s23, _MM_SHUFFLE(1, 0, 1, 0)),
                                    _mm512_shuffle_ps(s01, s23, _MM_SHUFFLE(3, 2, 3, 2)));
        }
        // Across the four blocks: block j of the result = keys 4j..4j+3.
        const __m512 ab = _mm512_add_ps(_mm512_shuffle_f32x4(quad[0], quad[1], _MM_SHUFFLE(2, 0, 2, 0)),
                                        _mm512_shuffle_f32x4(quad[0], quad[1], _MM_SHUFFLE(3, 1, 3, 1)));
        const __m512 cd = _mm512_add_ps(_mm512_shuffle_f32x4(quad[2], quad[3], _MM_SHUFFLE(2, 0, 2, 0)),
                                        _mm512_shuffle_f32x4(quad[2], quad[3], _MM_SHUFFLE(3, 1, 3, 1)));
        return _mm512_add_ps(_mm512_shuffle_f32x4(ab, cd, _MM_SHUFFLE(2, 0, 2, 0)),
                             _mm512_shuffle_f32x4(ab, cd, _MM_SHUFFLE(3, 1, 3, 1)));
    }
    static float score_tile(const float* q, const float* k, int64_t nt, int64_t hd, float scale, float* s) {
        float tile_max = -std::numeric_limits<float>::infinity();
        if (hd != 64) {
            for (int64_t i = 0; i < nt; ++i) {
                s[i] = dot(q, k + i * hd, hd) * scale;
                tile_max = std::max(tile_max, s[i]);
            }
            return tile_max;
        }
        const __m512 qv[4] = {_mm512_loadu_ps(q), _mm512_loadu_ps(q + 16), _mm512_loadu_ps(q + 32),
                              _mm512_loadu_ps(q + 48)};
        for (int64_t i0 = 0; i0 < nt; i0 += 16) {
            const int64_t n = std::min<int64_t>(16, nt - i0);
            const __mmask16 m = n == 16 ? static_cast<__mmask16>(0xffff) : tail_mask(n);
            const __m512 sc = _mm512_mul_ps(scores16(qv, k + i0 * 64, n), _mm512_set1_ps(scale));
            _mm512_mask_storeu_ps(s + i0, m, sc);
            tile_max = std::max(tile_max, _mm512_mask_reduce_max_ps(m, sc));
        }
        return tile_max;
    }
    // acc += sum_i w[i] v_i with acc held in registers over the tile when hd is 64 (both models'
    // head size); the FMAs per element are those of axpy, key by key, so results are unchanged.
    static void accumulate(const float* w, const float* v, int64_t nt, float* acc, int64_t hd) {
        if (hd != 64) {
            for (int64_t i = 0; i < nt; ++i) axpy(w[i], v + i * hd, acc, hd);
            return;
        }
        __m512 a0 = _mm512_loadu_ps(acc), a1 = _mm512_loadu_ps(acc + 16), a2 = _mm512_loadu_ps(acc + 32),
               a3 = _mm512_loadu_ps(acc + 48);
        for (int64_t i = 0; i < nt; ++i) {
            const __m512 wi = _mm512_set1_ps(w[i]);
            const float* vi = v + i * 64;
            a0 = _mm512_fmadd_ps(wi, _mm512_loadu_ps(vi), a0);
            a1 = _mm512_fmadd_ps(wi, _mm512_loadu_ps(vi + 16), a1);
            a2 = _mm512_fmadd_ps(wi, _mm512_loadu_ps(vi + 32), a2);
            a3 = _mm512_fmadd_ps(wi, _mm512_loadu_ps(vi + 48), a3);
        }
        _mm512_storeu_ps(acc, a0);
        _mm512_storeu_ps(acc + 16, a1);
        _mm512_storeu_ps(acc + 32, a2);
        _mm512_storeu_ps(acc + 48, a3);
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
        for (; i + 16 <= n; i += 16) _mm512_storeu_ps(x + i, exp_nonpositive(_mm512_loadu_ps(x + i)));
        if (i < n) {
            const __mmask16 m = tail_mask(n - i);
            _mm512_mask_storeu_ps(x + i, m, exp_nonpositive(_mm512_maskz_loadu_ps(m, x + i)));
        }
    }
    static void row_to_f32(TensorType type, const uint8_t* src, float* dst, int64_t n) {
        int64_t i = 0;
        switch (type) {
            case TensorType::F32:
                for (; i < n; i += 16) {
                    const __mmask16 m = n - i >= 16 ? 0xffff : tail_mask(n - i);
                    _mm512_mask_storeu_ps(dst + i, m, _mm512_maskz_loadu_ps(m, reinterpret_cast<const float*>(src) + i));
                }
                return;
            case TensorType::F16: {
                const auto* h = reinterpret_cast<const uint16_t*>(src);
                for (; i + 16 <= n; i += 16)
                    _mm512_storeu_ps(dst + i, _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(h + i))));
                for (; i < n; ++i) dst[i] = fp16_to_f32(h[i]);
                return;
            }
            case TensorType::BF16: {
                const auto* h = reinterpret_cast<const uint16_t*>(src);
                for (; i + 16 <= n; i += 16) {
                    const __m512i w = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(h + i)));
                    _mm512_storeu_ps(dst + i, _mm512_castsi512_ps(_mm512_slli_epi32(w, 16)));
                }
                for (; i < n; ++i) dst[i] = bf16_to_f32(h[i]);
                return;
            }
            case TensorType::Q8_0: {
                // n is a multiple of 32 for Q8_0 rows (the KV cache checks head_dim).
                const auto* blocks = reinterpret_cast<const BlockQ8_0*>(src);
                for (int64_t b = 0; b < n / kQK; ++b) {
                    const __m512 d = _mm512_set1_ps(fp16_to_f32(blocks[b].d));
                    for (int half = 0; half < 2; ++half) {
                        const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blocks[b].qs + 16 * half));
                        _mm512_storeu_ps(dst + b * kQK + 16 * half,
                                         _mm512_mul_ps(d, _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(q))));
                    }
                }
                return;
            }
            default: return dequantize_row(type, src, dst, n);
        }
    }
};

}  // namespace

void attend_spans_avx512(std::span<const KvRowSpan> spans, const float* q, const AttentionShape& shape, float* out) {
    detail::attend_tiled<Avx512Ops>(spans, q, shape, out);
}

}  // namespace silica::kernels
