// Per-ISA loops behind kernels/peak_throughput.h (call only when active_isa() allows them).
#pragma once

namespace silica::kernels {
namespace avx512 {
double vnni_peak_gops(double seconds);
double fma_peak_gflops(double seconds);
}  // namespace avx512
namespace avx2 {
double fma_peak_gflops(double seconds);
}  // namespace avx2
}  // namespace silica::kernels
