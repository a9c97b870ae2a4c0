// The x16 block formats (quant/repack.h) as the AVX-512 kernels decode them: per 32-element block
// of a 16-row group, 8 vectors u[q] of unsigned codes (elements 4q..4q+3 of every row, int32 lane l
// = row l) with a fixed offset (the value is u - kOffset, times 1/2 for MXFP4's doubled values),
// and the 16 row scales as one float vector. Shared by kernels/matmul_repacked_avx512.cpp (VNNI)
// and kernels/matmul_amx_avx512.cpp (AMX), so both scale by bit-identical factors. Include only
// from *_avx512.cpp files. Internal linkage (an unnamed namespace): kernels/matmul_repacked_vbmi_avx512.cpp
// compiles these for another instruction set, and the linker must not merge the two builds.
#pragma once
#include <immintrin.h>

#include <cstdint>

namespace silica::kernels::x16 {
namespace {

// (all-lanes masked forms: GCC 12's unmasked intrinsics trip -Wmaybe-uninitialized, bug 105593)
inline __m512 cvt_i32_f32(__m512i v) { return _mm512_maskz_cvtepi32_ps(static_cast<__mmask16>(0xFFFF), v); }
inline __m512 cvt_f16_f32(__m256i h) { return _mm512_maskz_cvtph_ps(static_cast<__mmask16>(0xFFFF), h); }
inline __m512i cvt_u8_i32(__m128i v) { return _mm512_maskz_cvtepu8_epi32(static_cast<__mmask16>(0xFFFF), v); }
inline __m512i cvt_i8_i32(__m128i v) { return _mm512_maskz_cvtepi8_epi32(static_cast<__mmask16>(0xFFFF), v); }
inline __m512i bcast_128(__m128i v) { return _mm512_maskz_broadcast_i32x4(static_cast<__mmask16>(0xFFFF), v); }
inline __m512 scalef(__m512 a, __m512 b) { return _mm512_maskz_scalef_ps(static_cast<__mmask16>(0xFFFF), a, b); }

// Each format decodes one tile (block b of 16 rows) into 8 vectors of unsigned codes: u[q] holds
// elements 4q..4q+3 of every row (4 bytes per lane), to be multiplied by activation bytes 4q..4q+3.
// Fmt::decode_pair(tile, t, even, odd) gives u[2t] and u[2t + 1] alone (the prefill tile decodes a
// block a pair at a time, so it holds 2 of the 8 vectors, not all of them); Fmt::decode all 8.
template <class Fmt>
void decode_by_pairs(const uint8_t* tile, __m512i u[8]) {
    for (int t = 0; t < 4; ++t) Fmt::decode_pair(tile, t, u[2 * t], u[2 * t + 1]);
}

// 4-bit tiles: chunk t's low nibbles are elements 8t..8t+3, its high nibbles 8t+4..8t+7.
template <class Table>
void decode_nibble_pair(const uint8_t* tile, int t, __m512i& even, __m512i& odd) {
    const __m512i m4 = _mm512_set1_epi8(15);
    const __m512i v = _mm512_loadu_si512(reinterpret_cast<const void*>(tile + 64 * t));
    even = Table::map(_mm512_and_si512(v, m4));
    odd = Table::map(_mm512_and_si512(_mm512_srli_epi16(v, 4), m4));
}

struct Q4_0x16 {
    static constexpr int kOffset = 8, kScaleBytes = 2, kTileBytes = 256;
    static __m512i map(__m512i v) { return v; }
    static __m512 scales(const uint8_t* s) {
        return cvt_f16_f32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(s)));
    }
    static void decode(const uint8_t* tile, __m512i u[8]) { decode_by_pairs<Q4_0x16>(tile, u); }
    static void decode_pair(const uint8_t* tile, int t, __m512i& even, __m512i& odd) {
        decode_nibble_pair<Q4_0x16>(tile, t, even, odd);
    }
};

// int8 codes + 128 (flip the sign bit): unsigned for vpdpbusd; 255 * 127 * 4 fits int32.
struct Q8_0x16 {
    static constexpr int kOffset = 128, kScaleBytes = 2, kTileBytes = 512;
    static __m512 scales(const uint8_t* s) { return Q4_0x16::scales(s); }
    static void decode(const uint8_t* tile, __m512i u[8]) { decode_by_pairs<Q8_0x16>(tile, u); }
    static void decode_pair(const uint8_t* tile, int t, __m512i& even, __m512i& odd) {
        const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
        even = _mm512_xor_si512(_mm512_loadu_si512(reinterpret_cast<const void*>(tile + 128 * t)), flip);
        odd = _mm512_xor_si512(_mm512_loadu_si512(reinterpret_cast<const void*>(tile + 128 * t + 64)), flip);
    }
};

