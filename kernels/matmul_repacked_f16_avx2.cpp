// AVX2 GEMV / GEMM for F16 weights in the x16 panel layout of quant/repack.h, by float
// activations (Activations::f32()): the outer-product form of kernels/matmul_repacked_f16_avx512.cpp
// at 256 bits. Column j of a 16-row group is 32 contiguous bytes: its first 16 become the float
// vector of rows 0-7 (lane l = row l), its last 16 that of rows 8-15, and each is multiplied by
// x[i][j] broadcast for every activation row i of the tile:
//     acc[g][h][i] += w(group g, rows 8h..8h+7, column j) * x[i][j]
// After the last column, lane l of acc[g][h][i] is y[i][row 8h + l of group g]: no horizontal sums.
//
// The GGUF-layout kernel (float_tile in kernels/matmul_simd_body.h) reads 4 rows side by side, 4
// short streams (one row is 1.5-2 KiB for GPT-2) that the hardware prefetchers barely follow;
// here a GEMV reads 4 groups, each one long contiguous stream (k * 32 bytes), with a software
// prefetch ahead in each.
//
// Every output is the chain acc = fma(w[j], x[j], acc) for j = 0, 1, ..., cols - 1 from 0, whatever
// tile, row split or batch size m it is computed in: results depend neither on the thread count
// nor on m.
#include <immintrin.h>

#include <cstdint>

#include "kernels/matmul_isa.h"
#include "kernels/matmul_repacked.h"
#include "kernels/prefetch.h"
#include "kernels/x16_avx2.h"
#include "quant/repack.h"

namespace silica::kernels {
namespace {

constexpr int64_t kColumnBytes = 32;  // 16 rows x 2 bytes

// GEMV: kGemvGroups groups side by side = 8 independent FMA chains, enough to cover the FMA
// latency on both FMA ports.
constexpr int kGemvGroups = 4;
// Batches: one group x up to kTileRows activation rows = 12 accumulators of the 16 registers, 2
// conversions per 12 FMAs; the group's panel (k * 32 bytes: 24-128 KiB for GPT-2) stays in L1/L2
// while further rows pass over it. The rows are split evenly (avx2::for_row_tiles): at m = 8, 4 + 4
// instead of 6 + 2 (Zen 3, matmul_bench f16-x16, 1 thread, us, 2 interleaved rounds: 2304x768
// 366 / 377 -> 310 / 322, 3072x768 493 / 532 -> 440 / 413; m = 4, 16, 64 unchanged, m = 64 at
// ~15 of the 16 float MACs per cycle an FMA pair allows). One 8-row half per tile with up to 8 or
// 12 rows (1 conversion per 8-12 FMAs) was slower: 2304x768 m = 64 2328 -> 2744-2781 / 3094-3105.
constexpr int kTileRows = 6;
// A software prefetch this far ahead in each group's stream.
constexpr int64_t kPrefetchBytes = 2048;

// Column j of group g (rows 0-7, rows 8-15), straight from the F16 panels.
template <int NG, bool kPrefetch>
struct HalfColumns {
    const uint8_t* group[NG];
    __m256 load(int g, int h, int64_t j) const {
        return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(group[g] + j * kColumnBytes) + h));
    }
    void prefetch(int g, int64_t j) const {
        if constexpr (kPrefetch)
            _mm_prefetch(reinterpret_cast<const char*>(group[g] + j * kColumnBytes + kPrefetchBytes), _MM_HINT_T0);
    }
};

