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

// Splits m activation rows into the fewest tiles of at most N rows, of near-equal sizes (m = 8, N
// = 6: 4 + 4, not 6 + 2: a tile of few rows pays its weight loads and conversions for little
// work), and calls call.template operator()<rows>(first_row) for each.
template <int N, class Call>
void for_row_tiles(int64_t m, Call&& call) {
    const int64_t tiles = (m + N - 1) / N;
    for (int64_t t = 0, i0 = 0; t < tiles; ++t) {
        const int64_t rows = (m - i0) / (tiles - t);  // the remaining rows spread over the remaining tiles
        with_count<N>(static_cast<int>(rows), [&]<int NM>() { call.template operator()<NM>(i0); });
        i0 += rows;
    }
}

}  // namespace silica::kernels::avx2
