// The SIMD matmul kernels each ISA puts in its table (kernels/kernel_traits.cpp), one function per
// weight type and layout. Call only when active_isa() allows the ISA; arguments as checked by
// matmul() (kernels/matmul.h, kernels/matmul_repacked.h).
//
// (Declared through the function types: `MatmulKernel matmul_q8_0;` declares
// `void matmul_q8_0(const Matrix&, const Activations&, float*, int64_t, int64_t, int64_t);`.)
#pragma once
#include <cstdint>

#include "kernels/matmul.h"
#include "kernels/matmul_repacked.h"

namespace silica::kernels {

using MatmulKernel = void(const Matrix& w, const Activations& x, float* y, int64_t ldy, int64_t r_begin,
                          int64_t r_end);
using RepackedMatmulKernel = void(const RepackedMatrix& w, const Activations& x, float* y, int64_t ldy,
                                  int64_t r_begin, int64_t r_end);

// AVX2 + FMA + F16C: GGUF layout (kernels/matmul_simd_body.h in kernels/matmul_avx2.cpp) and the
// x16 layout (kernels/matmul_repacked_avx2.cpp).
namespace avx2 {
MatmulKernel matmul_q8_0, matmul_q4_0, matmul_q4_1, matmul_q5_0, matmul_q5_1, matmul_mxfp4, matmul_q4_k,
    matmul_q5_k, matmul_q6_k, matmul_f32, matmul_f16, matmul_bf16;
RepackedMatmulKernel matmul_repacked_q8_0, matmul_repacked_q4_0, matmul_repacked_mxfp4;
// F16 panels (kernels/matmul_repacked_f16_avx2.cpp).
RepackedMatmulKernel matmul_repacked_f16;
}  // namespace avx2

// AVX-512 F/BW/VL/VNNI: GGUF layout (kernels/matmul_simd_body.h in kernels/matmul_avx512.cpp; BF16
// with vdpbf16ps when active_avx512_bf16()), the x16 layout (kernels/matmul_repacked_avx512.cpp;
// MXFP4 with vpermb when active_avx512_vbmi(), kernels/matmul_repacked_vbmi_avx512.cpp) and the
// F16 panels (kernels/matmul_repacked_f16_avx512.cpp).
namespace avx512 {
MatmulKernel matmul_q8_0, matmul_q4_0, matmul_q4_1, matmul_q5_0, matmul_q5_1, matmul_mxfp4, matmul_q4_k,
    matmul_q5_k, matmul_q6_k, matmul_f32, matmul_f16, matmul_bf16;
RepackedMatmulKernel matmul_repacked_q8_0, matmul_repacked_q4_0, matmul_repacked_mxfp4, matmul_repacked_f16;
RepackedMatmulKernel matmul_repacked_q4_k, matmul_repacked_q6_k;
// The MXFP4 x16 kernel built for AVX512-VBMI; call only when active_avx512_vbmi().
RepackedMatmulKernel matmul_repacked_mxfp4_vbmi;
}  // namespace avx512

}  // namespace silica::kernels
