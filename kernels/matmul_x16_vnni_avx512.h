// AVX-512 VNNI kernels for the row-interleaved x16 layout (quant/repack.h), templated on the block
// format (kernels/repacked_formats_avx512.h): int32 lane l of every 512-bit vector belongs to row
// l of a 16-row group, so the 16 rows are computed side by side.
//
// Per 32-element block and group: 4 loads of 64 bytes (16 rows x 8 nibbles each; Q8_0: 8 loads of
// 16 rows x 4 bytes), split into vectors of 4 codes per row = elements 4q..4q+3 of all 16 rows;
// each is multiplied by the same 4 activation bytes broadcast to every lane (vpdpbusd), so after 8
// vpdpbusd lane l holds row l's integer block sum. The code offset (Q4_0: 8, MXFP4 after its
// table: 12, Q8_0 with its sign bit flipped: 128) is folded in as -offset * sum(x)
// (Activations::q8_sums) at the start of the sum. Then one FMA per block by the
// 16 row scales (one vector) times the activation scale. No horizontal sums: lane l is y[row l].
//
// Each lane goes through the same operations whatever tile its group is in, so outputs do not
// depend on the row split nor on the batch size (a sequence's logits are the same alone and
// batched); partial groups are computed whole and stored with a lane mask.
//
// Batches of kAmxMinRows rows or more go to AMX instead when the CPU has it (kernels/matmul_amx.h:
// the same integer sums by TDPBSSD and the same float steps, so the same outputs, ~2.2x faster).
//
// Included by kernels/matmul_repacked_avx512.cpp and, compiled once more for CPUs with AVX512-VBMI,
// by kernels/matmul_repacked_vbmi_avx512.cpp. Everything here has internal linkage (an unnamed
// namespace), so the linker never merges the two builds made for different instruction sets.
// Include only from *_avx512.cpp files.
#pragma once
#include <immintrin.h>

#include <cstdint>
#include <cstring>
#include <type_traits>
#include <utility>

#include "kernels/amx.h"
#include "kernels/cpu_family.h"
#include "kernels/matmul_amx.h"
#include "kernels/matmul_repacked.h"
#include "kernels/prefetch.h"
#include "kernels/x16_prefetch.h"
#include "kernels/repacked_formats_avx512.h"
#include "quant/repack.h"

