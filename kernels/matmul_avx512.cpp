// AVX-512 (F/BW/VL/VNNI, and BF16 when active_avx512_bf16()) matmul kernels.
#include <immintrin.h>

#include <cmath>
#include <cstring>
#include <type_traits>

#include "kernels/isa.h"
#include "kernels/matmul_isa.h"
#include "kernels/prefetch.h"

namespace silica::kernels {
namespace avx512 {

// vpdpbusd: u8 x s8, four products summed straight into int32 (no int16 saturation).
inline __m256i dot_u8s8(__m256i u, __m256i s) { return _mm256_dpbusd_epi32(_mm256_setzero_si256(), u, s); }
inline __m256i dot_u8s8_acc(__m256i acc, __m256i u, __m256i s) { return _mm256_dpbusd_epi32(acc, u, s); }
constexpr bool kUnsignedQ8 = true;
// 32 vector registers: 4 weight rows x 4 activation rows = 16 accumulators.
constexpr int kGemmRowsPerTile = 4;
#define SILICA_SIMD_HAVE_DPBF16 1

#include "kernels/matmul_simd_body.h"

#undef SILICA_SIMD_HAVE_DPBF16
}  // namespace avx512

}  // namespace silica::kernels
