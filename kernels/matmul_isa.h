// The per-ISA entry points of the matmul kernels (kernels/matmul_simd_body.h compiled per ISA).
// Each returns false when it has no kernel for the weight type; kernels/matmul.cpp then uses the
// scalar reference. Call only when active_isa() allows the ISA.
#pragma once
#include <cstdint>

#include "kernels/matmul.h"
#include "kernels/matmul_repacked.h"

namespace silica::kernels {

bool matmul_avx2(const Matrix& w, const Activations& x, float* y, int64_t ldy, int64_t r_begin, int64_t r_end);
bool matmul_avx512(const Matrix& w, const Activations& x, float* y, int64_t ldy, int64_t r_begin, int64_t r_end);

// Row-interleaved Q4_0 / MXFP4 / Q8_0 (quant/repack.h).
bool matmul_repacked_avx2(const RepackedMatrix& w, const Activations& x, float* y, int64_t ldy, int64_t r_begin,
                          int64_t r_end);
bool matmul_repacked_avx512(const RepackedMatrix& w, const Activations& x, float* y, int64_t ldy, int64_t r_begin,
                            int64_t r_end);
// The MXFP4 x16 kernel built for AVX512-VBMI (kernels/matmul_repacked_vbmi_avx512.cpp); call only
// when active_avx512_vbmi().
bool matmul_repacked_mxfp4_vbmi(const RepackedMatrix& w, const Activations& x, float* y, int64_t ldy, int64_t r_begin,
                                int64_t r_end);
// F16 panels (kernels/matmul_repacked_f16_avx512.cpp).
bool matmul_repacked_f16_avx512(const RepackedMatrix& w, const Activations& x, float* y, int64_t ldy,
                                int64_t r_begin, int64_t r_end);

}  // namespace silica::kernels
