// AVX2 GELU, clamped SwiGLU, layer norm, add, the sum of exponentials and argmax: the AVX-512
// versions (kernels/ops_avx512.cpp) at 8 lanes, with the same x / (1 + exp(-z)) forms and
// kernels/exp_avx2.h's exp. Tails shorter than a vector go through masked loads and stores or
// the scalar formulas.
#include <immintrin.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <limits>

#include "kernels/exp_avx2.h"
#include "kernels/ops_isa.h"

namespace silica::kernels::avx2 {
namespace {

// x / (1 + exp(-z))
inline __m256 times_sigmoid(__m256 x, __m256 z) {
    const __m256 e = exp_ps(_mm256_sub_ps(_mm256_setzero_ps(), z));
    return _mm256_div_ps(x, _mm256_add_ps(_mm256_set1_ps(1.0f), e));
}

inline __m256 gelu(__m256 x) {
    // z = 2 * sqrt(2/pi) * (x + 0.044715 x^3)
    const __m256 x2 = _mm256_mul_ps(x, x);
    const __m256 inner = _mm256_fmadd_ps(_mm256_mul_ps(x2, _mm256_set1_ps(0.044715f)), x, x);
    return times_sigmoid(x, _mm256_mul_ps(inner, _mm256_set1_ps(2.0f * 0.79788456080286535588f)));
}

inline __m256 swiglu(__m256 gate, __m256 up, __m256 alpha, __m256 limit) {
    const __m256 g = _mm256_min_ps(gate, limit);
    const __m256 u = _mm256_max_ps(_mm256_min_ps(up, limit), _mm256_sub_ps(_mm256_setzero_ps(), limit));
    return _mm256_mul_ps(times_sigmoid(g, _mm256_mul_ps(alpha, g)), _mm256_add_ps(u, _mm256_set1_ps(1.0f)));
}

// y[i] = f(y[i], x[i]) for n floats (x may be null: f then sees zeros), full vectors first, then
// the tail through masked loads and stores.
template <class F>
inline void zip_in_place(float* y, const float* x, int64_t n, F f) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, f(_mm256_loadu_ps(y + i), x ? _mm256_loadu_ps(x + i) : _mm256_setzero_ps()));
    if (i < n) {
        const __m256i m = first_lanes(n - i);
        _mm256_maskstore_ps(y + i, m, f(_mm256_maskload_ps(y + i, m), x ? _mm256_maskload_ps(x + i, m) : _mm256_setzero_ps()));
    }
}

double sum_lanes(__m256d v) {
    alignas(32) double lanes[4];
    _mm256_store_pd(lanes, v);
    return (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
}

}  // namespace

void layer_norm(const float* x, const float* w, const float* b, float* y, int64_t n, float eps) {
    // Passes 1 and 2 in double, 8 floats per step as two halves of 4 widened to double; the tail
    // (n mod 8) in scalar double.
    const int64_t full = n / 8 * 8;
    __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd();
    for (int64_t i = 0; i < full; i += 8) {
        s0 = _mm256_add_pd(s0, _mm256_cvtps_pd(_mm_loadu_ps(x + i)));
        s1 = _mm256_add_pd(s1, _mm256_cvtps_pd(_mm_loadu_ps(x + i + 4)));
    }
    double sum = sum_lanes(_mm256_add_pd(s0, s1));
    for (int64_t i = full; i < n; ++i) sum += x[i];
    const double mean = sum / static_cast<double>(n);
    const __m256d vmean = _mm256_set1_pd(mean);
    __m256d v0 = _mm256_setzero_pd(), v1 = _mm256_setzero_pd();
    for (int64_t i = 0; i < full; i += 8) {
        const __m256d d0 = _mm256_sub_pd(_mm256_cvtps_pd(_mm_loadu_ps(x + i)), vmean);
        const __m256d d1 = _mm256_sub_pd(_mm256_cvtps_pd(_mm_loadu_ps(x + i + 4)), vmean);
        v0 = _mm256_fmadd_pd(d0, d0, v0);
        v1 = _mm256_fmadd_pd(d1, d1, v1);
    }
    double var = sum_lanes(_mm256_add_pd(v0, v1));
    for (int64_t i = full; i < n; ++i) var += (x[i] - mean) * (x[i] - mean);
    var /= static_cast<double>(n);
    const __m256 scale = _mm256_set1_ps(static_cast<float>(1.0 / std::sqrt(var + eps)));
    const __m256 fmean = _mm256_set1_ps(static_cast<float>(mean));
    int64_t i = 0;
    auto normalise = [&](__m256 xv, __m256 wv) { return _mm256_mul_ps(_mm256_mul_ps(_mm256_sub_ps(xv, fmean), scale), wv); };
    for (; i + 8 <= n; i += 8) {
        __m256 v = normalise(_mm256_loadu_ps(x + i), _mm256_loadu_ps(w + i));
        if (b) v = _mm256_add_ps(v, _mm256_loadu_ps(b + i));
        _mm256_storeu_ps(y + i, v);
    }
    if (i < n) {
        const __m256i m = first_lanes(n - i);
        __m256 v = normalise(_mm256_maskload_ps(x + i, m), _mm256_maskload_ps(w + i, m));
        if (b) v = _mm256_add_ps(v, _mm256_maskload_ps(b + i, m));
        _mm256_maskstore_ps(y + i, m, v);
    }
}

