// AVX2 kernels for the row-interleaved x16 layout (quant/repack.h): the AVX-512 kernel
// (kernels/matmul_x16_vnni_avx512.h) with each 16-row group handled as two 8-row halves: the
// first 32 bytes of every 64-byte chunk are rows 0-7, the last 32 rows 8-15.
//
// Without VNNI the products go through vpmaddubsw (u8 x s8 -> pairs summed in int16) and vpmaddwd
// (pairs -> int32). No saturation: 4-bit codes are at most 24 (MXFP4 after its table) and
// |x| <= 127, so the low + high nibble sums of two chunks stay within 8 * 24 * 127 = 24384 before
// widening. Q8_0 uses the sign trick (at most 2 * 128 * 127 = 32512 per pair) in the GEMV, the tiles
// of up to 3 rows and past 32 rows, and weights and activations widened to int16 (vpmaddwd alone) in
// between.
#include <immintrin.h>

#include <cstring>
#include <type_traits>

#include "kernels/cpu_family.h"
#include "kernels/kernel_traits.h"
#include "kernels/matmul_isa.h"
#include "kernels/matmul_repacked.h"
#include "kernels/prefetch.h"
#include "kernels/x16_avx2.h"
#include "kernels/x16_prefetch.h"
#include "quant/repack.h"

namespace silica::kernels {
namespace {

// An empty asm that GCC must assume reads and changes v, so that integer sums are added to their
// accumulator one product vector at a time: GCC reassociated the Q8_0 sums, formed all vpmaddwd
// results of a block first and spilled them. Zen 3, matmul_bench, 1 thread, in cache, us, 3
// interleaved rounds, sign-trick tiles: 768x3072 m = 1 67.4 / 63.7 / 60.6 -> 58.0 / 54.7 / 55.6,
// m = 2 113-115 -> 101-103; 5760x2880 m = 1 429-451 -> 371-412, m = 2 756-804 -> 675-695 (with
// 4-6 rows it made those slower, 768x3072 m = 8 368 -> 510; the widened tiles need it).
inline void keep_in_order(__m256i& v) { asm("" : "+x"(v)); }

inline __m256i bcast4(const int8_t* p) {
    int32_t v;
    std::memcpy(&v, p, 4);
    return _mm256_set1_epi32(v);
}

// bcast4 as a volatile asm, which GCC can neither merge with an equal broadcast nor hoist: in the
// tiles of 2-3 rows over both halves of a group it shared each broadcast between the halves and
// spilled the shared copies to the stack (MXFP4 5760x2880 m = 2: 94 vector stack accesses per
// block).
inline __m256i bcast4_fresh(const int8_t* p) {
    __m256i v;
    asm volatile("vpbroadcastd %1, %0" : "=x"(v) : "m"(*reinterpret_cast<const int32_t*>(p)));
    return v;
}

// Each format adds to isum[i] (8 lanes: rows 8h..8h+7 of a tile) the integer dot products of half h
// of one block's tile with the 32 activation bytes x[i] of each of NM activation rows. Each 32-byte
// vector read from the tile holds 4 consecutive elements of each of the 8 rows; it is loaded and
// decoded once for all NM rows.

// 4-bit tiles: chunk t's low nibbles are elements 8t..8t+3, its high nibbles 8t+4..8t+7. The low +
// high products of a chunk are summed in int16 (each vpmaddubsw lane at most 2 * 24 * 127), and
// those of two chunks before one vpmaddwd widens them (4 * 2 * 24 * 127 < 2^15): fewer
// instructions per product, as the tiles are bound by vector instructions. Zen 3, matmul_bench
// x16, 1 thread, us, one chunk -> two (2 interleaved rounds): Q4_0 3072x768 m = 1 50.8 / 52.6 ->
// 38.9 / 39.4, m = 8 282 / 283 -> 263 / 264, m = 64 2002 / 2009 -> 1789 / 1802; MXFP4 2880x5760
// m = 32 7853 / 7933 -> 7097 / 7096, m = 128 32152 / 32427 -> 28979 / 29452; the MXFP4 GEMV
// (m = 1) 361 / 361 -> 349 / 351 once everything was inlined (below).
// Always inlined, as are the formats' dot/scales/map: GCC otherwise called it once per block and
// half for 1-3 rows, so the caller spilled its accumulators around each call (all vector registers
// are caller-saved) and isum went to memory after every chunk (the tile is read through a uint8_t
// pointer, which may alias it).
template <class Table, int NM>
[[gnu::always_inline]] inline void dot_nibbles(const uint8_t* tile, int h, const int8_t* const (&x)[NM],
                                               __m256i (&isum)[NM]) {
    const __m256i m4 = _mm256_set1_epi8(15), ones = _mm256_set1_epi16(1);
    // products of chunk t with activation row i, summed in int16
    auto bcast = [](const int8_t* p) { return NM == 2 || NM == 3 ? bcast4_fresh(p) : bcast4(p); };
    auto chunk = [&](__m256i lo, __m256i hi, int i, int t) {
        return _mm256_add_epi16(_mm256_maddubs_epi16(lo, bcast(x[i] + 8 * t)),
                                _mm256_maddubs_epi16(hi, bcast(x[i] + 8 * t + 4)));
    };
    // chunk t's codes: low nibbles (elements 8t..8t+3), high nibbles (8t+4..8t+7)
    auto codes = [&](int t, __m256i& lo, __m256i& hi) {
        const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(tile + 64 * t + 32 * h));
        lo = Table::map(_mm256_and_si256(v, m4));
        hi = Table::map(_mm256_and_si256(_mm256_srli_epi16(v, 4), m4));
    };
#pragma GCC unroll 2
    for (int t = 0; t < 4; t += 2) {
        __m256i lo0, hi0, lo1, hi1;
        codes(t, lo0, hi0);
        codes(t + 1, lo1, hi1);
#pragma GCC unroll 8
        for (int i = 0; i < NM; ++i) {
            const __m256i p = _mm256_add_epi16(chunk(lo0, hi0, i, t), chunk(lo1, hi1, i, t + 1));
            isum[i] = _mm256_add_epi32(isum[i], _mm256_madd_epi16(p, ones));
        }
    }
}

struct Q4_0x8 {
    static constexpr int kOffset = 8, kScaleBytes = 2, kTileBytes = 256;
    [[gnu::always_inline]] static __m256i map(__m256i v) { return v; }
    // Scales of rows 8h..8h+7 of a block.
    [[gnu::always_inline]] static __m256 scales(const uint8_t* s, int h) {
        return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s + 16 * h)));
    }
    template <int NM>
    [[gnu::always_inline]] static void dot(const uint8_t* tile, int h, const int8_t* const (&x)[NM],
                                           __m256i (&isum)[NM]) {
        dot_nibbles<Q4_0x8>(tile, h, x, isum);
    }
};

