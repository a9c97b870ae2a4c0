// One cached K or V row (F32, F16, BF16 or Q8_0) to floats with AVX-512: what the attention
// kernels convert each key/value tile with (include only from *_avx512.cpp files).
#pragma once
#include <immintrin.h>

#include <cstdint>

#include "quant/blocks.h"
#include "quant/dequantize.h"
#include "quant/fp16.h"
#include "quant/types.h"

namespace silica::kernels::avx512 {

// Lanes [0, n) of a 16-float vector, for the tail of a row.
inline __mmask16 tail_mask(int64_t n) { return static_cast<__mmask16>((1u << n) - 1u); }

inline void kv_row_to_f32(TensorType type, const uint8_t* src, float* dst, int64_t n) {
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

}  // namespace silica::kernels::avx512
