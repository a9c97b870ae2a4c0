// AVX2 operations for the attention driver (kernels/attention_tiled.h).
#include <immintrin.h>

#include "kernels/attention_tiled.h"
#include "quant/blocks.h"
#include "quant/dequantize.h"
#include "quant/fp16.h"

namespace silica::kernels {

namespace {

float horizontal_sum(__m256 v) {
    const __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    const __m128 t = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(t, _mm_shuffle_ps(t, t, 1)));
}

// exp(x) for x <= 0, as in attention_avx512.cpp: 2^k * degree-6 Taylor polynomial of r.
__m256 exp_nonpositive(__m256 x) {
    x = _mm256_max_ps(x, _mm256_set1_ps(-87.0f));
    const __m256 k = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504f)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(k, _mm256_set1_ps(0.693145752f), x);
    r = _mm256_fnmadd_ps(k, _mm256_set1_ps(1.42860677e-6f), r);
    __m256 p = _mm256_set1_ps(1.0f / 720);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    const __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(k), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(bits));
}

struct Avx2Ops {
    static float dot(const float* a, const float* b, int64_t n) {
        __m256 s = _mm256_setzero_ps();
        int64_t i = 0;
        for (; i + 8 <= n; i += 8) s = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s);
        float total = horizontal_sum(s);
        for (; i < n; ++i) total += a[i] * b[i];
        return total;
    }
    static void axpy(float a, const float* x, float* y, int64_t n) {
        const __m256 va = _mm256_set1_ps(a);
        int64_t i = 0;
        for (; i + 8 <= n; i += 8)
            _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
        for (; i < n; ++i) y[i] += a * x[i];
    }
    static void scale(float* y, float a, int64_t n) {
        const __m256 va = _mm256_set1_ps(a);
        int64_t i = 0;
        for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_mul_ps(va, _mm256_loadu_ps(y + i)));
        for (; i < n; ++i) y[i] *= a;
    }
    static void exp_inplace(float* x, int64_t n) {
        int64_t i = 0;
        for (; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, exp_nonpositive(_mm256_loadu_ps(x + i)));
        if (i < n) {
            alignas(32) float tail[8] = {};
            for (int64_t j = i; j < n; ++j) tail[j - i] = x[j];
            _mm256_store_ps(tail, exp_nonpositive(_mm256_load_ps(tail)));
            for (int64_t j = i; j < n; ++j) x[j] = tail[j - i];
        }
    }
    static void row_to_f32(TensorType type, const uint8_t* src, float* dst, int64_t n) {
        int64_t i = 0;
        const auto* h = reinterpret_cast<const uint16_t*>(src);
        switch (type) {
            case TensorType::F16:
                for (; i + 8 <= n; i += 8)
                    _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(h + i))));
                for (; i < n; ++i) dst[i] = fp16_to_f32(h[i]);
                return;
            case TensorType::BF16:
                for (; i + 8 <= n; i += 8) {
                    const __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(h + i)));
                    _mm256_storeu_ps(dst + i, _mm256_castsi256_ps(_mm256_slli_epi32(w, 16)));
                }
                for (; i < n; ++i) dst[i] = bf16_to_f32(h[i]);
                return;
            case TensorType::Q8_0: {
                const auto* blocks = reinterpret_cast<const BlockQ8_0*>(src);
                for (int64_t b = 0; b < n / kQK; ++b) {
                    const __m256 d = _mm256_set1_ps(fp16_to_f32(blocks[b].d));
                    for (int part = 0; part < 4; ++part) {
                        const __m128i q = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(blocks[b].qs + 8 * part));
                        _mm256_storeu_ps(dst + b * kQK + 8 * part,
                                         _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q))));
                    }
                }
                return;
            }
            default: return dequantize_row(type, src, dst, n);
        }
    }
};

}  // namespace

void attend_spans_avx2(std::span<const KvRowSpan> spans, const float* q, const AttentionShape& shape, float* out) {
    detail::attend_tiled<Avx2Ops>(spans, q, shape, out);
}

}  // namespace silica::kernels
