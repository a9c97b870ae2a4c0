// AVX2 peak loop (kernels/peak_throughput.h).
#include <immintrin.h>

#include "kernels/peak_throughput_isa.h"
#include "kernels/peak_throughput_loops.h"

namespace silica::kernels::avx2 {
namespace {
constexpr int kChains = 12;
volatile float g_float_sink;
}  // namespace

double fma_peak_gflops(double seconds) {
    __m256 acc[kChains];
    for (int c = 0; c < kChains; ++c) acc[c] = _mm256_set1_ps(static_cast<float>(c));
    const __m256 a = _mm256_set1_ps(0.999f), b = _mm256_set1_ps(0.001f);
    const double gflops = detail::ops_per_second(seconds, kChains * 8 * 2.0, [&] {
        for (int c = 0; c < kChains; ++c) acc[c] = _mm256_fmadd_ps(acc[c], a, b);
    });
    __m256 sum = acc[0];
    for (int c = 1; c < kChains; ++c) sum = _mm256_add_ps(sum, acc[c]);
    alignas(32) float lanes[8];
    _mm256_store_ps(lanes, sum);
    g_float_sink = lanes[0] + lanes[7];
    return gflops;
}

}  // namespace silica::kernels::avx2
