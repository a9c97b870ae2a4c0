// AVX-512 GELU, clamped SwiGLU, the sum of exponentials and argmax. GELU and SwiGLU are x * sigmoid(z) in disguise:
//   0.5 x (1 + tanh(u)) = x / (1 + exp(-2u)),   g * sigmoid(alpha g) = g / (1 + exp(-alpha g)),
// so one vector exp (kernels/exp_avx512.h) does it; exp overflowing to +inf for large arguments
// makes the division reach the correct limit (-0 or 0).
// GCC 12's unmasked AVX-512 reductions trip false (maybe-)uninitialized warnings (GCC bug 105593).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

#include <cfloat>
#include <cmath>
#include <limits>

#include "kernels/exp_avx512.h"
#include "kernels/ops_isa.h"

namespace silica::kernels::avx512 {
namespace {

// (all-lanes masked forms: GCC 12's unmasked intrinsics trip -Wmaybe-uninitialized, bug 105593)
constexpr __mmask16 kAll = 0xFFFF;
inline __m512 min_ps(__m512 a, __m512 b) { return _mm512_maskz_min_ps(kAll, a, b); }
inline __m512 max_ps(__m512 a, __m512 b) { return _mm512_maskz_max_ps(kAll, a, b); }

// x / (1 + exp(-z))
inline __m512 times_sigmoid(__m512 x, __m512 z) {
    const __m512 e = exp_ps(_mm512_sub_ps(_mm512_setzero_ps(), z));
    return _mm512_div_ps(x, _mm512_add_ps(_mm512_set1_ps(1.0f), e));
}

inline __m512 gelu(__m512 x) {
    // z = 2 * sqrt(2/pi) * (x + 0.044715 x^3)
    const __m512 x2 = _mm512_mul_ps(x, x);
    const __m512 inner = _mm512_fmadd_ps(_mm512_mul_ps(x2, _mm512_set1_ps(0.044715f)), x, x);
    return times_sigmoid(x, _mm512_mul_ps(inner, _mm512_set1_ps(2.0f * 0.79788456080286535588f)));
}

inline __m512 swiglu(__m512 gate, __m512 up, __m512 alpha, __m512 limit) {
    const __m512 g = min_ps(gate, limit);
    const __m512 u = max_ps(min_ps(up, limit), _mm512_sub_ps(_mm512_setzero_ps(), limit));
    return _mm512_mul_ps(times_sigmoid(g, _mm512_mul_ps(alpha, g)), _mm512_add_ps(u, _mm512_set1_ps(1.0f)));
}

}  // namespace

void layer_norm(const float* x, const float* w, const float* b, float* y, int64_t n, float eps) {
    // Passes 1 and 2 in double, 16 floats per step as two halves of 8 widened to double; lanes
    // past n are masked off (loaded as 0 and left out of the differences).
    auto half_mask = [n](int64_t first) {
        const int64_t left = n - first;
        return left >= 8 ? static_cast<__mmask8>(0xFF) : left <= 0 ? static_cast<__mmask8>(0) : static_cast<__mmask8>((1u << left) - 1);
    };
    auto widen = [](__mmask8 m, const float* p) {
        return _mm512_maskz_cvtps_pd(static_cast<__mmask8>(0xFF), _mm256_maskz_loadu_ps(m, p));
    };
    __m512d s0 = _mm512_setzero_pd(), s1 = _mm512_setzero_pd();
    for (int64_t i = 0; i < n; i += 16) {
        s0 = _mm512_add_pd(s0, widen(half_mask(i), x + i));
        s1 = _mm512_add_pd(s1, widen(half_mask(i + 8), x + i + 8));
    }
    // (lane sums added in scalar code: GCC 12's _mm512_reduce_add_pd trips -Wuninitialized)
    auto sum_lanes = [](__m512d v) {
        alignas(64) double lanes[8];
        _mm512_store_pd(lanes, v);
        double sum = 0.0;
        for (double l : lanes) sum += l;
        return sum;
    };
    const double mean = sum_lanes(_mm512_add_pd(s0, s1)) / static_cast<double>(n);
    const __m512d vmean = _mm512_set1_pd(mean);
    __m512d v0 = _mm512_setzero_pd(), v1 = _mm512_setzero_pd();
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask8 m0 = half_mask(i), m1 = half_mask(i + 8);
        const __m512d d0 = _mm512_maskz_sub_pd(m0, widen(m0, x + i), vmean);
        const __m512d d1 = _mm512_maskz_sub_pd(m1, widen(m1, x + i + 8), vmean);
        v0 = _mm512_fmadd_pd(d0, d0, v0);
        v1 = _mm512_fmadd_pd(d1, d1, v1);
    }
    const double var = sum_lanes(_mm512_add_pd(v0, v1)) / static_cast<double>(n);
    const __m512 scale = _mm512_set1_ps(static_cast<float>(1.0 / std::sqrt(var + eps)));
    const __m512 fmean = _mm512_set1_ps(static_cast<float>(mean));
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 m = n - i >= 16 ? kAll : static_cast<__mmask16>((1u << (n - i)) - 1);
        __m512 v = _mm512_mul_ps(_mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + i), fmean), scale),
                                 _mm512_maskz_loadu_ps(m, w + i));
        if (b) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, b + i));
        _mm512_mask_storeu_ps(y + i, m, v);
    }
}

