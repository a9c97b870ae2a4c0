// The F16 GEMM (prefill) on AMX-BF16, in split precision, for the F16 panels of quant/repack.h.
//
// This CPU class has AMX-BF16 (TDPBF16PS: a 16 x 32 tile of bf16 activations times a 32 x 16
// tile of bf16 weights, summed into 16 x 16 fp32) but no AMX-FP16, and fp16 -> bf16 loses 3 bits
// of mantissa. So every value is split into two bf16 parts:
//   w = w_hi + w_lo exactly: w_hi = bf16(w) (round to nearest even), w_lo = w - w_hi (an fp16
//       has 11 significant bits, bf16 8, so w_lo has at most 3 and is exact in bf16; fp16
//       subnormals are normal numbers in bf16, which has the fp32 exponent range);
//   x ~ x_hi + x_lo: x_hi = bf16(x), x_lo = bf16(x - x_hi) (relative error ~2^-17);
// and y = sum over k of w_hi*x_hi + w_lo*x_hi + w_hi*x_lo: three TDPBF16PS per tile step (the
// dropped w_lo*x_lo is ~2^-18 of a product), fp32 accumulation in the tile. Products of two bf16
// are exact in fp32, so the error is the fp32 accumulation (as in the FMA kernel) plus ~2^-16 of
// the sum of |w*x|. Non-finite weights or activations (absent from real models) give inf/NaN
// outputs, never a crash.
//
// Each output is computed by the same sequence of tile operations whatever the row range, the
// thread count or the batch size m: results do not depend on the row split nor on m, as long as
// m >= kF16AmxMinRows (below it the FMA kernel runs). They differ (by rounding) from the FMA
// kernel's, so a token's logits in prefill differ slightly from the same token's in decode.
#pragma once
#include <cstdint>

#include "kernels/matmul_repacked.h"

namespace silica::kernels {

// Batches from this many activation rows go to the AMX-BF16 F16 GEMM when it is usable. It
// computes activation rows in blocks of 32 (zero-padded), so small batches waste work. Measured
// (matmul_bench, 1 thread, GFLOP/s AMX vs FMA, two runs): gpt2-qkv m = 16: 98-112 vs 122, m = 24:
// 144-170 vs 118-131, m = 64: 296-311 vs 165; gpt2-proj m = 16: 110 vs 114-119, m = 24: 143-168
// vs 113-139, m = 64: 267-312 vs 139-169.
constexpr int64_t kF16AmxMinRows = 20;

// y = W·x for weight rows [r_begin, r_end) of an F16 panel matrix, all x.rows() activation rows
// (float activations, Activations::f32()). Call only when active_amx_bf16() (kernels/amx.h) and
// active_avx512_bf16() (kernels/isa.h); arguments as checked by matmul(const RepackedMatrix&, ...).
void matmul_f16_amx(const RepackedMatrix& w, const Activations& x, float* y, int64_t ldy, int64_t r_begin,
                    int64_t r_end);

// The kernel's split of n fp16 weights (bits) into bf16 hi and lo parts (bits), with the same
// instructions the kernel uses; for tests. Needs active_avx512_bf16().
void split_f16_to_bf16(const uint16_t* w, int64_t n, uint16_t* hi, uint16_t* lo);

}  // namespace silica::kernels
