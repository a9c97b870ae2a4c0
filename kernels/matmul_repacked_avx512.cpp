// AVX-512 kernels for the row-interleaved x16 layout (quant/repack.h): the kernel of
// kernels/matmul_x16_vnni_avx512.h for each block format. MXFP4 goes to the AVX512-VBMI build of
// the same kernel when the CPU has it (kernels/matmul_repacked_vbmi_avx512.cpp): bit-identical,
// fewer instructions.
#include "kernels/isa.h"
#include "kernels/matmul_isa.h"
#include "kernels/matmul_x16_vnni_avx512.h"

namespace silica::kernels {

using namespace x16;

// The x16 kernels of the AVX-512 type table (kernels/kernel_traits.cpp; F16 panels:
// kernels/matmul_repacked_f16_avx512.cpp).
namespace avx512 {
void matmul_repacked_q8_0(const RepackedMatrix& w, const Activations& x, float* y, int64_t ldy, int64_t r_begin,
                          int64_t r_end) {
    run<Q8_0x16>(w, x, y, ldy, r_begin, r_end);
}
void matmul_repacked_q4_0(const RepackedMatrix& w, const Activations& x, float* y, int64_t ldy, int64_t r_begin,
                          int64_t r_end) {
    run<Q4_0x16>(w, x, y, ldy, r_begin, r_end);
}
void matmul_repacked_q4_k(const RepackedMatrix& w, const Activations& x, float* y, int64_t ldy, int64_t r_begin,
                          int64_t r_end) {
    run<Q4_Kx16>(w, x, y, ldy, r_begin, r_end);
}
void matmul_repacked_q6_k(const RepackedMatrix& w, const Activations& x, float* y, int64_t ldy, int64_t r_begin,
                          int64_t r_end) {
    run<Q6_Kx16>(w, x, y, ldy, r_begin, r_end);
}
void matmul_repacked_mxfp4(const RepackedMatrix& w, const Activations& x, float* y, int64_t ldy, int64_t r_begin,
                           int64_t r_end) {
    if (active_avx512_vbmi())
        matmul_repacked_mxfp4_vbmi(w, x, y, ldy, r_begin, r_end);
    else
        run<MXFP4x16>(w, x, y, ldy, r_begin, r_end);
}
}  // namespace avx512

}  // namespace silica::kernels