namespace silica::kernels::x16 {
namespace {

// From kAmxMinRows (kernels/amx.h) activation rows, batches go to AMX when it is usable. Measured
// (matmul_bench, 1 thread, GOP/s AMX vs AVX-512; AMX pads the batch to 16 rows): Q8_0 3072x768
// m = 8: 327 vs 291, m = 12: 451 vs 308; MXFP4 5760x2880 (its decode is paid per call) m = 8: 228
// vs 299, m = 12: 333 vs 308, m = 16: 429 vs 303.

// acc + u . (the 4 activation bytes at p, broadcast to every lane): one vpdpbusd with an
// embedded-broadcast memory operand. GCC 12 does not fold _mm512_set1_epi32 of a load into it and
// issues a separate vpbroadcastd per dot product. Measured (matmul_bench Q8_0, 1 thread,
// interleaved, us): 3072x768 m = 8 74-78 -> 66-69, m = 1 32 -> 29-31; 50257x768 m = 8 1430-1570
// -> 1340-1380 (with the two chains of block_dot).
inline __m512i dpbusd_bcast(__m512i acc, __m512i u, const int8_t* p) {
    asm("vpdpbusd %2%{1to16%}, %1, %0" : "+v"(acc) : "v"(u), "m"(*reinterpret_cast<const int32_t*>(p)));
    return acc;
}

// start + the integer dot products of one 32-value block: u[q] (4 codes of each of the 16 rows)
// times activation bytes 4q..4q+3, in two independent chains (even and odd q), which beat one
// chain for every row count (one chain from 4 rows measured 3-5% slower at m = 8).
inline __m512i block_dot(__m512i start, const __m512i (&u)[8], const int8_t* qs) {
    __m512i even = start, odd = _mm512_setzero_si512();
#pragma GCC unroll 4
    for (int q = 0; q < 8; q += 2) {
        even = dpbusd_bcast(even, u[q], qs + 4 * q);
        odd = dpbusd_bcast(odd, u[q + 1], qs + 4 * q + 4);
    }
    return _mm512_add_epi32(even, odd);
}

// f(std::integral_constant<int, I>{}) for I = 0, 1, ..., N - 1.
template <int N, class F>
inline void for_each_index(F&& f) {
    [&]<int... I>(std::integer_sequence<int, I...>) {
        (f(std::integral_constant<int, I>{}), ...);
    }(std::make_integer_sequence<int, N>{});
}

// Lanes of group g's 16 rows that fall in [r_begin, r_end), stored for NM activation rows from i0.
template <int NM>
inline void store_group(const __m512 (&acc)[NM], int64_t g, int64_t i0, float* y, int64_t ldy, int64_t r_begin,
                        int64_t r_end) {
    const int64_t first = g * kRepackRows;
    const int64_t lo = r_begin > first ? r_begin - first : 0;
    const int64_t hi = r_end - first < kRepackRows ? r_end - first : kRepackRows;
    const __mmask16 mask = static_cast<__mmask16>(((1u << hi) - 1) & ~((1u << lo) - 1));
#pragma GCC unroll 16
    for (int i = 0; i < NM; ++i) _mm512_mask_storeu_ps(y + (i0 + i) * ldy + first, mask, acc[i]);
}

// Where group g's tiles (its 16 rows' codes, block after block) and then its per-block row scales
// start in a repacked matrix (quant/repack.h).
inline const uint8_t* group_codes(const RepackedMatrix& w, size_t group_bytes, int64_t g) {
    return w.data + static_cast<size_t>(g) * group_bytes;
}
template <class Fmt>
inline const uint8_t* group_scales(const uint8_t* codes, int64_t nb) {
    return codes + nb * Fmt::kTileBytes;
}

// NG groups (16 rows each) starting at group g0, times NM activation rows starting at i0, with
// the software prefetch of a weight stream or without (tiles that reuse weights from cache), into
// every cache level (Hint _MM_HINT_T0) or into L2 (_MM_HINT_T1: on the CPU families whose
// FamilyTuning::x16_prefetch_l2 is set).
// Every output lane goes through the same steps whatever NG and NM are: per block, its integer
// sum (exact, so the order of the vpdpbusd does not matter), converted, times (row scale x
// activation scale), added by one FMA. So a row's outputs do not depend on the batch around it.
template <class Fmt, int NG, int NM, bool Prefetch, int Hint = _MM_HINT_T0>
void tile(const RepackedMatrix& w, size_t group_bytes, const ActBlockQ8* xq, const int32_t* xsum, int64_t nb,
          int64_t g0, int64_t i0, float* y, int64_t ldy, int64_t r_begin, int64_t r_end) {
    __m512 acc[NG][NM];
    const uint8_t* codes[NG];
    const uint8_t* scales[NG];
    // (GCC keeps acc in registers only if these loops are unrolled; it does not on its own from
    // about 10 rows, or for a run-time group index)
#pragma GCC unroll 4
    for (int g = 0; g < NG; ++g) {
        codes[g] = group_codes(w, group_bytes, g0 + g);
        scales[g] = group_scales<Fmt>(codes[g], nb);
#pragma GCC unroll 16
        for (int i = 0; i < NM; ++i) acc[g][i] = _mm512_setzero_ps();
    }
    const ActBlockQ8* xrow = xq + i0 * nb;
    const int32_t* srow = xsum + i0 * nb;
    for (int64_t b = 0; b < nb; ++b) {
        for_each_index<NG>([&](auto gc) {
            constexpr int g = decltype(gc)::value;
            if constexpr (Prefetch) prefetch_ahead<Fmt, NG, Hint>(codes[g], scales[g], b, nb, group_bytes);
            __m512i u[8];
            Fmt::decode(codes[g] + b * Fmt::kTileBytes, u);
            const __m512 d = Fmt::scales(scales[g] + b * 16 * Fmt::kScaleBytes);
#pragma GCC unroll 16
            for (int i = 0; i < NM; ++i) {
                const ActBlockQ8* xb = xrow + i * nb + b;
                // the code offset, -offset * sum(x), starts the integer sum
                const __m512i corr = _mm512_set1_epi32(-Fmt::kOffset * srow[i * nb + b]);
                const __m512i isum = block_dot(corr, u, xb->qs);
                acc[g][i] = _mm512_fmadd_ps(cvt_i32_f32(isum), _mm512_mul_ps(d, _mm512_set1_ps(xb->d)), acc[g][i]);
            }
        });
    }
#pragma GCC unroll 4
    for (int g = 0; g < NG; ++g) store_group<NM>(acc[g], g0 + g, i0, y, ldy, r_begin, r_end);
}

// One step of a pair tile: pair t of a block's codes (Fmt::decode_pair) in both groups, times
// activation bytes 8t..8t+7 of each of the NM rows, added to the rows' integer sums s0 (group 0)
// and s1 (group 1). Each broadcast is loaded once into a register and feeds both groups.
template <class Fmt, int NM>
inline void pair_step(const uint8_t* tile0, const uint8_t* tile1, int t, const ActBlockQ8* xb, int64_t nb,
                      __m512i (&s0)[NM], __m512i (&s1)[NM]) {
    __m512i a0, a1, c0, c1;  // codes 8t..8t+3 and 8t+4..8t+7 of both groups
    Fmt::decode_pair(tile0, t, a0, a1);
    Fmt::decode_pair(tile1, t, c0, c1);
#pragma GCC unroll 16
    for (int i = 0; i < NM; ++i) {
        const int8_t* qs = xb[i * nb].qs + 8 * t;
        int32_t lo, hi;
        std::memcpy(&lo, qs, 4);
        std::memcpy(&hi, qs + 4, 4);
        const __m512i xlo = _mm512_set1_epi32(lo), xhi = _mm512_set1_epi32(hi);
        s0[i] = _mm512_dpbusd_epi32(s0[i], a0, xlo);
        s1[i] = _mm512_dpbusd_epi32(s1[i], c0, xlo);
        s0[i] = _mm512_dpbusd_epi32(s0[i], a1, xhi);
        s1[i] = _mm512_dpbusd_epi32(s1[i], c1, xhi);
    }
}

// Prefill tile: two groups (32 weight rows) times NM activation rows, weights from cache. Each
// activation broadcast (4 bytes to every lane) is loaded once into a register and feeds both
// groups' vpdpbusd, where two one-group tiles each load it again (embedded broadcast): per block
// and row, 8 broadcast loads for 16 vpdpbusd instead of 16. Without AMX (Zen 5, matmul_bench,
// 2 threads, us per call, 2 interleaved rounds, one-group tiles -> this): Q8_0 5760x2880 m = 512
// 8460-8524 -> 7279-7497, 2304x768 m = 64 105 -> 90-91; Q4_0 likewise -12..-15%; MXFP4
// 5760x2880 m = 512 8264-8343 -> 7503-8380 (its table decode, done per group and row tile,
// weighs more). The integer sum of a block is exact and then takes tile()'s float steps: same
// outputs as tile(), so batch invariance holds across the two.
//
// A block's codes are decoded a pair of vectors at a time (Fmt::decode_pair), each used by every
// row before the next pair, and each (group, row) sums in one chain: 4 code vectors live instead
// of 16, so the 8 accumulators, 8 integer sums and the broadcasts fit the 32 registers (holding
// all 16 decoded vectors and two chains per sum, GCC kept some accumulators on the stack).
// Zen 5, matmul_bench 5760x2880, us per call, interleaved: 1 thread, 4 rounds, m = 512 MXFP4
// 37820-38997 -> 29783-34660, Q8_0 34884-35354 -> 28472-32660, Q4_0 -6..-18%; 2 threads, 3
// rounds, m = 512 MXFP4 7513-8449 -> 7327-7737, Q8_0 7075-7830 -> 7059-7351. 6 or 5 rows per
// tile: no better; 8: slower.
template <class Fmt, int NM>
void pair_tile(const RepackedMatrix& w, size_t group_bytes, const ActBlockQ8* xq, const int32_t* xsum, int64_t nb,
               int64_t g0, int64_t i0, float* y, int64_t ldy, int64_t r_begin, int64_t r_end) {
    __m512 acc[2][NM];
    const uint8_t* codes[2];
    const uint8_t* scales[2];
    for (int g = 0; g < 2; ++g) {
        codes[g] = group_codes(w, group_bytes, g0 + g);
        scales[g] = group_scales<Fmt>(codes[g], nb);
#pragma GCC unroll 16
        for (int i = 0; i < NM; ++i) acc[g][i] = _mm512_setzero_ps();
    }
    const ActBlockQ8* xrow = xq + i0 * nb;
    const int32_t* srow = xsum + i0 * nb;
    for (int64_t b = 0; b < nb; ++b) {
        __m512i s0[NM], s1[NM];  // integer sums of the block, started at the code offset's term
#pragma GCC unroll 16
        for (int i = 0; i < NM; ++i) s0[i] = s1[i] = _mm512_set1_epi32(-Fmt::kOffset * srow[i * nb + b]);
#pragma GCC unroll 4
        for (int t = 0; t < 4; ++t)
            pair_step<Fmt, NM>(codes[0] + b * Fmt::kTileBytes, codes[1] + b * Fmt::kTileBytes, t, xrow + b, nb, s0, s1);
        const __m512 d0 = Fmt::scales(scales[0] + b * 16 * Fmt::kScaleBytes);
        const __m512 d1 = Fmt::scales(scales[1] + b * 16 * Fmt::kScaleBytes);
#pragma GCC unroll 16
        for (int i = 0; i < NM; ++i) {
            const __m512 dx = _mm512_set1_ps(xrow[i * nb + b].d);
            acc[0][i] = _mm512_fmadd_ps(cvt_i32_f32(s0[i]), _mm512_mul_ps(d0, dx), acc[0][i]);
            acc[1][i] = _mm512_fmadd_ps(cvt_i32_f32(s1[i]), _mm512_mul_ps(d1, dx), acc[1][i]);
        }
    }
    for (int g = 0; g < 2; ++g) store_group<NM>(acc[g], g0 + g, i0, y, ldy, r_begin, r_end);
}

// The K-quant tile (Q4_Kx16, Q6_Kx16): the same streams, prefetch and stores as tile(), one group
// per tile. Per block, the 16 rows' scales are built from the block scales and the super-block's
// fp16 d (exact products in float: 11-bit d times a 6- or 8-bit integer), then per activation row:
//   Q4_K: acc += isum * (d*s * dx) - dmin*n * sx       (sx = dx * sum(qx), ActBlockQ8::s)
//   Q6_K: acc += isum_lo * (d*sc_lo * dx) + isum_hi * (d*sc_hi * dx), each half's integer sum
//         started at -32 * its activation sum (Activations::q8_first_half_sums()).
// As in tile(), every lane takes the same steps whatever NM is: batch invariant.
template <class Fmt, int NM, bool Prefetch, int Hint = _MM_HINT_T0>
void k_tile(const RepackedMatrix& w, size_t group_bytes, const Activations& x, int64_t nb, int64_t g, int64_t i0,
            float* y, int64_t ldy, int64_t r_begin, int64_t r_end) {
    constexpr bool kQ6 = std::is_same_v<Fmt, Q6_Kx16>;
    __m512 acc[NM];
#pragma GCC unroll 16
    for (int i = 0; i < NM; ++i) acc[i] = _mm512_setzero_ps();
    const uint8_t* codes = group_codes(w, group_bytes, g);
    const uint8_t* block_scales = group_scales<Fmt>(codes, nb);
    const uint8_t* super_scales = block_scales + nb * 16 * Fmt::kScaleBytes;
    const ActBlockQ8* xrow = x.q8() + i0 * nb;
    const int32_t* srow = x.q8_sums() + i0 * nb;
    const int32_t* hrow = kQ6 ? x.q8_first_half_sums() + i0 * nb : nullptr;
    __m512 d = _mm512_setzero_ps(), neg_dmin = _mm512_setzero_ps();  // the super-block's, per row
    for (int64_t b = 0; b < nb; ++b) {
        if constexpr (Prefetch) prefetch_ahead<Fmt, 1, Hint>(codes, block_scales, b, nb, group_bytes);
        if (b % 8 == 0) {
            const uint8_t* ss = super_scales + (b / 8) * Fmt::kSuperBytes;
            d = cvt_f16_f32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(ss)));
            if constexpr (!kQ6)
                neg_dmin = _mm512_sub_ps(_mm512_setzero_ps(),
                                         cvt_f16_f32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(ss + 32))));
        }
        __m512i u[8];
        Fmt::decode(codes + b * Fmt::kTileBytes, u);
        const uint8_t* bs = block_scales + b * 16 * Fmt::kScaleBytes;
        const __m128i s0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(bs));
        const __m128i s1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(bs + 16));
        if constexpr (kQ6) {
            const __m512 scale_lo = _mm512_mul_ps(d, cvt_i32_f32(cvt_i8_i32(s0)));
            const __m512 scale_hi = _mm512_mul_ps(d, cvt_i32_f32(cvt_i8_i32(s1)));
#pragma GCC unroll 16
            for (int i = 0; i < NM; ++i) {
                const ActBlockQ8* xb = xrow + i * nb + b;
                const int32_t lo_sum = hrow[i * nb + b], hi_sum = srow[i * nb + b] - lo_sum;
                __m512i lo = _mm512_set1_epi32(-32 * lo_sum), hi = _mm512_set1_epi32(-32 * hi_sum);
#pragma GCC unroll 4
                for (int q = 0; q < 4; ++q) {
                    lo = dpbusd_bcast(lo, u[q], xb->qs + 4 * q);
                    hi = dpbusd_bcast(hi, u[q + 4], xb->qs + 16 + 4 * q);
                }
                const __m512 dx = _mm512_set1_ps(xb->d);
                acc[i] = _mm512_fmadd_ps(cvt_i32_f32(lo), _mm512_mul_ps(scale_lo, dx), acc[i]);
                acc[i] = _mm512_fmadd_ps(cvt_i32_f32(hi), _mm512_mul_ps(scale_hi, dx), acc[i]);
            }
        } else {
            const __m512 scale = _mm512_mul_ps(d, cvt_i32_f32(cvt_u8_i32(s0)));
            const __m512 neg_min = _mm512_mul_ps(neg_dmin, cvt_i32_f32(cvt_u8_i32(s1)));
#pragma GCC unroll 16
            for (int i = 0; i < NM; ++i) {
                const ActBlockQ8* xb = xrow + i * nb + b;
                const __m512i isum = block_dot(_mm512_setzero_si512(), u, xb->qs);
                acc[i] = _mm512_fmadd_ps(cvt_i32_f32(isum), _mm512_mul_ps(scale, _mm512_set1_ps(xb->d)), acc[i]);
                acc[i] = _mm512_fmadd_ps(neg_min, _mm512_set1_ps(xb->s), acc[i]);
            }
        }
    }
    store_group<NM>(acc, g, i0, y, ldy, r_begin, r_end);
}

