// Quantized row -> float32, scalar and bit-exact with ggml's definitions of each format.
// This is the generic reference path: the SIMD kernels (kernels/) are tested against it.
#pragma once
#include <cstdint>

#include "quant/types.h"

namespace silica {

// Dequantizes n elements of `type` stored at src (whole blocks, as in GGUF) into dst.
// Supported: F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, MXFP4.
// Throws silica::Error for other types, negative n, or n not a multiple of the block size.
void dequantize_row(TensorType type, const void* src, float* dst, int64_t n);

// True when dequantize_row supports `type`.
bool can_dequantize(TensorType type);

}  // namespace silica