// Signed int8 codes, multiplied with the sign trick (|w| x (x with w's sign)): 2 * 128 * 127 fits
// int16, but the unsigned form (q + 128) would saturate vpmaddubsw. Q8_0x8Widened takes the decode
// batches of 4-32 rows (run).
struct Q8_0x8 {
    static constexpr int kOffset = 0, kScaleBytes = 2, kTileBytes = 512;
    [[gnu::always_inline]] static __m256 scales(const uint8_t* s, int h) { return Q4_0x8::scales(s, h); }
    template <int NM>
    [[gnu::always_inline]] static void dot(const uint8_t* tile, int h, const int8_t* const (&x)[NM],
                                           __m256i (&isum)[NM]) {
        const __m256i ones = _mm256_set1_epi16(1);
        for (int q = 0; q < 8; ++q) {
            const __m256i u = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(tile + 64 * q + 32 * h));
            const __m256i magnitude = _mm256_sign_epi8(u, u);
            for (int i = 0; i < NM; ++i) {
                const __m256i p = _mm256_maddubs_epi16(magnitude, _mm256_sign_epi8(bcast4(x[i] + 4 * q), u));
                isum[i] = _mm256_add_epi32(isum[i], _mm256_madd_epi16(p, ones));
                if constexpr (NM <= 3) keep_in_order(isum[i]);
            }
        }
    }
};