void gelu_tanh(float* x, int64_t n) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(x + i, gelu(_mm512_loadu_ps(x + i)));
    if (i < n) {
        const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1);
        _mm512_mask_storeu_ps(x + i, m, gelu(_mm512_maskz_loadu_ps(m, x + i)));
    }
}

void add_gelu_tanh(float* x, const float* b, int64_t n) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(x + i, gelu(_mm512_add_ps(_mm512_loadu_ps(x + i), _mm512_loadu_ps(b + i))));
    if (i < n) {
        const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1);
        _mm512_mask_storeu_ps(x + i, m, gelu(_mm512_add_ps(_mm512_maskz_loadu_ps(m, x + i), _mm512_maskz_loadu_ps(m, b + i))));
    }
}

void add(float* y, const float* x, int64_t n) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, _mm512_add_ps(_mm512_loadu_ps(y + i), _mm512_loadu_ps(x + i)));
    if (i < n) {
        const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1);
        _mm512_mask_storeu_ps(y + i, m, _mm512_add_ps(_mm512_maskz_loadu_ps(m, y + i), _mm512_maskz_loadu_ps(m, x + i)));
    }
}

double sum_exp(const float* x, int64_t n, float shift) {
    // Masked-off tail lanes load -inf, whose exp is 0 (exp_ps clamps the argument to -104).
    const __m512 vs = _mm512_set1_ps(shift), minus_inf = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 = _mm512_add_ps(s0, exp_ps(_mm512_sub_ps(_mm512_loadu_ps(x + i), vs)));
        s1 = _mm512_add_ps(s1, exp_ps(_mm512_sub_ps(_mm512_loadu_ps(x + i + 16), vs)));
    }
    for (; i < n; i += 16) {
        const int64_t left = n - i;
        const __mmask16 m = left >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << left) - 1);
        s0 = _mm512_add_ps(s0, exp_ps(_mm512_sub_ps(_mm512_mask_loadu_ps(minus_inf, m, x + i), vs)));
    }
    alignas(64) float lanes[16];
    _mm512_store_ps(lanes, _mm512_add_ps(s0, s1));
    double sum = 0.0;
    for (float l : lanes) sum += l;
    return sum;
}

int64_t argmax(const float* x, int64_t n) {
    // Pass 1: the maximum. vmaxps returns its second operand when the first is NaN, so NaN
    // entries never reach the running maxima; masked-off tail lanes load -inf.
    const __m512 minus_inf = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
    __m512 m0 = minus_inf, m1 = minus_inf;
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        m0 = _mm512_max_ps(_mm512_loadu_ps(x + i), m0);
        m1 = _mm512_max_ps(_mm512_loadu_ps(x + i + 16), m1);
    }
    for (; i < n; i += 16) {
        const int64_t left = n - i;
        const __mmask16 m = left >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << left) - 1);
        m0 = _mm512_max_ps(_mm512_mask_loadu_ps(minus_inf, m, x + i), m0);
    }
    const float best = _mm512_reduce_max_ps(_mm512_max_ps(m0, m1));
    if (best == -std::numeric_limits<float>::infinity()) return -1;
    // Pass 2: the first entry at least the (clamped) maximum: +inf counts as FLT_MAX, NaN
    // compares false.
    const __m512 target = _mm512_set1_ps(std::min(best, FLT_MAX));
    for (i = 0; i < n; i += 16) {
        const int64_t left = n - i;
        const __mmask16 m = left >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << left) - 1);
        const __mmask16 hit = _mm512_mask_cmp_ps_mask(m, _mm512_maskz_loadu_ps(m, x + i), target, _CMP_GE_OQ);
        if (hit) return i + __builtin_ctz(hit);
    }
    return -1;  // not reached
}

void swiglu_clamped(const float* gate, const float* up, float* out, int64_t n, float alpha, float limit) {
    const __m512 va = _mm512_set1_ps(alpha), vl = _mm512_set1_ps(limit);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(out + i, swiglu(_mm512_loadu_ps(gate + i), _mm512_loadu_ps(up + i), va, vl));
    if (i < n) {
        const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1);
        _mm512_mask_storeu_ps(out + i, m,
                              swiglu(_mm512_maskz_loadu_ps(m, gate + i), _mm512_maskz_loadu_ps(m, up + i), va, vl));
    }
}

}  // namespace silica::kernels::avx512
