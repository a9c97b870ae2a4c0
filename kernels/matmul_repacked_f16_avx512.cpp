// AVX-512 GEMV / GEMM for F16 weights in the x16 panel layout of quant/repack.h, by float
// activations (Activations::f32()).
//
// Outer-product form: lane l of a 512-bit vector is row l of a 16-row group. Per column j, the
// group's 16 halves (32 contiguous bytes) become one float vector (vcvtph2ps), and that vector is
// multiplied by x[i][j] broadcast for every activation row i of the tile:
//     acc[g][i] += w(group g, column j) * x[i][j]          (one FMA per group and activation row)
// After the last column, lane l of acc[g][i] is y[i][row l of group g]: no horizontal sums, the
// 16 outputs are stored at once (with a lane mask at the ends of the row range).
//
// GEMV (decode) converts each column as it streams by (4 groups = 4 independent FMA chains, a
// software prefetch 2 KiB ahead in each stream). Decode batches (2-16 rows: several sequences)
// do the same with tiles of 3 groups x 8 rows, weights streamed once (decode_batch). GEMM (prefill)
// first converts 3 groups to a float scratch in L2 (vcvtph2ps is 2 uops on the FMA ports: in the
// inner loop it cost ~15%), then runs tiles of 3 groups x 8 activation rows over it: per column 3
// loads, 8 broadcasts, 24 FMAs.
//
// The GGUF-layout kernel (float_tile in kernels/matmul_simd_body.h) instead converted each row's
// weights once per group of 4 activation rows and ended every output with a horizontal sum.
//
// Every output is the same chain acc = fma(w[j], x[j], acc) for j = 0, 1, ..., cols - 1 starting
// from 0, whatever tile, row split or batch size m it is computed in, so results do not depend
// on the thread count nor on m (a token gets the same logits in prefill as in decode).
//
// Batches of kF16AmxMinRows rows or more go to the split-precision AMX-BF16 GEMM instead when the
// CPU has it (kernels/matmul_f16_amx.h): ~2.5x faster, rounded differently (within ~2^-16 of the sum
// of |w*x|), so there prefill and decode logits of a token differ slightly.
#include <immintrin.h>

#include <cstdint>
#include <utility>
#include <vector>

#include "kernels/amx.h"
#include "kernels/cpu_family.h"
#include "kernels/isa.h"
#include "kernels/matmul_f16_amx.h"
#include "kernels/matmul_isa.h"
#include "kernels/matmul_repacked.h"
#include "kernels/prefetch.h"
#include "quant/repack.h"

