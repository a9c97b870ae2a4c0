// Row conversions between float32 and storage types on the hot path (KV cache reads and writes):
// F16 (and BF16 reads) with SIMD when the active ISA allows, bit-identical to quant's scalar
// dequantize_row / quantize_row, which every other type goes through.
#pragma once
#include <cstdint>

#include "quant/types.h"

namespace silica::kernels {

void to_f32(TensorType type, const void* src, float* dst, int64_t n);
// n must suit the type as for quantize_row (a multiple of the block size).
void from_f32(TensorType type, const float* src, void* dst, int64_t n);

namespace avx2 {
void f16_to_f32(const uint16_t* src, float* dst, int64_t n);
void bf16_to_f32(const uint16_t* src, float* dst, int64_t n);
void f32_to_f16(const float* src, uint16_t* dst, int64_t n);  // round to nearest even, as f32_to_fp16
}  // namespace avx2

}  // namespace silica::kernels
