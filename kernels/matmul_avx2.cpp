// AVX2 + FMA + F16C matmul kernels (compiled with -mavx2 -mfma -mf16c).
#include <immintrin.h>

#include <cmath>
#include <cstring>
#include <type_traits>

#include "kernels/isa.h"
#include "kernels/matmul_isa.h"
#include "kernels/prefetch.h"

namespace silica::kernels {
namespace avx2 {

// u8 x s8 -> pairs summed to int16, then pairs to int32. Cannot saturate here: unsigned codes are
// at most 31, and Q8_0 uses the sign trick (|w| <= 128 against |x| <= 127: 2 * 128 * 127 = 32512).
inline __m256i dot_u8s8(__m256i u, __m256i s) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
}
inline __m256i dot_u8s8_acc(__m256i acc, __m256i u, __m256i s) { return _mm256_add_epi32(acc, dot_u8s8(u, s)); }
constexpr bool kUnsignedQ8 = false;
// 16 vector registers: 2 weight rows x 4 activation rows = 8 accumulators.
constexpr int kGemmRowsPerTile = 2;

#include "kernels/matmul_simd_body.h"

}  // namespace avx2

}  // namespace silica::kernels
