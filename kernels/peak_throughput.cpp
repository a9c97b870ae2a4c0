#include "kernels/peak_throughput.h"

#include "kernels/isa.h"
#include "kernels/peak_throughput_isa.h"

namespace silica::kernels {

double measure_vnni_peak_gops(double seconds) {
    return active_isa() >= Isa::avx512 ? avx512::vnni_peak_gops(seconds) : 0.0;
}

double measure_fma_peak_gflops(double seconds) {
    switch (active_isa()) {
        case Isa::avx512: return avx512::fma_peak_gflops(seconds);
        case Isa::avx2: return avx2::fma_peak_gflops(seconds);
        case Isa::scalar: break;
    }
    return 0.0;
}

}  // namespace silica::kernels