// NG groups (the first is g0) times NM activation rows starting at i0.
template <int NG, int NM, class Columns>
void tile(const Columns& w, const float* x, int64_t k, int64_t g0, int64_t i0, float* y, int64_t ldy,
          int64_t r_begin, int64_t r_end) {
    __m256 acc[NG][2][NM];
    const float* xrow[NM];
#pragma GCC unroll 16
    for (int g = 0; g < NG; ++g)
#pragma GCC unroll 16
        for (int i = 0; i < 2 * NM; ++i) acc[g][i / NM][i % NM] = _mm256_setzero_ps();
#pragma GCC unroll 16
    for (int i = 0; i < NM; ++i) xrow[i] = x + (i0 + i) * k;
    for (int64_t j = 0; j < k; ++j) {
        if (j % 2 == 0)  // one 64-byte line holds two columns
#pragma GCC unroll 16
            for (int g = 0; g < NG; ++g) w.prefetch(g, j);
#pragma GCC unroll 16
        for (int g = 0; g < NG; ++g) {
            const __m256 w0 = w.load(g, 0, j), w1 = w.load(g, 1, j);
#pragma GCC unroll 16
            for (int i = 0; i < NM; ++i) {
                const __m256 xb = _mm256_set1_ps(xrow[i][j]);
                acc[g][0][i] = _mm256_fmadd_ps(w0, xb, acc[g][0][i]);
                acc[g][1][i] = _mm256_fmadd_ps(w1, xb, acc[g][1][i]);
            }
        }
    }
    for (int g = 0; g < NG; ++g)
        for (int h = 0; h < 2; ++h)
            for (int i = 0; i < NM; ++i)
                avx2::store_rows(acc[g][h][i], (g0 + g) * kRepackRows + 8 * h, r_begin, r_end, y + (i0 + i) * ldy);
}

template <int NG, bool kPrefetch>
HalfColumns<NG, kPrefetch> half_columns(const RepackedMatrix& w, size_t group_bytes, int64_t g0) {
    HalfColumns<NG, kPrefetch> c;
    for (int g = 0; g < NG; ++g) c.group[g] = w.data + static_cast<size_t>(g0 + g) * group_bytes;
    return c;
}

template <bool kPrefetch>
void gemv(const RepackedMatrix& w, size_t group_bytes, const float* x, float* y, int64_t g_begin, int64_t g_end,
          int64_t r_begin, int64_t r_end) {
    int64_t g = g_begin;
    for (; g + kGemvGroups <= g_end; g += kGemvGroups)
        tile<kGemvGroups, 1>(half_columns<kGemvGroups, kPrefetch>(w, group_bytes, g), x, w.cols, g, 0, y, 0, r_begin,
                             r_end);
    avx2::with_count<kGemvGroups - 1>(static_cast<int>(g_end - g), [&]<int NG>() {
        tile<NG, 1>(half_columns<NG, kPrefetch>(w, group_bytes, g), x, w.cols, g, 0, y, 0, r_begin, r_end);
    });
}

// Batches: group by group, kTileRows activation rows at a time; the first pass over a group
// streams it from memory (with the prefetch), the others find it in cache.
template <bool kPrefetch>
void batch(const RepackedMatrix& w, size_t group_bytes, const float* x, int64_t m, float* y, int64_t ldy,
           int64_t g_begin, int64_t g_end, int64_t r_begin, int64_t r_end) {
    for (int64_t g = g_begin; g < g_end; ++g)
        avx2::for_row_tiles<kTileRows>(m, [&]<int NM>(int64_t i0) {
            if (i0 == 0)
                tile<1, NM>(half_columns<1, kPrefetch>(w, group_bytes, g), x, w.cols, g, i0, y, ldy, r_begin, r_end);
            else
                tile<1, NM>(half_columns<1, false>(w, group_bytes, g), x, w.cols, g, i0, y, ldy, r_begin, r_end);
        });
}

}  // namespace

void avx2::matmul_repacked_f16(const RepackedMatrix& w, const Activations& x, float* y, int64_t ldy, int64_t r_begin,
                               int64_t r_end) {
    const size_t group_bytes = repacked_group_bytes(w.type, w.cols);
    const int64_t g_begin = r_begin / kRepackRows, g_end = (r_end + kRepackRows - 1) / kRepackRows;
    const bool prefetch = software_prefetch_enabled();
    if (x.rows() == 1) {
        if (prefetch) gemv<true>(w, group_bytes, x.f32(), y, g_begin, g_end, r_begin, r_end);
        else gemv<false>(w, group_bytes, x.f32(), y, g_begin, g_end, r_begin, r_end);
        return;
    }
    if (prefetch) batch<true>(w, group_bytes, x.f32(), x.rows(), y, ldy, g_begin, g_end, r_begin, r_end);
    else batch<false>(w, group_bytes, x.f32(), x.rows(), y, ldy, g_begin, g_end, r_begin, r_end);
}

}  // namespace silica::kernels
