// Scalar reference matmuls: the plainest correct code, used by the scalar ISA, by the faster ISAs
// for weight types they have no kernel for, and by the tests as the ground truth.
#pragma once
#include <cstdint>

#include "kernels/matmul.h"

namespace silica::kernels {

// Dequantizes each weight row (quant/dequantize.h) and dots it with the float activations in
// double precision. Works for every weight type Activations accepts.
void matmul_reference(const Matrix& w, const Activations& x, float* y, int64_t ldy, int64_t r_begin,
                      int64_t r_end);

// True for the weight types matmul_reference_int8 (and the SIMD int8 kernels) handle.
bool has_int8_kernel(TensorType weight_type);

// The exact integer arithmetic of the SIMD int8 kernels, in scalar code: each 32-block of weights
// is decoded to int8 codes q, a scale d and a min m (value = d*q + m; MXFP4 codes are doubled and
// its scale halved), then y = sum over blocks of d*dx*sum(q*qx) + m*sx, summed in double.
// The SIMD kernels must agree with it up to float summation order.
void matmul_reference_int8(const Matrix& w, const Activations& x, float* y, int64_t ldy,
                           int64_t r_begin, int64_t r_end);

// One weight block decoded for the int8 reference (exposed for tests).
struct DecodedBlockQ8 {
    int8_t q[32];
    float d;
    float m;
};
void decode_block_int8(TensorType weight_type, const uint8_t* block, DecodedBlockQ8& out);

// Half-precision bits -> float (scalar, exact).
float fp16_to_f32(uint16_t h);
// bf16 bits -> float (exact).
float bf16_to_f32(uint16_t h);
// The MXFP4 block scale, halved to match the doubled int8 codes: 2^(e - 128).
float mxfp4_half_scale(uint8_t e);

}  // namespace silica::kernels
