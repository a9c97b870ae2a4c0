// A vector exp for AVX2 kernels (include only from *_avx2.cpp files, which get the ISA flags).
// exp(t) = 2^n * p(r) with n = round(t / ln 2), r = t - n ln 2 (ln 2 split in two so r is exact to
// float precision) and p the degree-6 Taylor polynomial, accurate to about 2 ulp on
// |r| <= ln 2 / 2, as kernels/exp_avx512.h. AVX2 has no vscalefps: 2^n is built in the exponent
// bits, so t is clamped to [-87, 88] where n stays a normal exponent (-126..127). Below -87 the
// result is ~1.6e-38 instead of smaller and above 88 it is ~1.7e38 instead of larger: the callers
// add it to 1 or to sums where that makes no difference (x / (1 + exp(-z)) still reaches x or -0
// to within float rounding of its limit).
#pragma once
#include <immintrin.h>

namespace silica::kernels::avx2 {

inline __m256 exp_ps(__m256 t) {
    t = _mm256_min_ps(_mm256_max_ps(t, _mm256_set1_ps(-87.0f)), _mm256_set1_ps(88.0f));
    const __m256 n = _mm256_round_ps(_mm256_mul_ps(t, _mm256_set1_ps(1.44269504088896341f)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693145751953125f), t);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(1.428606765330187045e-06f), r);
    __m256 p = _mm256_set1_ps(1.0f / 720);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    const __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(bits));
}

// The sum of the 8 lanes.
inline float horizontal_sum(__m256 v) {
    const __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    const __m128 t = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(t, _mm_shuffle_ps(t, t, 1)));
}

// A mask for _mm256_maskload_ps / _mm256_maskstore_ps: the first `left` lanes (0..8) on.
inline __m256i first_lanes(int64_t left) {
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(left < 8 ? left : 8)), lane);
}

}  // namespace silica::kernels::avx2
