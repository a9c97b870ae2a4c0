// AVX-512 version of quantize_activations_q8 (kernels/activations.h), bit-identical to the scalar
// one: the same max, the same scale and reciprocal, the same x * id products, and vcvtps2dq rounds
// to nearest even exactly as std::nearbyint does in the default rounding mode.
// GCC 12's unmasked AVX-512 intrinsics trip a false -Wmaybe-uninitialized (GCC bug 105593).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include "kernels/activations.h"
#include "kernels/activations_isa.h"

namespace silica::kernels::avx512 {
void quantize_activations_q8(const float* x, ActBlockQ8* out, int32_t* sums, int64_t k) {
    const __m512i lo = _mm512_set1_epi32(-127), hi = _mm512_set1_epi32(127);
    for (int64_t b = 0; b < k / kQK; ++b) {
        const __m512 x0 = _mm512_loadu_ps(x + b * kQK), x1 = _mm512_loadu_ps(x + b * kQK + 16);
        const __m512 a = _mm512_max_ps(_mm512_abs_ps(x0), _mm512_abs_ps(x1));
        const float amax = _mm512_reduce_max_ps(a);
        const float d = amax / 127.0f;
        const float id = d > 0.0f ? 1.0f / d : 0.0f;
        const __m512 vid = _mm512_set1_ps(id);
        __m512i q0 = _mm512_cvtps_epi32(_mm512_mul_ps(x0, vid));
        __m512i q1 = _mm512_cvtps_epi32(_mm512_mul_ps(x1, vid));
        q0 = _mm512_min_epi32(_mm512_max_epi32(q0, lo), hi);
        q1 = _mm512_min_epi32(_mm512_max_epi32(q1, lo), hi);
        _mm_storeu_si128(reinterpret_cast<__m128i*>(out[b].qs), _mm512_cvtepi32_epi8(q0));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(out[b].qs + 16), _mm512_cvtepi32_epi8(q1));
        const int32_t sum = _mm512_reduce_add_epi32(_mm512_add_epi32(q0, q1));
        out[b].d = d;
        out[b].s = d * static_cast<float>(sum);
        if (sums) sums[b] = sum;
    }
}

}  // namespace silica::kernels::avx512
