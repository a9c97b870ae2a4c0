// The x16 GEMM (prefill) on Intel AMX, for the repacked Q8_0, Q4_0 and MXFP4 layouts of
// quant/repack.h. TDPBSSD multiplies a 16 x 32 tile of int8 activations (16 activation rows, one
// block) by one block of a 16-row weight group in the layout the repacking already has (8 rows of
// 64 bytes, 4 consecutive elements per row: AMX's "B" tile format), giving the 16 x 16 integer
// block sums that the AVX-512 kernel (kernels/matmul_repacked_avx512.cpp) builds with 128
// vpdpbusd. Q8_0 tiles are read as they are; Q4_0 and MXFP4 tiles are first decoded to signed int8
// (code - 8; doubled E2M1 value), once per panel of groups. The float part is the AVX-512 kernel's
// (acc += float(isum) * (d_w * d_x), block by block, the same scale vectors), so results are
// bit-identical to it whatever m or the row split.
#pragma once
#include <cstdint>

#include "kernels/matmul_repacked.h"

namespace silica::kernels {

// y = W·x for weight rows [r_begin, r_end) of an x16 repacked matrix of type Q8_0, Q4_0 or MXFP4
// (returns false for other types), all x.rows() activation rows (a last partial chunk of 16 is
// padded with zero rows). Call only when active_amx_int8() (kernels/amx.h) and active_isa() is
// avx512; arguments as checked by matmul(const RepackedMatrix&, ...).
bool matmul_x16_amx(const RepackedMatrix& w, const Activations& x, float* y, int64_t ldy, int64_t r_begin,
                    int64_t r_end);

}  // namespace silica::kernels
