// What one core can compute, measured: the denominators of the kernel micro-benchmarks' "fraction
// of peak" counters (bench/matmul_bench.cpp), next to the memory bandwidth probe's.
//
// Each loop runs independent chains of one instruction (enough chains to cover its latency) on
// register-resident data for about `seconds` on the calling thread, and reports operations per
// second: 2 per multiply-add (the GOP/s and GFLOP/s convention of the GEMM counters).
#pragma once

namespace silica::kernels {

// Int8 dot products: vpdpbusd on 512-bit vectors (64 multiply-adds each). 0 below AVX-512.
double measure_vnni_peak_gops(double seconds = 0.2);
// Float multiply-add: vfmadd231ps on 512-bit vectors (16 each) with AVX-512, 256-bit with AVX2.
double measure_fma_peak_gflops(double seconds = 0.2);

}  // namespace silica::kernels