// Q8_0 in tiles of 4 rows, for batches of kInt16MinRows to kInt16MaxRows rows (run): weights
// widened to int16 once for all rows, activations once per batch (Activations::q8_wide), so that
// 32 products of a row take 2 vpmaddwd and 2 adds instead of vpsignb + vpmaddubsw + vpmaddwd + add.
// Zen 3 has two pipes for these multiplies and four for adds: a loop of each instruction mix alone
// (inline asm, operands in L1) did 22.6 against 18.6 products per cycle at 4 rows. A 16-byte
// quarter of a chunk (rows 4j..4j+3, elements 4q..4q+3 of each) widened and multiplied with
// elements 4q..4q+3 of an activation row gives the pair sums [r:e01, r:e23] of 4 rows; vphaddd of
// the two quarters' block sums gives the 8 rows in the lane order 0 1 4 5 2 3 6 7, so the scales
// are permuted alike and the accumulators back before the store. The integer sums are exactly
// Q8_0x8's, so every row gets the same bits in any tile.
struct Q8_0x8Widened {
    static constexpr int kOffset = 0, kScaleBytes = 2, kTileBytes = 512;
    // lane order 0 1 4 5 2 3 6 7 (its own inverse)
    [[gnu::always_inline]] static __m256 permute(__m256 v) {
        return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(v), 0xD8));
    }
    [[gnu::always_inline]] static __m256 scales(const uint8_t* s, int h) { return permute(Q4_0x8::scales(s, h)); }
    template <int NM>
    [[gnu::always_inline]] static void dot(const uint8_t* tile, int h, const int16_t* const (&x)[NM],
                                           __m256i (&isum)[NM]) {
        __m256i lo[NM], hi[NM];  // pair sums of rows 0-3 and 4-7 of the half
        for (int i = 0; i < NM; ++i) lo[i] = hi[i] = _mm256_setzero_si256();
#pragma GCC unroll 8
        for (int q = 0; q < 8; ++q) {
            const uint8_t* p = tile + 64 * q + 32 * h;
            const __m256i w_lo = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
            const __m256i w_hi = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16)));
#pragma GCC unroll 8
            for (int i = 0; i < NM; ++i) {
                int64_t e;
                std::memcpy(&e, x[i] + 4 * q, 8);
                const __m256i a = _mm256_set1_epi64x(e);
                lo[i] = _mm256_add_epi32(lo[i], _mm256_madd_epi16(w_lo, a));
                hi[i] = _mm256_add_epi32(hi[i], _mm256_madd_epi16(w_hi, a));
                // (without these GCC formed all products of the block first and spilled them)
                keep_in_order(lo[i]);
                keep_in_order(hi[i]);
            }
        }
        for (int i = 0; i < NM; ++i) isum[i] = _mm256_add_epi32(isum[i], _mm256_hadd_epi32(lo[i], hi[i]));
    }
};

struct MXFP4x8 {
    static constexpr int kOffset = 12, kScaleBytes = 1, kTileBytes = 256;
    // 2^(e-128) from the bits: exponent field e-1 for e >= 2, subnormals 2^-127, 2^-128 below.
    [[gnu::always_inline]] static __m256 scales(const uint8_t* s, int h) {
        int64_t e8;
        std::memcpy(&e8, s + 8 * h, 8);
        const __m256i e = _mm256_cvtepu8_epi32(_mm_cvtsi64_si128(e8));
        const __m256i normal = _mm256_slli_epi32(_mm256_sub_epi32(e, _mm256_set1_epi32(1)), 23);
        const __m256i sub = _mm256_sllv_epi32(_mm256_set1_epi32(0x00200000), e);
        const __m256i is_normal = _mm256_cmpgt_epi32(e, _mm256_set1_epi32(1));
        return _mm256_castsi256_ps(_mm256_blendv_epi8(sub, normal, is_normal));
    }
    [[gnu::always_inline]] static __m256i map(__m256i v) {
        const __m256i lut = _mm256_setr_epi8(12, 13, 14, 15, 16, 18, 20, 24, 12, 11, 10, 9, 8, 6, 4, 0,
                                             12, 13, 14, 15, 16, 18, 20, 24, 12, 11, 10, 9, 8, 6, 4, 0);
        return _mm256_shuffle_epi8(lut, v);
    }
    template <int NM>
    [[gnu::always_inline]] static void dot(const uint8_t* tile, int h, const int8_t* const (&x)[NM],
                                           __m256i (&isum)[NM]) {
        dot_nibbles<MXFP4x8>(tile, h, x, isum);
    }
};