namespace silica::kernels {
namespace {

constexpr int64_t kColumnBytes = 32;  // 16 rows x 2 bytes

// Tile shapes, measured with bench/matmul_bench.cpp (1 thread, CPU time):
// GEMV: kGemvGroups groups side by side, one accumulator chain each, so several FMA chains are in
// flight (one chain waits the FMA latency every column). From DRAM (201088 x 2880): 1 group
// 12.9-15.3 GB/s, 2: 15.2-15.6, 4: 16.5, 8: 16.3-17.0.
constexpr int kGemvGroups = 4;
// GEMM: kGemmGroups groups x kGemmRows activation rows of accumulators (24 of the 32 registers).
// m = 512 at 768x2304, 3072x768, 1024x4096, 4096x1024: 3 x 8 ~5% faster than 2 x 12; 4 x 6 as
// 3 x 8.
constexpr int kGemmGroups = 3;
constexpr int kGemmRows = 8;
// Decode batches, up to kDecodeMaxRows activation rows (decode_batch): weights streamed once by
// tiles of kGemmGroups x kGemmRows, or of kDecodeFewGroups groups x kDecodeFewRows rows (more
// independent FMA chains for few rows). Against the tiles used before (3 x m from the panels without prefetch
// up to 8 rows, then the GEMM's float copy, which reads the weights with no FMA to hide it:
// compute-bound 16 rows waited for memory), 2 threads, us per call, 2 interleaved rounds:
// 1024x4096 m = 16 658-1304 -> 476-504, 50257x768 m = 16 8036-15724 -> 4980-5004, m = 8
// 2920-8018 -> 3052-3098, m = 2 2044-3114 -> 1392-1560 (6 groups; 2 or 3 within noise).
constexpr int64_t kDecodeMaxRows = 16;
constexpr int kDecodeFewGroups = 6;
constexpr int kDecodeFewRows = 4;

// (all-lanes masked form: GCC 12's unmasked intrinsic trips -Wmaybe-uninitialized, bug 105593)
inline __m512 load_column(const uint8_t* p) {
    return _mm512_maskz_cvtph_ps(static_cast<__mmask16>(0xFFFF), _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}

// Where a tile reads column j of its group g (lane l = row l of the group, as floats):
// straight from the F16 panels, one vcvtph2ps each (GEMV: every column is used once) ...
template <int NG>
struct HalfColumns {
    const uint8_t* group[NG];
    __m512 load(int g, int64_t j) const { return load_column(group[g] + j * kColumnBytes); }
};
// GEMV from DRAM: the same, plus a software prefetch kPrefetchBytes ahead in each group's stream
// (when kernels::software_prefetch_enabled()). 201088 x 2880, 1 thread, CPU time: none 71 ms,
// 1024 bytes 69.5, 2048 66.5, 4096 67; 50257 x 768: 3.3 / 3.0 / 2.74 / 2.85 ms (Sapphire Rapids).
// On AMD family 19h the GEMV runs faster without it (FamilyTuning::f16_gemv_prefetch,
// kernels/cpu_family.cpp); decode batches keep it there too.
constexpr int64_t kPrefetchBytes = 2048;
template <int NG>
struct PrefetchedHalfColumns : HalfColumns<NG> {
    void prefetch(int g, int64_t j) const {
        _mm_prefetch(reinterpret_cast<const char*>(this->group[g] + j * kColumnBytes + kPrefetchBytes), _MM_HINT_T0);
    }
};
// ... or from a float copy of NG groups made once per group tile (GEMM: every activation tile
// reuses it, so the conversion leaves the inner loop): column j of group g at (j * NG + g) * 16.
template <int NG>
struct FloatColumns {
    const float* data;
    __m512 load(int g, int64_t j) const { return _mm512_load_ps(data + (j * NG + g) * kRepackRows); }
};

// Converts groups [g0, g0 + NG) to the FloatColumns layout at dst (64-byte aligned). Exact.
template <int NG>
void convert_groups(const uint8_t* panels, size_t group_bytes, int64_t k, int64_t g0, float* dst) {
    for (int64_t j = 0; j < k; ++j)
        for (int g = 0; g < NG; ++g)
            _mm512_store_ps(dst + (j * NG + g) * kRepackRows,
                            load_column(panels + static_cast<size_t>(g0 + g) * group_bytes + j * kColumnBytes));
}

// NG groups (columns from `w`, the first group is g0) times NM activation rows starting at i0.
template <int NG, int NM, class Columns>
void tile(const Columns& w, const float* x, int64_t k, int64_t g0, int64_t i0, float* y, int64_t ldy,
          int64_t r_begin, int64_t r_end) {
    __m512 acc[NG][NM];
    const float* xrow[NM];
    __mmask16 mask[NG];
    // (every loop over g and i unrolled: otherwise GCC keeps acc in memory, e.g. for 3 x 5)
#pragma GCC unroll 16
    for (int g = 0; g < NG; ++g) {
        const int64_t first = (g0 + g) * kRepackRows;
        const int64_t lo = r_begin > first ? r_begin - first : 0;
        const int64_t hi = r_end - first < kRepackRows ? r_end - first : kRepackRows;
        mask[g] = static_cast<__mmask16>(((1u << hi) - 1) & ~((1u << lo) - 1));
#pragma GCC unroll 16
        for (int i = 0; i < NM; ++i) acc[g][i] = _mm512_setzero_ps();
    }
#pragma GCC unroll 16
    for (int i = 0; i < NM; ++i) xrow[i] = x + (i0 + i) * k;
    for (int64_t j = 0; j < k; ++j) {
        if constexpr (requires { w.prefetch(0, j); })
            if (j % 2 == 0)  // one 64-byte line holds two columns
#pragma GCC unroll 16
                for (int g = 0; g < NG; ++g) w.prefetch(g, j);
        __m512 wj[NG];
#pragma GCC unroll 16
        for (int g = 0; g < NG; ++g) wj[g] = w.load(g, j);
#pragma GCC unroll 16
        for (int i = 0; i < NM; ++i) {
            const __m512 xb = _mm512_set1_ps(xrow[i][j]);
#pragma GCC unroll 16
            for (int g = 0; g < NG; ++g) acc[g][i] = _mm512_fmadd_ps(wj[g], xb, acc[g][i]);
        }
    }
#pragma GCC unroll 16
    for (int g = 0; g < NG; ++g)
#pragma GCC unroll 16
        for (int i = 0; i < NM; ++i)
            _mm512_mask_storeu_ps(y + (i0 + i) * ldy + (g0 + g) * kRepackRows, mask[g], acc[g][i]);
}

// call.template operator()<n>() for a run-time n in 1..N (the leftover groups or activation rows
// at the end); nothing for n = 0.
template <int N, class Call>
void with_count(int n, Call&& call) {
    [&]<int... C>(std::integer_sequence<int, C...>) {
        ((n == C + 1 ? call.template operator()<C + 1>() : void()), ...);
    }(std::make_integer_sequence<int, N>{});
}

// A 64-byte aligned float scratch of at least n floats, one per thread, reused across calls.
float* thread_scratch(size_t n) {
    thread_local std::vector<float> buffer;
    if (buffer.size() < n + 16) buffer.resize(n + 16);
    const uintptr_t p = reinterpret_cast<uintptr_t>(buffer.data());
    return reinterpret_cast<float*>((p + 63) & ~uintptr_t{63});
}

// The HalfColumns (or PrefetchedHalfColumns) of groups [g0, g0 + NG).
template <class Columns, int NG>
Columns half_columns(const RepackedMatrix& w, size_t group_bytes, int64_t g0) {
    Columns c;
    for (int g = 0; g < NG; ++g) c.group[g] = w.data + static_cast<size_t>(g0 + g) * group_bytes;
    return c;
}

// GEMV: kGemvGroups groups at a time straight from the panels.
template <template <int> class Columns>
void gemv(const RepackedMatrix& w, size_t group_bytes, const float* x, float* y, int64_t g_begin, int64_t g_end,
          int64_t r_begin, int64_t r_end) {
    int64_t g = g_begin;
    for (; g + kGemvGroups <= g_end; g += kGemvGroups)
        tile<kGemvGroups, 1>(half_columns<Columns<kGemvGroups>, kGemvGroups>(w, group_bytes, g), x, w.cols, g, 0, y,
                             0, r_begin, r_end);
    with_count<kGemvGroups - 1>(static_cast<int>(g_end - g), [&]<int NG>() {
        tile<NG, 1>(half_columns<Columns<NG>, NG>(w, group_bytes, g), x, w.cols, g, 0, y, 0, r_begin, r_end);
    });
}

// Decode batches (m <= kDecodeMaxRows rows, several sequences decoding together): tiles of NG
// groups x up to MR activation rows, their columns converted as they are used. The first MR
// rows stream the weights from memory with the GEMV's prefetch; further rows (m > MR) read the
// same NG groups again from cache (NG * 32 * k bytes: 96 KiB for 3 groups at k = 1024, in L2).
template <int NG, int MR>
void decode_batch(const RepackedMatrix& w, size_t group_bytes, const float* x, int64_t m, float* y, int64_t ldy,
                  int64_t g_begin, int64_t g_end, int64_t r_begin, int64_t r_end) {
    const bool prefetch = software_prefetch_enabled();
    auto groups = [&]<int G>(int64_t g) {
        for (int64_t i0 = 0; i0 < m; i0 += MR)
            with_count<MR>(static_cast<int>(m - i0 < MR ? m - i0 : MR), [&]<int NM>() {
                if (i0 == 0 && prefetch)
                    tile<G, NM>(half_columns<PrefetchedHalfColumns<G>, G>(w, group_bytes, g), x, w.cols, g, i0, y, ldy,
                                r_begin, r_end);
                else
                    tile<G, NM>(half_columns<HalfColumns<G>, G>(w, group_bytes, g), x, w.cols, g, i0, y, ldy, r_begin,
                                r_end);
            });
    };
    int64_t g = g_begin;
    for (; g + NG <= g_end; g += NG) groups.template operator()<NG>(g);
    with_count<NG - 1>(static_cast<int>(g_end - g), [&]<int G>() { groups.template operator()<G>(g); });
}

void run(const RepackedMatrix& w, const Activations& x, float* y, int64_t ldy, int64_t r_begin, int64_t r_end) {
    const size_t group_bytes = repacked_group_bytes(w.type, w.cols);
    const int64_t g_begin = r_begin / kRepackRows, g_end = (r_end + kRepackRows - 1) / kRepackRows;
    const int64_t m = x.rows(), k = w.cols;
    const float* xf = x.f32();
    if (m == 1) {
        if (software_prefetch_enabled() && family_tuning().f16_gemv_prefetch)
            gemv<PrefetchedHalfColumns>(w, group_bytes, xf, y, g_begin, g_end, r_begin, r_end);
        else
            gemv<HalfColumns>(w, group_bytes, xf, y, g_begin, g_end, r_begin, r_end);
        return;
    }
    if (m <= kDecodeMaxRows) {
        if (m <= kDecodeFewRows)
            decode_batch<kDecodeFewGroups, kDecodeFewRows>(w, group_bytes, xf, m, y, ldy, g_begin, g_end, r_begin, r_end);
        else
            decode_batch<kGemmGroups, kGemmRows>(w, group_bytes, xf, m, y, ldy, g_begin, g_end, r_begin, r_end);
        return;
    }
    // GEMM (prefill), groups outer: NG groups are converted to floats once (64 * NG * k bytes of
    // scratch, in L2), then every activation row passes over them.
    float* scratch = thread_scratch(static_cast<size_t>(kGemmGroups * kRepackRows * k));
    auto over_rows = [&]<int NG>(int64_t g0) {
        convert_groups<NG>(w.data, group_bytes, k, g0, scratch);
        const FloatColumns<NG> columns{scratch};
        int64_t i0 = 0;
        for (; i0 + kGemmRows <= m; i0 += kGemmRows) tile<NG, kGemmRows>(columns, xf, k, g0, i0, y, ldy, r_begin, r_end);
        with_count<kGemmRows - 1>(static_cast<int>(m - i0), [&]<int NM>() {
            tile<NG, NM>(columns, xf, k, g0, i0, y, ldy, r_begin, r_end);
        });
    };
    int64_t g = g_begin;
    for (; g + kGemmGroups <= g_end; g += kGemmGroups) over_rows.template operator()<kGemmGroups>(g);
    for (; g < g_end; ++g) over_rows.template operator()<1>(g);
}

}  // namespace

void avx512::matmul_repacked_f16(const RepackedMatrix& w, const Activations& x, float* y, int64_t ldy,
                                 int64_t r_begin, int64_t r_end) {
    if (x.rows() >= kF16AmxMinRows && active_amx_bf16() && active_avx512_bf16()) {
        matmul_f16_amx(w, x, y, ldy, r_begin, r_end);
        return;
    }
    run(w, x, y, ldy, r_begin, r_end);
}

}  // namespace silica::kernels
