// A vector exp for AVX-512 kernels (include only from *_avx512.cpp files, which get the ISA flags).
// exp(t) = 2^n * p(r) with n = round(t / ln 2), r = t - n ln 2 (ln 2 split in two so r is exact to
// float precision) and p the degree-6 Taylor polynomial, accurate to about 2 ulp on
// |r| <= ln 2 / 2. t is clamped to [-104, 89]; vscalefps applies 2^n, overflowing to +inf for
// large t and reaching 0 (through subnormals) for very negative t.
#pragma once
#include <immintrin.h>

namespace silica::kernels::avx512 {

// (all-lanes masked forms: GCC 12's unmasked intrinsics trip -Wmaybe-uninitialized, bug 105593)
inline __m512 exp_ps(__m512 t) {
    constexpr __mmask16 kAll = 0xFFFF;
    t = _mm512_maskz_min_ps(kAll, _mm512_maskz_max_ps(kAll, t, _mm512_set1_ps(-104.0f)), _mm512_set1_ps(89.0f));
    const __m512 n = _mm512_maskz_roundscale_ps(kAll, _mm512_mul_ps(t, _mm512_set1_ps(1.44269504088896341f)),
                                                _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693145751953125f), t);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(1.428606765330187045e-06f), r);
    __m512 p = _mm512_set1_ps(1.0f / 720);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    return _mm512_maskz_scalef_ps(kAll, p, n);
}

}  // namespace silica::kernels::avx512
