// Row conversions to float32 on the hot path (KV cache reads): F16 and BF16 with SIMD when the
// active ISA allows, every other type through quant's scalar dequantize_row.
#pragma once
#include <cstdint>

#include "quant/types.h"

namespace silica::kernels {

void to_f32(TensorType type, const void* src, float* dst, int64_t n);

namespace avx2 {
void f16_to_f32(const uint16_t* src, float* dst, int64_t n);
void bf16_to_f32(const uint16_t* src, float* dst, int64_t n);
}  // namespace avx2

}  // namespace silica::kernels
