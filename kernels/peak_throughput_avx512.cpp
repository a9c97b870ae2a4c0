// AVX-512 peak loops (kernels/peak_throughput.h).
// GCC 12's unmasked AVX-512 intrinsics trip a false -Wmaybe-uninitialized (GCC bug 105593).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <cstdint>

#include "kernels/peak_throughput_isa.h"
#include "kernels/peak_throughput_loops.h"

namespace silica::kernels::avx512 {
namespace {
// Independent accumulators: more than latency x throughput of either instruction on current cores.
constexpr int kChains = 12;
volatile float g_float_sink;
volatile int g_int_sink;
}  // namespace

double vnni_peak_gops(double seconds) {
    __m512i acc[kChains];
    for (int c = 0; c < kChains; ++c) acc[c] = _mm512_set1_epi32(c);
    const __m512i a = _mm512_set1_epi8(1), b = _mm512_set1_epi8(2);
    const double gops = detail::ops_per_second(seconds, kChains * 64 * 2.0, [&] {
        for (int c = 0; c < kChains; ++c) acc[c] = _mm512_dpbusd_epi32(acc[c], a, b);
    });
    alignas(64) int32_t lanes[16];
    _mm512_store_si512(lanes, acc[0]);
    for (int c = 1; c < kChains; ++c) _mm512_store_si512(lanes, _mm512_add_epi32(_mm512_load_si512(lanes), acc[c]));
    g_int_sink = lanes[0] + lanes[15];
    return gops;
}

double fma_peak_gflops(double seconds) {
    __m512 acc[kChains];
    for (int c = 0; c < kChains; ++c) acc[c] = _mm512_set1_ps(static_cast<float>(c));
    const __m512 a = _mm512_set1_ps(0.999f), b = _mm512_set1_ps(0.001f);
    const double gflops = detail::ops_per_second(seconds, kChains * 16 * 2.0, [&] {
        for (int c = 0; c < kChains; ++c) acc[c] = _mm512_fmadd_ps(acc[c], a, b);
    });
    __m512 sum = acc[0];
    for (int c = 1; c < kChains; ++c) sum = _mm512_add_ps(sum, acc[c]);
    alignas(64) float lanes[16];
    _mm512_store_ps(lanes, sum);
    g_float_sink = lanes[0] + lanes[15];
    return gflops;
}

}  // namespace silica::kernels::avx512