// E2M1 codes -> doubled values + 12 (0..24) by table, scale 2^(e-128) (see DecodeMXFP4 in
// kernels/matmul_simd_body.h); vscalefps builds it exactly, subnormals included.
struct MXFP4x16 {
    static constexpr int kOffset = 12, kScaleBytes = 1, kTileBytes = 256;
    static __m512 scales(const uint8_t* s) {
        const __m512i e = cvt_u8_i32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s)));
        return scalef(_mm512_set1_ps(1.0f), cvt_i32_f32(_mm512_sub_epi32(e, _mm512_set1_epi32(128))));
    }
    // The 16 table entries in every 128-bit lane.
    static __m512i table() {
        return bcast_128(_mm_setr_epi8(12, 13, 14, 15, 16, 18, 20, 24, 12, 11, 10, 9, 8, 6, 4, 0));
    }
    static __m512i map(__m512i v) { return _mm512_shuffle_epi8(table(), v); }
    static void decode(const uint8_t* tile, __m512i u[8]) { decode_by_pairs<MXFP4x16>(tile, u); }
    static void decode_pair(const uint8_t* tile, int t, __m512i& even, __m512i& odd) {
        decode_nibble_pair<MXFP4x16>(tile, t, even, odd);
    }
};

// K-quants (quant/repack.h): codes per 32-element block as above, block and super-block scales
// apart. The x16 kernel takes them through k_tile and in prefill k_pair_tile
// (kernels/matmul_x16_vnni_avx512.h), which apply Q4_K's per-block scale and min, and Q6_K's two
// scales per block (one per 16 elements).
// kScaleBytes: block-scale bytes per row and block (for the prefetch, as for the types above).
struct Q4_Kx16 {
    static constexpr int kTileBytes = 256, kScaleBytes = 2, kSuperBytes = 64;
    static void decode(const uint8_t* tile, __m512i u[8]) { decode_by_pairs<Q4_Kx16>(tile, u); }
    static void decode_pair(const uint8_t* tile, int t, __m512i& even, __m512i& odd) {
        Q4_0x16::decode_pair(tile, t, even, odd);
    }
};

// The 6-bit codes u = low nibble | top 2 bits << 4; the top bits of u[4h + s] are bits 2s..2s+1
// of the bytes of chunk h after the nibbles, moved to bits 4..5 (16-bit shifts; what crosses into
// a neighbour byte is masked off). Pair t is u[2t], u[2t + 1]: chunk h = t / 2, s = 2 (t % 2) + 0, 1.
struct Q6_Kx16 {
    static constexpr int kTileBytes = 384, kScaleBytes = 2, kSuperBytes = 32;
    // (all 8 at once, each chunk's top bits loaded once: as a loop of decode_pair, GCC 12 kept it
    // out of line and the GPT-2 decode batches measured 2-6% slower)
    static void decode(const uint8_t* tile, __m512i u[8]) {
        decode_by_pairs<Q4_0x16>(tile, u);
        for (int h = 0; h < 2; ++h) {
            const __m512i v = top_bits(tile, h);
            for (int s = 0; s < 4; ++s) u[4 * h + s] = with_top_bits(u[4 * h + s], v, s);
        }
    }
    static void decode_pair(const uint8_t* tile, int t, __m512i& even, __m512i& odd) {
        Q4_0x16::decode_pair(tile, t, even, odd);
        const __m512i v = top_bits(tile, t / 2);
        even = with_top_bits(even, v, 2 * (t % 2));
        odd = with_top_bits(odd, v, 2 * (t % 2) + 1);
    }
    // Chunk h's top bits (64 bytes after the 256 of nibbles), and u with bits 2s..2s+1 of them
    // moved to bits 4..5.
    static __m512i top_bits(const uint8_t* tile, int h) {
        return _mm512_loadu_si512(reinterpret_cast<const void*>(tile + 256 + 64 * h));
    }
    static __m512i with_top_bits(__m512i u, __m512i v, int s) {
        const __m512i shifted = s == 0   ? _mm512_slli_epi16(v, 4)
                                : s == 1 ? _mm512_slli_epi16(v, 2)
                                : s == 2 ? v
                                         : _mm512_srli_epi16(v, 2);
        // (imm 0xF8: a | (b & c))
        return _mm512_ternarylogic_epi32(u, shifted, _mm512_set1_epi8(0x30), 0xF8);
    }
};

}  // namespace
}  // namespace silica::kernels::x16
