// Scalar reference matmuls: the plainest correct code. They are the scalar ISA's kernels in the
// type table (kernels/kernel_traits.h), the arithmetic each SIMD entry follows, and the tests'
// ground truth.
#pragma once
#include <cstdint>

#include "kernels/matmul.h"

namespace silica::kernels {

// Dequantizes each weight row (quant/dequantize.h) and dots it with the float activations in
// double precision. Works for every weight type Activations accepts.
void matmul_reference(const Matrix& w, const Activations& x, float* y, int64_t ldy, int64_t r_begin,
                      int64_t r_end);

// True for the weight types matmul_reference_int8 (and the SIMD int8 kernels) handle: those whose
// entry in the type table (kernels/kernel_traits.h) has a decode_block.
bool has_int8_kernel(TensorType weight_type);

// The exact integer arithmetic of the SIMD int8 kernels, in scalar code: each 32-block of weights
// is decoded to int8 codes q, integer scales sc[0], sc[1] of its two 16-element halves, a float
// scale d and a min m (value = d*sc*q + m; MXFP4 codes are doubled and its scale halved), then
//   y = sum over blocks of (d*dx) * (sc[0]*sum_{j<16} q*qx + sc[1]*sum_{j>=16} q*qx) + m*sx,
// the integer part exact, the float sum in double. The SIMD kernels must agree with it up to
// float rounding and summation order.
void matmul_reference_int8(const Matrix& w, const Activations& x, float* y, int64_t ldy,
                           int64_t r_begin, int64_t r_end);

// One 32-element weight block decoded for the int8 reference (exposed for tests).
//  * Q8_0 … Q5_1, MXFP4: sc = {1, 1}.
//  * Q4_K, Q5_K (8 blocks of 32 per 256-element super-block, 6-bit scale s and min n each):
//    q = the 4/5-bit code (0..31), sc = {1, 1}, d = d_super * s (exact in float), m = -dmin * n.
//  * Q6_K (16 sub-blocks of 16 with int8 scales): q = code - 32, sc = the two sub-block scales,
//    d = d_super.
struct DecodedBlockQ8 {
    int8_t q[32];
    int32_t sc[2];
    float d;
    float m;
};
// Decodes the 32-element block number `b` (counted from the row start) of a weight row: the type
// table's decode_block for the type.
void decode_block_int8(TensorType weight_type, const uint8_t* row, int64_t b, DecodedBlockQ8& out);
// The decoders of each type (the entries' decode_block in kernels/kernel_traits.cpp).
void decode_block_q8_0(const uint8_t* row, int64_t b, DecodedBlockQ8& out);
void decode_block_q4_0(const uint8_t* row, int64_t b, DecodedBlockQ8& out);
void decode_block_q4_1(const uint8_t* row, int64_t b, DecodedBlockQ8& out);
void decode_block_q5_0(const uint8_t* row, int64_t b, DecodedBlockQ8& out);
void decode_block_q5_1(const uint8_t* row, int64_t b, DecodedBlockQ8& out);
void decode_block_mxfp4(const uint8_t* row, int64_t b, DecodedBlockQ8& out);
void decode_block_q4_k(const uint8_t* row, int64_t b, DecodedBlockQ8& out);
void decode_block_q5_k(const uint8_t* row, int64_t b, DecodedBlockQ8& out);
void decode_block_q6_k(const uint8_t* row, int64_t b, DecodedBlockQ8& out);

// Half-precision bits -> float (scalar, exact).
float fp16_to_f32(uint16_t h);
// bf16 bits -> float (exact).
float bf16_to_f32(uint16_t h);
// The MXFP4 block scale, halved to match the doubled int8 codes: 2^(e - 128).
float mxfp4_half_scale(uint8_t e);

}  // namespace silica::kernels