// The K-quant prefill tile: two groups times NM activation rows like pair_tile (codes decoded a
// pair at a time, broadcasts shared by both groups), with k_tile's scales and float steps per lane
// (Q4_K: one sum per block, then its scale and min; Q6_K: the sum of elements 0..15, then of
// 16..31, each with its own scale): the same outputs as k_tile. Zen 5, matmul_bench 3072x768,
// 1 thread, us per call, 3 interleaved rounds, k_tile (1 group x 4 rows) -> this: Q4_K m = 64
// 579-603 -> 531-537, m = 512 4684-4911 -> 4295-4409; Q6_K m = 64 719-730 -> 662-697, m = 512
// 5824-6028 -> 5853-6029 (no gain: its two half-block sums double the float steps per row).
template <class Fmt, int NM>
void k_pair_tile(const RepackedMatrix& w, size_t group_bytes, const Activations& x, int64_t nb, int64_t g0,
                 int64_t i0, float* y, int64_t ldy, int64_t r_begin, int64_t r_end) {
    constexpr bool kQ6 = std::is_same_v<Fmt, Q6_Kx16>;
    __m512 acc[2][NM];
    const uint8_t* codes[2];
    const uint8_t* block_scales[2];
    const uint8_t* super_scales[2];
    for (int g = 0; g < 2; ++g) {
        codes[g] = group_codes(w, group_bytes, g0 + g);
        block_scales[g] = group_scales<Fmt>(codes[g], nb);
        super_scales[g] = block_scales[g] + nb * 16 * Fmt::kScaleBytes;
#pragma GCC unroll 16
        for (int i = 0; i < NM; ++i) acc[g][i] = _mm512_setzero_ps();
    }
    const ActBlockQ8* xrow = x.q8() + i0 * nb;
    const int32_t* srow = x.q8_sums() + i0 * nb;
    const int32_t* hrow = kQ6 ? x.q8_first_half_sums() + i0 * nb : nullptr;
    // the super-block's, per row of each group
    __m512 d[2] = {_mm512_setzero_ps(), _mm512_setzero_ps()}, neg_dmin[2] = {_mm512_setzero_ps(), _mm512_setzero_ps()};
    for (int64_t b = 0; b < nb; ++b) {
        if (b % 8 == 0)
            for (int g = 0; g < 2; ++g) {
                const uint8_t* ss = super_scales[g] + (b / 8) * Fmt::kSuperBytes;
                d[g] = cvt_f16_f32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(ss)));
                if constexpr (!kQ6)
                    neg_dmin[g] = _mm512_sub_ps(_mm512_setzero_ps(),
                                                cvt_f16_f32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(ss + 32))));
            }
        const uint8_t* tile0 = codes[0] + b * Fmt::kTileBytes;
        const uint8_t* tile1 = codes[1] + b * Fmt::kTileBytes;
        const uint8_t* bs[2] = {block_scales[0] + b * 16 * Fmt::kScaleBytes, block_scales[1] + b * 16 * Fmt::kScaleBytes};
        __m512i s0[NM], s1[NM];
        if constexpr (kQ6) {
            for (int h = 0; h < 2; ++h) {  // elements 16h..16h+15: pairs 2h and 2h + 1
#pragma GCC unroll 16
                for (int i = 0; i < NM; ++i) {
                    const int32_t lo_sum = hrow[i * nb + b];
                    const int32_t half_sum = h == 0 ? lo_sum : srow[i * nb + b] - lo_sum;
                    s0[i] = s1[i] = _mm512_set1_epi32(-32 * half_sum);
                }
                pair_step<Fmt, NM>(tile0, tile1, 2 * h, xrow + b, nb, s0, s1);
                pair_step<Fmt, NM>(tile0, tile1, 2 * h + 1, xrow + b, nb, s0, s1);
                __m512 scale[2];
                for (int g = 0; g < 2; ++g)
                    scale[g] = _mm512_mul_ps(
                        d[g], cvt_i32_f32(cvt_i8_i32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(bs[g] + 16 * h)))));
