// AVX2 kernels for the row-interleaved x16 layout (quant/repack.h): the AVX-512 kernel
// (kernels/matmul_repacked_avx512.cpp) with each 16-row group handled as two 8-row halves: the
// first 32 bytes of every 64-byte chunk are rows 0-7, the last 32 rows 8-15.
//
// Without VNNI the products go through vpmaddubsw (u8 x s8 -> pairs summed in int16) and vpmaddwd
// (pairs -> int32). No saturation: 4-bit codes are at most 24 (MXFP4 after its table) and
// |x| <= 127, so the low + high nibble sums of one chunk stay within 4 * 24 * 127 = 12192 before
// widening; Q8_0 uses the sign trick (at most 2 * 128 * 127 = 32512 per pair).
#include <immintrin.h>

#include <cstring>

#include "kernels/matmul_isa.h"
#include "kernels/matmul_repacked.h"
#include "kernels/prefetch.h"
#include "kernels/x16_prefetch.h"
#include "quant/repack.h"

namespace silica::kernels {
namespace {

// Each format decodes its half h (rows 8h..8h+7) of a tile into 8 vectors: u[q] holds elements
// 4q..4q+3 of each of the 8 rows (4 bytes per lane), to be multiplied by activation bytes 4q..4q+3.

// 4-bit tiles: chunk t's low nibbles are elements 8t..8t+3, its high nibbles 8t+4..8t+7.
template <class Table>
void decode_nibbles(const uint8_t* tile, int h, __m256i u[8]) {
    const __m256i m4 = _mm256_set1_epi8(15);
    for (int t = 0; t < 4; ++t) {
        const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(tile + 64 * t + 32 * h));
        u[2 * t] = Table::map(_mm256_and_si256(v, m4));
        u[2 * t + 1] = Table::map(_mm256_and_si256(_mm256_srli_epi16(v, 4), m4));
    }
}

struct Q4_0x8 {
    static constexpr int kOffset = 8, kScaleBytes = 2, kTileBytes = 256;
    static constexpr bool kSigned = false;
    static __m256i map(__m256i v) { return v; }
    // Scales of rows 8h..8h+7 of a block.
    static __m256 scales(const uint8_t* s, int h) {
        return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s + 16 * h)));
    }
    static void decode(const uint8_t* tile, int h, __m256i u[8]) { decode_nibbles<Q4_0x8>(tile, h, u); }
};

// Signed int8 codes, multiplied with the sign trick (|w| x (x with w's sign)): 2 * 128 * 127 fits
// int16, but the unsigned form (q + 128) would saturate vpmaddubsw.
struct Q8_0x8 {
    static constexpr int kOffset = 0, kScaleBytes = 2, kTileBytes = 512;
    static constexpr bool kSigned = true;
    static __m256 scales(const uint8_t* s, int h) { return Q4_0x8::scales(s, h); }
    static void decode(const uint8_t* tile, int h, __m256i u[8]) {
        for (int q = 0; q < 8; ++q) u[q] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(tile + 64 * q + 32 * h));
    }
};

struct MXFP4x8 {
    static constexpr int kOffset = 12, kScaleBytes = 1, kTileBytes = 256;
    static constexpr bool kSigned = false;
    // 2^(e-128) from the bits: exponent field e-1 for e >= 2, subnormals 2^-127, 2^-128 below.
    static __m256 scales(const uint8_t* s, int h) {
        int64_t e8;
        std::memcpy(&e8, s + 8 * h, 8);
        const __m256i e = _mm256_cvtepu8_epi32(_mm_cvtsi64_si128(e8));
        const __m256i normal = _mm256_slli_epi32(_mm256_sub_epi32(e, _mm256_set1_epi32(1)), 23);
        const __m256i sub = _mm256_sllv_epi32(_mm256_set1_epi32(0x00200000), e);
        const __m256i is_normal = _mm256_cmpgt_epi32(e, _mm256_set1_epi32(1));
        return _mm256_castsi256_ps(_mm256_blendv_epi8(sub, normal, is_normal));
    }
    static __m256i map(__m256i v) {
        const __m256i lut = _mm256_setr_epi8(12, 13, 14, 15, 16, 18, 20, 24, 12, 11, 10, 9, 8, 6, 4, 0,
                                             12, 13, 14, 15, 16, 18, 20, 24, 12, 11, 10, 9, 8, 6, 4, 0);
        return _mm256_shuffle_epi8(lut, v);
    }
    static void decode(const uint8_t* tile, int h, __m256i u[8]) { decode_nibbles<MXFP4x8>(tile, h, u); }
};

inline __m256i bcast4(const int8_t* p) {
    int32_t v;
    std::memcpy(&v, p, 4);
    return _mm256_set1_epi32(v);
}