// The formats that take int16 activations (Activations::q8_wide) and keep their lanes permuted.
template <class Fmt>
constexpr bool kWidened = std::is_same_v<Fmt, Q8_0x8Widened>;

// NG 16-row groups (the first is g0), NH 8-row halves of each from half h0, times NM activation
// rows starting at i0; with Prefetch (tiles that read their groups from memory) a software
// prefetch ahead in each group's stream (kernels/x16_prefetch.h). Per block and half-group, the
// integer sums of all NM rows are formed first (the tile's vectors loaded once for all of them),
// then folded into the float accumulators: acc += float(isum) * (d_w * d_x), the same operations
// in the same order for any NG, NH, NM or row split, so results depend neither on the batch size
// nor on the thread count.
template <class Fmt, int NG, int NH, int NM, bool Prefetch, int Hint = _MM_HINT_T0>
void tile(const RepackedMatrix& w, size_t group_bytes, const ActBlockQ8* xq, const int32_t* xsum, const int16_t* xw,
          int64_t nb, int64_t g0, int h0, int64_t i0, float* y, int64_t ldy, int64_t r_begin, int64_t r_end) {
    __m256 acc[NG][NH][NM];
    const uint8_t* codes[NG];
    const uint8_t* scales[NG];
    for (int g = 0; g < NG; ++g) {
        codes[g] = w.data + static_cast<size_t>(g0 + g) * group_bytes;
        scales[g] = codes[g] + nb * Fmt::kTileBytes;
        for (int h = 0; h < NH; ++h)
            for (int i = 0; i < NM; ++i) acc[g][h][i] = _mm256_setzero_ps();
    }
    for (int64_t b = 0; b < nb; ++b) {
        const std::conditional_t<kWidened<Fmt>, int16_t, int8_t>* x[NM];
        __m256 dx[NM];
        int32_t corr[NM];
        for (int i = 0; i < NM; ++i) {
            const ActBlockQ8* xb = xq + (i0 + i) * nb + b;
            if constexpr (kWidened<Fmt>)
                x[i] = xw + ((i0 + i) * nb + b) * 32;
            else
                x[i] = xb->qs;
            dx[i] = _mm256_set1_ps(xb->d);
            corr[i] = -Fmt::kOffset * xsum[(i0 + i) * nb + b];
        }
        // Unrolled so that acc stays in registers (GCC kept the GEMV's 8 accumulators in memory, one
        // load-FMA-store each per block): Zen 3, matmul_bench 5760x2880, 1 thread, in cache, us,
        // m = 1: MXFP4 350 -> 329, Q8_0 450 -> 410, Q4_0 253 -> 288 (worse, but still below the 402
        // it took while dot_nibbles was called out of line).
#pragma GCC unroll 4
        for (int g = 0; g < NG; ++g) {
            if constexpr (Prefetch) prefetch_ahead<Fmt, NG, Hint>(codes[g], scales[g], b, nb, group_bytes);
#pragma GCC unroll 2
            for (int h = 0; h < NH; ++h) {
                __m256i isum[NM];
                for (int i = 0; i < NM; ++i) isum[i] = _mm256_set1_epi32(corr[i]);
                Fmt::template dot<NM>(codes[g] + b * Fmt::kTileBytes, h0 + h, x, isum);
                const __m256 d = Fmt::scales(scales[g] + b * 16 * Fmt::kScaleBytes, h0 + h);
                for (int i = 0; i < NM; ++i)
                    acc[g][h][i] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[i]), _mm256_mul_ps(d, dx[i]), acc[g][h][i]);
            }
        }
    }
    for (int g = 0; g < NG; ++g)
        for (int h = 0; h < NH; ++h)
            for (int i = 0; i < NM; ++i) {
                __m256 rows = acc[g][h][i];
                if constexpr (kWidened<Fmt>) rows = Fmt::permute(rows);
                avx2::store_rows(rows, (g0 + g) * kRepackRows + 8 * (h0 + h), r_begin, r_end, y + (i0 + i) * ldy);
            }
}

