// AVX-512 GEMV / GEMM for F16 weights in the x16 panel layout of quant/repack.h, by float
// activations (Activations::f32()).
//
// Outer-product form: lane l of a 512-bit vector is row l of a 16-row group. Per column j, the
// group's 16 halves (32 contiguous bytes) become one float vector with a single vcvtph2ps, and
// that vector is multiplied by x[i][j] broadcast for every activation row i of the tile:
//     acc[g][i] += w(group g, column j) * x[i][j]          (one FMA per group and activation row)
// After the last column, lane l of acc[g][i] is y[i][row l of group g]: no horizontal sums, the
// 16 outputs are stored at once (with a lane mask at the ends of the row range).
//
// The GGUF-layout kernel (float_tile in kernels/matmul_simd_body.h) instead converted each row's
// weights once per group of 4 activation rows and ended every output with a horizontal sum.
//
// Every output is the same chain acc = fma(w[j], x[j], acc) for j = 0, 1, ..., cols - 1 starting
// from 0, whatever tile, row split or batch size m it is computed in, so results do not depend
// on the thread count nor on m (a token gets the same logits in prefill as in decode).
#include <immintrin.h>

#include <utility>

#include "kernels/matmul_isa.h"
#include "kernels/matmul_repacked.h"
#include "quant/repack.h"

namespace silica::kernels {
namespace {

constexpr int64_t kColumnBytes = 32;  // 16 rows x 2 bytes

// Tile shapes (measured with bench/matmul_bench.cpp, see docs/PERFORMANCE.md):
// GEMV: kGemvGroups groups side by side, one accumulator chain each, so several independent FMA
// chains are in flight (a single chain waits the FMA latency every column).
constexpr int kGemvGroups = 4;
// GEMM: kGemmGroups groups x kGemmRows activation rows of accumulators; each converted column
// feeds kGemmRows FMAs, each broadcast x[i][j] feeds kGemmGroups.
constexpr int kGemmGroups = 2;
constexpr int kGemmRows = 12;

// (all-lanes masked form: GCC 12's unmasked intrinsic trips -Wmaybe-uninitialized, bug 105593)
inline __m512 load_column(const uint8_t* p) {
    return _mm512_maskz_cvtph_ps(static_cast<__mmask16>(0xFFFF), _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}

// NG groups starting at group g0, times NM activation rows starting at i0.
template <int NG, int NM>
void tile(const uint8_t* panels, size_t group_bytes, const float* x, int64_t k, int64_t g0, int64_t i0, float* y,
          int64_t ldy, int64_t r_begin, int64_t r_end) {
    __m512 acc[NG][NM];
    const uint8_t* column[NG];
    const float* xrow[NM];
    for (int g = 0; g < NG; ++g) {
        column[g] = panels + static_cast<size_t>(g0 + g) * group_bytes;
        for (int i = 0; i < NM; ++i) acc[g][i] = _mm512_setzero_ps();
    }
    for (int i = 0; i < NM; ++i) xrow[i] = x + (i0 + i) * k;
    for (int64_t j = 0; j < k; ++j) {
        __m512 w[NG];
        for (int g = 0; g < NG; ++g) w[g] = load_column(column[g] + j * kColumnBytes);
        for (int i = 0; i < NM; ++i) {
            const __m512 xb = _mm512_set1_ps(xrow[i][j]);
            for (int g = 0; g < NG; ++g) acc[g][i] = _mm512_fmadd_ps(w[g], xb, acc[g][i]);
        }
    }
    for (int g = 0; g < NG; ++g) {
        const int64_t first = (g0 + g) * kRepackRows;
        const int64_t lo = r_begin > first ? r_begin - first : 0;
        const int64_t hi = r_end - first < kRepackRows ? r_end - first : kRepackRows;
        const __mmask16 mask = static_cast<__mmask16>(((1u << hi) - 1) & ~((1u << lo) - 1));
        for (int i = 0; i < NM; ++i) _mm512_mask_storeu_ps(y + (i0 + i) * ldy + first, mask, acc[g][i]);
    }
}

// call.template operator()<n>() for a run-time n in 1..N (the leftover groups or activation rows
// at the end); nothing for n = 0.
template <int N, class Call>
void with_count(int n, Call&& call) {
    [&]<int... C>(std::integer_sequence<int, C...>) {
        ((n == C + 1 ? call.template operator()<C + 1>() : void()), ...);
    }(std::make_integer_sequence<int, N>{});
}

void run(const RepackedMatrix& w, const Activations& x, float* y, int64_t ldy, int64_t r_begin, int64_t r_end) {
    const size_t group_bytes = repacked_group_bytes(w.type, w.cols);
    const int64_t g_begin = r_begin / kRepackRows, g_end = (r_end + kRepackRows - 1) / kRepackRows;
    const int64_t m = x.rows(), k = w.cols;
    const float* xf = x.f32();
    if (m == 1) {
        int64_t g = g_begin;
        for (; g + kGemvGroups <= g_end; g += kGemvGroups)
            tile<kGemvGroups, 1>(w.data, group_bytes, xf, k, g, 0, y, ldy, r_begin, r_end);
        with_count<kGemvGroups - 1>(static_cast<int>(g_end - g), [&]<int NG>() {
            tile<NG, 1>(w.data, group_bytes, xf, k, g, 0, y, ldy, r_begin, r_end);
        });
        return;
    }
    // Groups outer (a tile's weights stay in L1/L2 while every activation row passes over them),
    // activation rows inner.
    auto over_rows = [&]<int NG>(int64_t g) {
        int64_t i0 = 0;
        for (; i0 + kGemmRows <= m; i0 += kGemmRows)
            tile<NG, kGemmRows>(w.data, group_bytes, xf, k, g, i0, y, ldy, r_begin, r_end);
        with_count<kGemmRows - 1>(static_cast<int>(m - i0), [&]<int NM>() {
            tile<NG, NM>(w.data, group_bytes, xf, k, g, i0, y, ldy, r_begin, r_end);
        });
    };
    int64_t g = g_begin;
    for (; g + kGemmGroups <= g_end; g += kGemmGroups) over_rows.template operator()<kGemmGroups>(g);
    for (; g < g_end; ++g) over_rows.template operator()<1>(g);
}

}  // namespace

bool matmul_repacked_f16_avx512(const RepackedMatrix& w, const Activations& x, float* y, int64_t ldy, int64_t r_begin,
                                int64_t r_end) {
    if (w.type != TensorType::F16) return false;
    run(w, x, y, ldy, r_begin, r_end);
    return true;
}

}  // namespace silica::kernels
