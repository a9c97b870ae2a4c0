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
// depend on the row split; partial groups are computed whole and stored with a lane mask.
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

#include "kernels/amx.h"
#include "kernels/matmul_amx.h"
#include "kernels/matmul_repacked.h"
#include "kernels/prefetch.h"
#include "kernels/repacked_formats_avx512.h"
#include "quant/repack.h"

namespace silica::kernels::x16 {
namespace {

// From kAmxMinRows (kernels/amx.h) activation rows, batches go to AMX when it is usable. Measured
// (matmul_bench, 1 thread, GOP/s AMX vs AVX-512; AMX pads the batch to 16 rows): Q8_0 3072x768
// m = 8: 327 vs 291, m = 12: 451 vs 308; MXFP4 5760x2880 (its decode is paid per call) m = 8: 228
// vs 299, m = 12: 333 vs 308, m = 16: 429 vs 303.

// Software prefetch (GEMV only, when kernels/prefetch.h's switch is on): each group stream's tile
// kGemvPrefetchBytes ahead. From DRAM the hardware prefetcher alone left the GEMV short of the
// bandwidth: 2 threads, 201088x2880, chrt -f, interleaved rounds, median GB/s, 2 groups per tile
// without prefetch -> 4 groups + 2 KiB ahead: Q8_0 28.0 / 28.9 -> 31.2 / 30.1, MXFP4 27.9 / 26.9
// -> 28.1 / 28.0 (4 groups alone: Q8_0 30.5, MXFP4 27.1; 4 KiB ahead: 31.0, 27.4).
constexpr int kGemvPrefetchBytes = 2048;

// GEMV software prefetch of one group stream at block b: its codes kGemvPrefetchBytes ahead and
// its scales as many blocks ahead. Past the end of the group's codes, the stream prefetches the
// start of the group it reads next instead (NG groups on: the next tile), so a tile does not start
// cold. Measured on the 2-layer GPT-OSS-20B-shaped model (2 threads, nice -20, 3 interleaved
// rounds, MoE decode ms per 2 layers): codes only 3.79 / 3.79 / 3.84, this 3.72 / 3.69 / 3.74.
template <class Fmt, int NG>
inline void prefetch_ahead(const uint8_t* codes, const uint8_t* scales, int64_t b, int64_t nb, size_t group_bytes) {
    constexpr int64_t kBlocksAhead = kGemvPrefetchBytes / Fmt::kTileBytes;
    const int64_t ahead = b + kBlocksAhead;
    const size_t next = ahead < nb ? 0 : NG * group_bytes;
    const int64_t block = ahead < nb ? ahead : ahead - nb;
    const uint8_t* p = codes + next + block * Fmt::kTileBytes;
    for (int line = 0; line < Fmt::kTileBytes; line += 64)
        _mm_prefetch(reinterpret_cast<const char*>(p + line), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(scales + next + block * 16 * Fmt::kScaleBytes), _MM_HINT_T0);
}

inline __m512i bcast4(const int8_t* p) {
    int32_t v;
    std::memcpy(&v, p, 4);
    return _mm512_set1_epi32(v);
}

// NG groups (16 rows each) starting at group g0, times NM activation rows starting at i0.
template <class Fmt, int NG, int NM>
void tile(const RepackedMatrix& w, size_t group_bytes, const ActBlockQ8* xq, const int32_t* xsum, int64_t nb,
          int64_t g0, int64_t i0, float* y, int64_t ldy, int64_t r_begin, int64_t r_end, bool prefetch) {
    __m512 acc[NG][NM];
    const uint8_t* codes[NG];
    const uint8_t* scales[NG];
    for (int g = 0; g < NG; ++g) {
        codes[g] = w.data + static_cast<size_t>(g0 + g) * group_bytes;
        scales[g] = codes[g] + nb * Fmt::kTileBytes;
        for (int i = 0; i < NM; ++i) acc[g][i] = _mm512_setzero_ps();
    }
    for (int64_t b = 0; b < nb; ++b) {
        const ActBlockQ8* xb[NM];
        __m512 dx[NM];
        __m512i corr[NM];
        for (int i = 0; i < NM; ++i) {
            xb[i] = xq + (i0 + i) * nb + b;
            dx[i] = _mm512_set1_ps(xb[i]->d);
            corr[i] = _mm512_set1_epi32(-Fmt::kOffset * xsum[(i0 + i) * nb + b]);
        }
        for (int g = 0; g < NG; ++g) {
            __m512i u[8];
            const uint8_t* tile_codes = codes[g] + b * Fmt::kTileBytes;
            // GEMV tiles and the multi-group tiles of small batches stream weights from memory;
            // prefill's 1-group tiles reuse them from cache.
            if constexpr ((NM == 1 || NG > 1) && kGemvPrefetchBytes > 0)
                if (prefetch) prefetch_ahead<Fmt, NG>(codes[g], scales[g], b, nb, group_bytes);
            Fmt::decode(tile_codes, u);
            const __m512 d = Fmt::scales(scales[g] + b * 16 * Fmt::kScaleBytes);
            for (int i = 0; i < NM; ++i) {
                // two independent chains (even and odd q) to halve the vpdpbusd latency chain
                __m512i s0 = corr[i], s1 = _mm512_setzero_si512();
                for (int q = 0; q < 8; q += 2) {
                    s0 = _mm512_dpbusd_epi32(s0, u[q], bcast4(xb[i]->qs + 4 * q));
                    s1 = _mm512_dpbusd_epi32(s1, u[q + 1], bcast4(xb[i]->qs + 4 * q + 4));
                }
                const __m512i isum = _mm512_add_epi32(s0, s1);
                acc[g][i] = _mm512_fmadd_ps(cvt_i32_f32(isum), _mm512_mul_ps(d, dx[i]), acc[g][i]);
            }
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

// Activation rows up to which run() streams weights like a GEMV (see there).
constexpr int64_t kStreamMaxRows = 8;

template <class Fmt>
void run(const RepackedMatrix& w, const Activations& x, float* y, int64_t ldy, int64_t r_begin, int64_t r_end) {
    const size_t group_bytes = repacked_group_bytes(w.type, w.cols);
    const int64_t nb = w.cols / 32;
    const int64_t g_begin = r_begin / kRepackRows, g_end = (r_end + kRepackRows - 1) / kRepackRows;
    const int64_t m = x.rows();
    const bool prefetch = software_prefetch_enabled();
    auto call = [&]<int NG, int NM>(int64_t g, int64_t i0) {
        tile<Fmt, NG, NM>(w, group_bytes, x.q8(), x.q8_sums(), nb, g, i0, y, ldy, r_begin, r_end, prefetch);
    };
    // Tiles measured (1 thread, CPU time, 2880x2880 and 3072x768): GEMV 1, 2 or 4 groups per tile
    // within noise in cache, 4 best from DRAM (see kGemvPrefetchBytes); GEMM 1 group x 4
    // activation rows beat 2 x 4 (-25%), 2 x 2 (-15%) and 1 x 8 (-3%).
    if (m == 1) {
        int64_t g = g_begin;
        for (; g + 4 <= g_end; g += 4) call.template operator()<4, 1>(g, 0);
        for (; g + 2 <= g_end; g += 2) call.template operator()<2, 1>(g, 0);
        if (g < g_end) call.template operator()<1, 1>(g, 0);
        return;
    }
    // With AMX, TDPBSSD computes the same integer sums (bit-identical results, kernels/matmul_amx.h).
    if (m >= kAmxMinRows && active_amx_int8() && matmul_x16_amx(w, x, y, ldy, r_begin, r_end)) return;
    // A few rows (several sequences decoding together) are bound by reading the weights, as one
    // row is: stream two groups per tile with the GEMV's prefetch, each group's tiles then reused
    // from cache for every 4 activation rows. The 1-group prefill tiles below ran 2 rows at 1.6x
    // the time of 1 (GPT-2 124M Q8_0 decode, 2 sequences, 2 threads).
    if (m <= kStreamMaxRows) {
        auto rows = [&]<int NG>(int64_t g) {
            int64_t i0 = 0;
            for (; i0 + 4 <= m; i0 += 4) call.template operator()<NG, 4>(g, i0);
            switch (m - i0) {
                case 3: call.template operator()<NG, 3>(g, i0); break;
                case 2: call.template operator()<NG, 2>(g, i0); break;
                case 1: call.template operator()<NG, 1>(g, i0); break;
                default: break;
            }
        };
        int64_t g = g_begin;
        for (; g + 2 <= g_end; g += 2) rows.template operator()<2>(g);
        if (g < g_end) rows.template operator()<1>(g);
        return;
    }
    for (int64_t g = g_begin; g < g_end; ++g) {
        int64_t i0 = 0;
        for (; i0 + 4 <= m; i0 += 4) call.template operator()<1, 4>(g, i0);
        switch (m - i0) {
            case 3: call.template operator()<1, 3>(g, i0); break;
            case 2: call.template operator()<1, 2>(g, i0); break;
            case 1: call.template operator()<1, 1>(g, i0); break;
            default: break;
        }
    }
}

}  // namespace
}  // namespace silica::kernels::x16