// tile, for the widened format a function of its own: inlined into run, the widened tiles spilled
// pointers in their block loop and ran 8-15% slower (Zen 3, matmul_bench Q8_0 2304x768 m = 8, min of
// 8 interleaved runs: 302 against 267 us).
template <class Fmt, int NG, int NH, int NM, bool Prefetch, int Hint = _MM_HINT_T0, class... Args>
void tile_call(Args... args) {
    if constexpr (kWidened<Fmt>)
        [](Args... a) __attribute__((noinline)) { tile<Fmt, NG, NH, NM, Prefetch, Hint>(a...); }(args...);
    else
        tile<Fmt, NG, NH, NM, Prefetch, Hint>(args...);
}

// GEMV: kGemvGroups groups side by side (8 float accumulator chains, 4 streams from memory).
// Against one group per tile (Zen 3, matmul_bench Q8_0 x16, 1 thread, us): 768x3072 in cache
// 78.9 -> 57.6; 2304x768 67.0 -> 53.2 and 50257x768 2937 -> 2526 (medians of 3 interleaved).
// Batches: one group at a time, one 8-row half of it per tile (acc + isum = 2 registers per
// activation row instead of 3), up to kBatchRows activation rows per tile split evenly
// (avx2::for_row_tiles); the first tile streams the group from memory, the next ones find it in
// cache. Against both halves x 2 rows per tile (Zen 3, matmul_bench x16, 1 thread, us, 2
// interleaved rounds): Q8_0 2304x768 m = 8 294 / 319 -> 278 / 282, m = 64 2261 / 2292 -> 2005 /
// 2012; 3072x768 m = 8 401 / 391 -> 372 / 371, m = 64 3115 / 3100 -> 2637 / 2685; Q4_0 3072x768
// m = 64 2457 / 2445 -> 2165 / 2088; MXFP4 2880x5760 m = 32 10402 / 10134 -> 7943 / 7817, m = 128
// 37918 / 37963 -> 31651 / 31987; m = 2 unchanged. 4 rows per tile: between the two. (Both
// halves x 3 or 4 rows spilled: slower than 2 rows.)
constexpr int kGemvGroups = 4;
constexpr int kBatchRows = 6;
// Up to this many rows, one tile takes both halves and all rows (each group read once, each
// activation broadcast used for both halves): in the engine, where the weights come from memory,
// the half-group tiles lost at 2 rows (GPT-2 124M Q8_0, 2 sequences, SILICA_PROFILE=batch, matmul
// ms per step, 3 interleaved runs: 4.16 / 4.66 / 4.44 this way, 5.11 / 5.64 / 6.05 by halves),
// though not in cache (matmul_bench m = 2: 111-131 us either way).
constexpr int kBothHalvesRows = 3;
// Rows per tile of the widened Q8_0 (3 registers per row). Zen 3, matmul_bench x16, 1 thread, in
// cache, us, 2 interleaved rounds, 3 / 4 / 5 rows against the sign trick's 6: 2304x768 m = 8 292 /
// 263 / 267 vs 295-307, m = 16 567 / 526 / 535 vs 545-778; 3072x768 m = 8 394 / 351 / 355 vs 377,
// m = 64 2896 / 3204 / 2720 vs 3106 (second round 2835 / 2756 / 2802 vs 3099).
constexpr int kWidenedRows = 4;
// From kInt16MinRows to kInt16MaxRows rows (decode batches, verify passes; kernels/kernel_traits.h)
// Q8_0 takes the widened tiles, beyond them (prefill) the sign trick's 6-row tiles: the int16
// activations are twice the bytes, re-read for every half-group. Zen 3, matmul_bench, 1 thread,
// min of 4 interleaved runs, us, widened vs sign trick: 3072x768 m = 8 347 vs 380, m = 16 683 vs
// 719, m = 32 1361 vs 1390, m = 64 2682 vs 2674, m = 128 5536 vs 5357, m = 512 23883 vs 23200.
static_assert(kInt16MinRows == kBothHalvesRows + 1, "batches past the both-halves tiles take int16");