#pragma GCC unroll 16
                for (int i = 0; i < NM; ++i) {
                    const __m512 dx = _mm512_set1_ps(xrow[i * nb + b].d);
                    acc[0][i] = _mm512_fmadd_ps(cvt_i32_f32(s0[i]), _mm512_mul_ps(scale[0], dx), acc[0][i]);
                    acc[1][i] = _mm512_fmadd_ps(cvt_i32_f32(s1[i]), _mm512_mul_ps(scale[1], dx), acc[1][i]);
                }
            }
        } else {
#pragma GCC unroll 16
            for (int i = 0; i < NM; ++i) s0[i] = s1[i] = _mm512_setzero_si512();
#pragma GCC unroll 4
            for (int t = 0; t < 4; ++t) pair_step<Fmt, NM>(tile0, tile1, t, xrow + b, nb, s0, s1);
            __m512 scale[2], neg_min[2];
            for (int g = 0; g < 2; ++g) {
                const __m128i sc = _mm_loadu_si128(reinterpret_cast<const __m128i*>(bs[g]));
                const __m128i mn = _mm_loadu_si128(reinterpret_cast<const __m128i*>(bs[g] + 16));
                scale[g] = _mm512_mul_ps(d[g], cvt_i32_f32(cvt_u8_i32(sc)));
                neg_min[g] = _mm512_mul_ps(neg_dmin[g], cvt_i32_f32(cvt_u8_i32(mn)));
            }
#pragma GCC unroll 16
            for (int i = 0; i < NM; ++i) {
                const ActBlockQ8* xb = xrow + i * nb + b;
                const __m512 dx = _mm512_set1_ps(xb->d), sx = _mm512_set1_ps(xb->s);
                acc[0][i] = _mm512_fmadd_ps(cvt_i32_f32(s0[i]), _mm512_mul_ps(scale[0], dx), acc[0][i]);
                acc[0][i] = _mm512_fmadd_ps(neg_min[0], sx, acc[0][i]);
                acc[1][i] = _mm512_fmadd_ps(cvt_i32_f32(s1[i]), _mm512_mul_ps(scale[1], dx), acc[1][i]);
                acc[1][i] = _mm512_fmadd_ps(neg_min[1], sx, acc[1][i]);
            }
        }
    }
    for (int g = 0; g < 2; ++g) store_group<NM>(acc[g], g0 + g, i0, y, ldy, r_begin, r_end);
}

