// One cached K or V row (F16, BF16 or Q8_0; others through the scalar dequantizer) to floats with
// AVX2: what the AVX2 attention kernels convert each key/value tile with (include only from
// *_avx2.cpp files).
#pragma once
#include <immintrin.h>

#include <cstdint>

#include "quant/blocks.h"
#include "quant/dequantize.h"
#include "quant/fp16.h"
#include "quant/types.h"

namespace silica::kernels::avx2 {

inline void kv_row_to_f32(TensorType type, const uint8_t* src, float* dst, int64_t n) {
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
            // n is a multiple of 32 for Q8_0 rows (the KV cache checks head_dim).
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

}  // namespace silica::kernels::avx2