template <class Fmt>
void run(const RepackedMatrix& w, const Activations& x, float* y, int64_t ldy, int64_t r_begin, int64_t r_end) {
    const size_t group_bytes = repacked_group_bytes(w.type, w.cols);
    const int64_t nb = w.cols / 32;
    const int64_t g_begin = r_begin / kRepackRows, g_end = (r_end + kRepackRows - 1) / kRepackRows;
    const int64_t m = x.rows();
    const bool prefetch = software_prefetch_enabled();
    const int16_t* xw = nullptr;
    // where the streaming tiles prefetch to: L2 on the CPU families that ask for it
    const bool into_l2 = family_tuning().x16_prefetch_l2;
    auto call = [&]<class F, int NG, int NH, int NM>(int64_t g, int h0, int64_t i0, bool stream) {
        if (stream && prefetch && into_l2)
            tile_call<F, NG, NH, NM, true, _MM_HINT_T1>(w, group_bytes, x.q8(), x.q8_sums(), xw, nb, g, h0, i0, y, ldy,
                                                        r_begin, r_end);
        else if (stream && prefetch)
            tile_call<F, NG, NH, NM, true>(w, group_bytes, x.q8(), x.q8_sums(), xw, nb, g, h0, i0, y, ldy, r_begin,
                                           r_end);
        else
            tile_call<F, NG, NH, NM, false>(w, group_bytes, x.q8(), x.q8_sums(), xw, nb, g, h0, i0, y, ldy, r_begin,
                                            r_end);
    };
    if (m == 1) {
        int64_t g = g_begin;
        for (; g + kGemvGroups <= g_end; g += kGemvGroups)
            call.template operator()<Fmt, kGemvGroups, 2, 1>(g, 0, 0, true);
        for (; g < g_end; ++g) call.template operator()<Fmt, 1, 2, 1>(g, 0, 0, true);
        return;
    }
    if (m <= kBothHalvesRows) {
        for (int64_t g = g_begin; g < g_end; ++g)
            avx2::with_count<kBothHalvesRows>(
                static_cast<int>(m), [&]<int NM>() { call.template operator()<Fmt, 1, 2, NM>(g, 0, 0, true); });
        return;
    }
    auto half_group_tiles = [&]<class F, int MaxRows>() {
        for (int64_t g = g_begin; g < g_end; ++g)
            for (int h0 = 0; h0 < 2; ++h0)
                avx2::for_row_tiles<MaxRows>(m, [&]<int NM>(int64_t i0) {
                    call.template operator()<F, 1, 1, NM>(g, h0, i0, h0 == 0 && i0 == 0);
                });
    };
    if constexpr (std::is_same_v<Fmt, Q8_0x8>) {
        // Activations prepared the int16 copy for these batch sizes (the AVX2 table's
        // int16_batches); null only if they were prepared at another ISA (tests switch ISAs).
        xw = x.q8_wide();
        if (xw) {
            half_group_tiles.template operator()<Q8_0x8Widened, kWidenedRows>();
            return;
        }
    }
    half_group_tiles.template operator()<Fmt, kBatchRows>();
}

}  // namespace

// The x16 kernels of the AVX2 type table (kernels/kernel_traits.cpp).
namespace avx2 {
void matmul_repacked_q8_0(const RepackedMatrix& w, const Activations& x, float* y, int64_t ldy, int64_t r_begin,
                          int64_t r_end) {
    run<Q8_0x8>(w, x, y, ldy, r_begin, r_end);
}
void matmul_repacked_q4_0(const RepackedMatrix& w, const Activations& x, float* y, int64_t ldy, int64_t r_begin,
                          int64_t r_end) {
    run<Q4_0x8>(w, x, y, ldy, r_begin, r_end);
}
void matmul_repacked_mxfp4(const RepackedMatrix& w, const Activations& x, float* y, int64_t ldy, int64_t r_begin,
                           int64_t r_end) {
    run<MXFP4x8>(w, x, y, ldy, r_begin, r_end);
}
}  // namespace avx2

}  // namespace silica::kernels