void gelu_tanh(float* x, int64_t n) {
    zip_in_place(x, nullptr, n, [](__m256 v, __m256) { return gelu(v); });
}

void add_gelu_tanh(float* x, const float* b, int64_t n) {
    zip_in_place(x, b, n, [](__m256 v, __m256 bias) { return gelu(_mm256_add_ps(v, bias)); });
}

void add(float* y, const float* x, int64_t n) {
    zip_in_place(y, x, n, [](__m256 v, __m256 xv) { return _mm256_add_ps(v, xv); });
}

double sum_exp(const float* x, int64_t n, float shift) {
    const __m256 vs = _mm256_set1_ps(shift);
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        s0 = _mm256_add_ps(s0, exp_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i), vs)));
        s1 = _mm256_add_ps(s1, exp_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i + 8), vs)));
    }
    double sum = horizontal_sum(_mm256_add_ps(s0, s1));
    for (; i < n; ++i) sum += std::exp(static_cast<double>(x[i]) - shift);
    return sum;
}

int64_t argmax(const float* x, int64_t n) {
    // Pass 1: the maximum. vmaxps returns its second operand when the first is NaN, so NaN
    // entries never reach the running maxima; the tail is scanned in scalar code.
    const float minus_inf = -std::numeric_limits<float>::infinity();
    __m256 m0 = _mm256_set1_ps(minus_inf), m1 = m0;
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        m0 = _mm256_max_ps(_mm256_loadu_ps(x + i), m0);
        m1 = _mm256_max_ps(_mm256_loadu_ps(x + i + 8), m1);
    }
    alignas(32) float lanes[8];
    _mm256_store_ps(lanes, _mm256_max_ps(m0, m1));
    float best = minus_inf;
    for (float l : lanes) best = std::max(best, l);
    for (; i < n; ++i)
        if (x[i] > best) best = x[i];  // false for NaN
    if (best == minus_inf) return -1;
    // Pass 2: the first entry at least the (clamped) maximum: +inf counts as FLT_MAX, NaN
    // compares false.
    const float clamped = std::min(best, FLT_MAX);
    const __m256 target = _mm256_set1_ps(clamped);
    for (i = 0; i + 8 <= n; i += 8) {
        const int hit = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(x + i), target, _CMP_GE_OQ));
        if (hit) return i + __builtin_ctz(static_cast<unsigned>(hit));
    }
    for (; i < n; ++i)
        if (x[i] >= clamped) return i;
    return -1;  // not reached
}

void swiglu_clamped(const float* gate, const float* up, float* out, int64_t n, float alpha, float limit) {
    const __m256 va = _mm256_set1_ps(alpha), vl = _mm256_set1_ps(limit);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(out + i, swiglu(_mm256_loadu_ps(gate + i), _mm256_loadu_ps(up + i), va, vl));
    if (i < n) {
        const __m256i m = first_lanes(n - i);
        _mm256_maskstore_ps(out + i, m, swiglu(_mm256_maskload_ps(gate + i, m), _mm256_maskload_ps(up + i, m), va, vl));
    }
}

}  // namespace silica::kernels::avx2
