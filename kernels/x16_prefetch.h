// Software prefetch of the x16 kernels' weight streams (the layout of quant/repack.h: per 16-row
// group its tiles block after block, then its per-block scales; the groups one after another).
// Shared by the AVX2 and AVX-512 kernels (kernels/matmul_repacked_avx2.cpp,
// kernels/matmul_x16_vnni_avx512.h); baseline x86-64 PREFETCHT0 only. Fmt gives kTileBytes (bytes
// of one block of the group's 16 rows) and kScaleBytes (bytes of one row's scale of a block).
#pragma once
#include <immintrin.h>

#include <cstddef>
#include <cstdint>

namespace silica::kernels {

// Software prefetch (GEMV and decode batches, when kernels/prefetch.h's switch is on): each group
// stream's tile kGemvPrefetchBytes ahead. From DRAM the hardware prefetcher alone left the GEMV
// short of the bandwidth: 2 threads, 201088x2880, chrt -f, interleaved rounds, median GB/s, 2
// groups per tile without prefetch -> 4 groups + 2 KiB ahead: Q8_0 28.0 / 28.9 -> 31.2 / 30.1,
// MXFP4 27.9 / 26.9 -> 28.1 / 28.0 (4 groups alone: Q8_0 30.5, MXFP4 27.1; 4 KiB ahead: 31.0, 27.4).
// A tile of one group (decode batches, K-quant tiles) is a single stream: it prefetches four times
// as far. At 8 rows the tile computes ~8x longer per byte than the GEMV, and 4 KiB ahead was
// about one loaded memory latency of lead (Zen 5, GPT-2 124M Q8_0 with 8 sequences, 5 alternating
// rounds: 4 KiB 1540 -> 8 KiB 1822 tok/s; 12 and 16 KiB mixed; earlier, Sapphire Rapids, Q8_0
// 50257x768, 8 rows, 2 threads, us per call: 2 KiB 1360 / 1720, 4 KiB 1070 / 1070).
constexpr int kGemvPrefetchBytes = 2048;

// Software prefetch of one group stream at block b: its codes kGemvPrefetchBytes ahead (four
// times that for a single stream, NG = 1) and its scales as many blocks ahead. Past the end of the
// group's codes, the stream prefetches the start of the group it reads next instead (NG groups on:
// the next tile), so a tile does not start cold. Measured on the 2-layer GPT-OSS-20B-shaped model
// (2 threads, nice -20, 3 interleaved rounds, MoE decode ms per 2 layers): codes only 3.79 / 3.79
// / 3.84, this 3.72 / 3.69 / 3.74.
// Hint: where the lines go, _MM_HINT_T0 (every cache level) or _MM_HINT_T1 (L2 and below:
// FamilyTuning::x16_prefetch_l2, kernels/cpu_family.h).
// always_inline: GCC 12 treats a prefetch as free of side effects, so a call to this function
// that is not inlined early enough counts as dead code and is deleted (its early DCE pass did so
// in the AVX-512 GEMV tiles of 2 and 4 groups: no prefetch instruction was left in them until
// session 32, while the one-group tiles kept theirs).
template <class Fmt, int NG, int Hint = _MM_HINT_T0>
[[gnu::always_inline]] inline void prefetch_ahead(const uint8_t* codes, const uint8_t* scales, int64_t b, int64_t nb, size_t group_bytes) {
    constexpr int64_t kBlocksAhead = (NG == 1 ? 4 : 1) * kGemvPrefetchBytes / Fmt::kTileBytes;
    const int64_t ahead = b + kBlocksAhead;
    const size_t next = ahead < nb ? 0 : NG * group_bytes;
    // (rows shorter than the prefetch distance stay inside the next group's codes). Not std::min:
    // with it, GCC 12 dropped every prefetch instruction of matmul_repacked_avx512.cpp (GPT-2 124M
    // with 8 sequences at half speed; tests/kernels/prefetch_kept.sh guards against it).
    const int64_t past = ahead - nb;
    const int64_t block = ahead < nb ? ahead : past < nb - 1 ? past : nb - 1;
    const uint8_t* p = codes + next + block * Fmt::kTileBytes;
    for (int line = 0; line < Fmt::kTileBytes; line += 64)
        _mm_prefetch(reinterpret_cast<const char*>(p + line), static_cast<_mm_hint>(Hint));
    _mm_prefetch(reinterpret_cast<const char*>(scales + next + block * 16 * Fmt::kScaleBytes),
                 static_cast<_mm_hint>(Hint));
}

}  // namespace silica::kernels
