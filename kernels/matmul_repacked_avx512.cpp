// AVX-512 entry point for the row-interleaved x16 layout (quant/repack.h): picks the block format's
// kernel (kernels/matmul_x16_vnni_avx512.h). MXFP4 goes to the AVX512-VBMI build of the same kernel
// when the CPU has it (kernels/matmul_repacked_vbmi_avx512.cpp): bit-identical, fewer instructions.
#include "kernels/isa.h"
#include "kernels/matmul_isa.h"
#include "kernels/matmul_x16_vnni_avx512.h"

namespace silica::kernels {

using namespace x16;

bool matmul_repacked_avx512(const RepackedMatrix& w, const Activations& x, float* y, int64_t ldy, int64_t r_begin,
                            int64_t r_end) {
    switch (w.type) {
        case TensorType::Q4_0: run<Q4_0x16>(w, x, y, ldy, r_begin, r_end); return true;
        case TensorType::MXFP4:
            if (active_avx512_vbmi()) return matmul_repacked_mxfp4_vbmi(w, x, y, ldy, r_begin, r_end);
            run<MXFP4x16>(w, x, y, ldy, r_begin, r_end);
            return true;
        case TensorType::Q8_0: run<Q8_0x16>(w, x, y, ldy, r_begin, r_end); return true;
        default: return false;
    }
}

}  // namespace silica::kernels
