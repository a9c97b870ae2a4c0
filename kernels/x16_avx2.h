// Pieces shared by the AVX2 kernels of the x16 layouts (kernels/matmul_repacked_avx2.cpp,
// kernels/matmul_repacked_f16_avx2.cpp); include only from *_avx2.cpp files.
#pragma once
#include <immintrin.h>

#include <cstdint>
#include <utility>

namespace silica::kernels::avx2 {

// Lane l of `rows` is the output of row first + l (8 rows of a 16-row group); stores the lanes
// whose rows are in [r_begin, r_end) to y[row].
inline void store_rows(__m256 rows, int64_t first, int64_t r_begin, int64_t r_end, float* y) {
    alignas(32) float out[8];
    _mm256_store_ps(out, rows);
    for (int l = 0; l < 8; ++l)
        if (first + l >= r_begin && first + l < r_end) y[first + l] = out[l];
}

// call.template operator()<n>() for a run-time n in 1..N (the leftover rows or groups at the
// end); nothing for n = 0.
template <int N, class Call>
void with_count(int n, Call&& call) {
    [&]<int... C>(std::integer_sequence<int, C...>) {
        ((n == C + 1 ? call.template operator()<C + 1>() : void()), ...);
    }(std::make_integer_sequence<int, N>{});
}

}  // namespace silica::kernels::avx2