// One 16-row group g times NM activation rows starting at i0; with Prefetch (the tile that reads
// the group from memory) a software prefetch ahead in its stream (kernels/x16_prefetch.h).
template <class Fmt, int NM, bool Prefetch>
void tile(const RepackedMatrix& w, size_t group_bytes, const ActBlockQ8* xq, const int32_t* xsum, int64_t nb,
          int64_t g, int64_t i0, float* y, int64_t ldy, int64_t r_begin, int64_t r_end) {
    __m256 acc[2][NM];
    const uint8_t* codes = w.data + static_cast<size_t>(g) * group_bytes;
    const uint8_t* scales = codes + nb * Fmt::kTileBytes;
    for (int h = 0; h < 2; ++h)
        for (int i = 0; i < NM; ++i) acc[h][i] = _mm256_setzero_ps();
    const __m256i ones = _mm256_set1_epi16(1);
    for (int64_t b = 0; b < nb; ++b) {
        if constexpr (Prefetch) prefetch_ahead<Fmt, 1>(codes, scales, b, nb, group_bytes);
        const ActBlockQ8* xb[NM];
        __m256 dx[NM];
        __m256i corr[NM], xw[NM][8];
        for (int i = 0; i < NM; ++i) {
            xb[i] = xq + (i0 + i) * nb + b;
            dx[i] = _mm256_set1_ps(xb[i]->d);
            corr[i] = _mm256_set1_epi32(-Fmt::kOffset * xsum[(i0 + i) * nb + b]);
            for (int q = 0; q < 8; ++q) xw[i][q] = bcast4(xb[i]->qs + 4 * q);
        }
        const uint8_t* c = codes + b * Fmt::kTileBytes;
        const uint8_t* s = scales + b * 16 * Fmt::kScaleBytes;
        for (int h = 0; h < 2; ++h) {
            __m256i u[8];
            Fmt::decode(c, h, u);
            const __m256 d = Fmt::scales(s, h);
            for (int i = 0; i < NM; ++i) {
                __m256i isum = corr[i];
                for (int q = 0; q < 8; q += 2) {
                    __m256i p;
                    if constexpr (Fmt::kSigned) {
                        isum = _mm256_add_epi32(isum, _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_sign_epi8(u[q], u[q]), _mm256_sign_epi8(xw[i][q], u[q])), ones));
                        p = _mm256_maddubs_epi16(_mm256_sign_epi8(u[q + 1], u[q + 1]), _mm256_sign_epi8(xw[i][q + 1], u[q + 1]));
                    } else {
                        // low + high halves summed in int16 first (at most 4 * 24 * 127)
                        p = _mm256_add_epi16(_mm256_maddubs_epi16(u[q], xw[i][q]), _mm256_maddubs_epi16(u[q + 1], xw[i][q + 1]));
                    }
                    isum = _mm256_add_epi32(isum, _mm256_madd_epi16(p, ones));
                }
                acc[h][i] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_mul_ps(d, dx[i]), acc[h][i]);
            }
        }
    }
    // Store the lanes whose rows are in [r_begin, r_end).
    for (int h = 0; h < 2; ++h) {
        const int64_t first = g * kRepackRows + 8 * h;
        for (int i = 0; i < NM; ++i) {
            alignas(32) float out[8];
            _mm256_store_ps(out, acc[h][i]);
            for (int l = 0; l < 8; ++l)
                if (first + l >= r_begin && first + l < r_end) y[(i0 + i) * ldy + first + l] = out[l];
        }
    }
}

template <class Fmt>
void run(const RepackedMatrix& w, const Activations& x, float* y, int64_t ldy, int64_t r_begin, int64_t r_end) {
    const size_t group_bytes = repacked_group_bytes(w.type, w.cols);
    const int64_t nb = w.cols / 32;
    const int64_t g_begin = r_begin / kRepackRows, g_end = (r_end + kRepackRows - 1) / kRepackRows;
    const int64_t m = x.rows();
    const bool prefetch = software_prefetch_enabled();
    // The first tile of a group streams it from memory; the next ones find it in cache.
    auto call = [&]<int NM>(int64_t g, int64_t i0) {
        if (i0 == 0 && prefetch)
            tile<Fmt, NM, true>(w, group_bytes, x.q8(), x.q8_sums(), nb, g, i0, y, ldy, r_begin, r_end);
        else
            tile<Fmt, NM, false>(w, group_bytes, x.q8(), x.q8_sums(), nb, g, i0, y, ldy, r_begin, r_end);
    };
    for (int64_t g = g_begin; g < g_end; ++g) {
        int64_t i0 = 0;
        for (; i0 + 2 <= m; i0 += 2) call.template operator()<2>(g, i0);
        if (i0 < m) call.template operator()<1>(g, i0);
    }
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
