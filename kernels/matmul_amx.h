// The Q8_0 x16 GEMM (prefill) on Intel AMX: TDPBSSD multiplies a 16 x 32 tile of int8 activations
// (16 activation rows, one block) by one block of a 16-row weight group exactly as quant/repack.h
// lays it out (8 rows of 64 bytes = the VNNI "B" tile format), giving the 16 x 16 integer block
// sums that the AVX-512 kernel (kernels/matmul_repacked_avx512.cpp) builds with 128 vpdpbusd. The
// float part is the same per output (acc += float(isum) * (d_w * d_x), block by block), so the
// results are bit-identical to that kernel's, whatever m or the row split.
#pragma once
#include <cstdint>

#include "kernels/matmul_repacked.h"

namespace silica::kernels {

// Activation rows [0, m16) (m16 a multiple of 16, <= x.rows()) of y = W·x for weight rows
// [r_begin, r_end) of a Q8_0 x16 repacked matrix. Call only when active_amx_int8() (kernels/amx.h)
// and active_isa() is avx512; arguments as checked by matmul(const RepackedMatrix&, ...).
void matmul_q8_0_x16_amx(const RepackedMatrix& w, const Activations& x, float* y, int64_t ldy, int64_t r_begin,
                         int64_t r_end, int64_t m16);

}  // namespace silica::kernels
