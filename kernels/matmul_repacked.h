// Matmul of weight matrices repacked at load time into the row-interleaved x16 layout of
// quant/repack.h (Q4_0, MXFP4, Q8_0, and with AVX-512 Q4_K, Q6_K: by int8 activations; F16 panels:
// by float activations), activations prepared for the original type.
//
// The engine opts in per matrix at load time:
//   if (can_repack_x16(m.type) && repacked_kernel_available(m.type)) {
//       buffer = allocate(repacked_bytes(m.type, m.rows, m.cols));   // 64-byte aligned
//       repack_x16(m.type, m.data, m.row_stride, m.rows, m.cols, buffer);
//       RepackedMatrix r{m.type, m.rows, m.cols, buffer};            // then matmul(r, ...)
//   }
// and may then drop the GGUF pages. Activations are prepared exactly as for the GGUF matrix
// (x.prepare(m.type, ...)); results equal matmul_reference_int8 (F16: matmul_reference) on the
// original matrix up to float rounding, and, as for every matmul, do not depend on how
// [r_begin, r_end) is split.
#pragma once
#include <cstdint>

#include "kernels/matmul.h"
#include "quant/types.h"

namespace silica::kernels {

struct RepackedMatrix {
    TensorType type = TensorType::Q4_0;  // the GGUF type the blocks came from
    int64_t rows = 0;                    // logical rows (the layout pads to a multiple of 16)
    int64_t cols = 0;
    const uint8_t* data = nullptr;       // repack_x16 output, repacked_bytes(type, rows, cols) bytes
};

// Rows [first_row, first_row + rows) of a repacked matrix as a matrix of its own; first_row must be
// a multiple of 16 (throws silica::Error otherwise). E.g. GPT-OSS experts stacked as [E][F][C]:
// repack the stack once as E*F rows (F = 2880 is a multiple of 16) and take expert e as
// repacked_rows(stack, e * F, F); otherwise repack each expert on its own.
RepackedMatrix repacked_rows(const RepackedMatrix& w, int64_t first_row, int64_t rows);

// True when the active ISA's table (kernels/kernel_traits.h) has a SIMD kernel for the repacked
// layout of `type` (AVX2 or AVX-512; F16: AVX-512 only). Otherwise matmul(RepackedMatrix) runs the
// scalar reference: keep GGUF order.
bool repacked_kernel_available(TensorType type);

// Same contract as matmul(const Matrix&, ...) in kernels/matmul.h.
void matmul(const RepackedMatrix& w, const Activations& x, float* y, int64_t ldy, int64_t r_begin, int64_t r_end);

// Scalar reference: unpacks each row to GGUF bytes and runs matmul_reference_int8 on it (F16:
// matmul_reference).
void matmul_reference_repacked(const RepackedMatrix& w, const Activations& x, float* y, int64_t ldy,
                               int64_t r_begin, int64_t r_end);

}  // namespace silica::kernels