// Activation rows up to which run() streams weights like a GEMV (see there).
constexpr int64_t kStreamMaxRows = 16;

// call.template operator()<n>() for a run-time n in 1..N.
template <int N, class Call>
void with_count(int64_t n, Call&& call) {
    for_each_index<N>([&](auto c) {
        if (n == decltype(c)::value + 1) call.template operator()<decltype(c)::value + 1>();
    });
}

template <class Fmt>
void run(const RepackedMatrix& w, const Activations& x, float* y, int64_t ldy, int64_t r_begin, int64_t r_end) {
    constexpr bool kKQuant = std::is_same_v<Fmt, Q4_Kx16> || std::is_same_v<Fmt, Q6_Kx16>;
    const size_t group_bytes = repacked_group_bytes(w.type, w.cols);
    const int64_t nb = w.cols / 32;
    const int64_t g_begin = r_begin / kRepackRows, g_end = (r_end + kRepackRows - 1) / kRepackRows;
    const int64_t m = x.rows();
    const bool prefetch = software_prefetch_enabled() && kGemvPrefetchBytes > 0;
    // where the streaming tiles prefetch to: L2 on the CPU families that ask for it
    const bool into_l2 = family_tuning().x16_prefetch_l2;
    // `stream`: the tile reads its weights from memory (GEMV, decode batches) and prefetches them;
    // prefill's tiles reuse them from cache.
    auto call = [&]<int NG, int NM>(int64_t g, int64_t i0, bool stream) {
        if constexpr (kKQuant) {
            // one group per tile: the K tiles hold more vectors (scales) than tile()'s
            for (int64_t gi = g; gi < g + NG; ++gi) {
                if (stream && prefetch && into_l2)
                    k_tile<Fmt, NM, true, _MM_HINT_T1>(w, group_bytes, x, nb, gi, i0, y, ldy, r_begin, r_end);
                else if (stream && prefetch)
                    k_tile<Fmt, NM, true>(w, group_bytes, x, nb, gi, i0, y, ldy, r_begin, r_end);
                else
                    k_tile<Fmt, NM, false>(w, group_bytes, x, nb, gi, i0, y, ldy, r_begin, r_end);
            }
        } else if (stream && prefetch && into_l2)
            tile<Fmt, NG, NM, true, _MM_HINT_T1>(w, group_bytes, x.q8(), x.q8_sums(), nb, g, i0, y, ldy, r_begin, r_end);
        else if (stream && prefetch)
            tile<Fmt, NG, NM, true>(w, group_bytes, x.q8(), x.q8_sums(), nb, g, i0, y, ldy, r_begin, r_end);
        else
            tile<Fmt, NG, NM, false>(w, group_bytes, x.q8(), x.q8_sums(), nb, g, i0, y, ldy, r_begin, r_end);
    };
    // Tiles measured (1 thread, CPU time, 2880x2880 and 3072x768): GEMV 1, 2 or 4 groups per tile
    // within noise in cache, 4 best from DRAM (see kGemvPrefetchBytes); GEMM 1 group x 4
    // activation rows beat 2 x 4 (-25%), 2 x 2 (-15%) and 1 x 8 (-3%) while every tile loaded its
    // own broadcasts; 2 x 4 sharing them (pair_tile) beats 1 x 4 (see there). 2 x 6: no better.
    if (m == 1) {
        int64_t g = g_begin;
        for (; g + 4 <= g_end; g += 4) call.template operator()<4, 1>(g, 0, true);
        for (; g + 2 <= g_end; g += 2) call.template operator()<2, 1>(g, 0, true);
        if (g < g_end) call.template operator()<1, 1>(g, 0, true);
        return;
    }
    // With AMX, TDPBSSD computes the same integer sums (bit-identical results, kernels/matmul_amx.h).
    if (m >= kAmxMinRows && active_amx_int8() && matmul_x16_amx(w, x, y, ldy, r_begin, r_end)) return;
    // A few rows (several sequences decoding together) are bound by reading the weights, as one
    // row is: one group of weights streams by once, with the GEMV's prefetch, for all m rows (up to
    // 16 accumulators + 8 decoded vectors: no spills). Against the tiles used before (2 groups x 4
    // rows, each group decoded again for every 4 rows; 1 group x 4 rows without prefetch from 9
    // rows), Q8_0 2 threads, us per call, interleaved runs: 50257x768 m = 8 945-1214 -> 580-682,
    // m = 16 1668-2365 -> 1156-1313; 3072x768 m = 8 43-55 -> 29-31 (docs/PERFORMANCE.md).
    if (m <= kStreamMaxRows) {
        for (int64_t g = g_begin; g < g_end; ++g)
            with_count<kStreamMaxRows>(m, [&]<int NM>() { call.template operator()<1, NM>(g, 0, true); });
        return;
    }
    // Prefill: pairs of groups (pair_tile, k_pair_tile), then a last odd group one at a time.
    int64_t g = g_begin;
    auto pair = [&]<int NM>(int64_t i0) {
        if constexpr (kKQuant)
            k_pair_tile<Fmt, NM>(w, group_bytes, x, nb, g, i0, y, ldy, r_begin, r_end);
        else
            pair_tile<Fmt, NM>(w, group_bytes, x.q8(), x.q8_sums(), nb, g, i0, y, ldy, r_begin, r_end);
    };
    for (; g + 2 <= g_end; g += 2) {
        int64_t i0 = 0;
        for (; i0 + 4 <= m; i0 += 4) pair.template operator()<4>(i0);
        with_count<3>(m - i0, [&]<int NM>() { pair.template operator()<NM>(i0); });
    }
    for (; g < g_end; ++g) {
        int64_t i0 = 0;
        for (; i0 + 4 <= m; i0 += 4) call.template operator()<1, 4>(g, i0, false);
        with_count<3>(m - i0, [&]<int NM>() { call.template operator()<1, NM>(g, i0, false); });
    }
}

}  // namespace
}  // namespace silica::kernels::x16
