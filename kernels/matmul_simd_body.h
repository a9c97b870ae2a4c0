// The SIMD matmul kernels, written once and compiled per ISA: kernels/matmul_avx2.cpp and
// kernels/matmul_avx512.cpp include this file inside their own namespace after defining
//   __m256i dot_u8s8(__m256i u, __m256i s)  -- 8 int32 lanes, lane l = sum of u[4l+t]*s[4l+t], t<4
//   __m256i dot_u8s8_acc(__m256i acc, u, s)  -- acc + dot_u8s8(u, s)
//   constexpr bool kUnsignedQ8               -- dot_u8s8 is exact for u up to 255 (no saturation)
//   constexpr int kGemmRowsPerTile           -- weight rows per tile when several activation rows
// and, when the ISA has vdpbf16ps, the macro SILICA_SIMD_HAVE_DPBF16.
//
// All kernels work on 256-bit vectors: on Zen 4 (the target machine) 512-bit operations are split
// into two 256-bit halves, and one 32-element block is exactly one vector of int8, so there is no
// cross-block shuffling. The AVX-512 build still gains VNNI (one vpdpbusd instead of
// vpmaddubsw + vpmaddwd), 32 vector registers and vdpbf16ps.
//
// Tiles: NR weight rows x NM activation rows share each loaded block. Every (row, activation row)
// pair has its own accumulator and goes through the same operations in the same order whatever
// tile it lands in, so results do not depend on how [r_begin, r_end) is split.
//
// No includes here: the including file includes <immintrin.h>, <cmath>, <cstring> and the
// kernels headers before opening its namespace.

inline float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

// signed x signed through the unsigned x signed instruction: |w| * (x with w's sign).
// |w| of -128 is 128 as unsigned, still right; activations are within [-127, 127].
inline __m256i dot_s8s8(__m256i w, __m256i x) {
    return dot_u8s8(_mm256_sign_epi8(w, w), _mm256_sign_epi8(x, w));
}

inline float load_fp16(const uint8_t* p) {
    uint16_t h;
    std::memcpy(&h, p, 2);
    return _cvtsh_ss(h);
}

// 16 bytes of packed 4-bit codes -> 32 bytes: element j < 16 from the low nibble of byte j, element
// 16 + j from its high nibble (ggml's layout).
inline __m256i unpack_nibbles(const uint8_t* qs) {
    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
    const __m128i m4 = _mm_set1_epi8(15);
    return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(b, 4), m4), _mm_and_si128(b, m4));
}

// Bit j of the little-endian 32-bit qh -> byte j = 0x10 (the 5th bit of Q5 codes) or 0.
inline __m256i expand_high_bits(const uint8_t* qh_bytes) {
    uint32_t qh;
    std::memcpy(&qh, qh_bytes, 4);
    const __m256i byte_of_bit = _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202,
                                                   0x0101010101010101, 0x0000000000000000);
    const __m256i bit = _mm256_set1_epi64x(static_cast<int64_t>(0x8040201008040201ull));
    __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32(static_cast<int>(qh)), byte_of_bit);
    v = _mm256_cmpeq_epi8(_mm256_and_si256(v, bit), bit);
    return _mm256_and_si256(v, _mm256_set1_epi8(0x10));
}

// 2^(e-128) from the bits: exponent field e-1 for e >= 2, subnormals 2^-127 and 2^-128 below.
inline float mxfp4_half_scale_fast(uint8_t e) {
    const uint32_t bits = e >= 2 ? static_cast<uint32_t>(e - 1) << 23 : 0x00200000u << e;
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

// A weight block decoded to 32 unsigned 8-bit codes u: value = d * (u - offset) + m, where the
// offset is a constant of the type (Dec::kOffset). The kernels compute sum(u * x) with the
// unsigned x signed instruction and fold in -offset * sum(x), which depends only on the
// activations and so is computed once per activation block and shared by all rows of a tile.
struct WeightBlock {
    __m256i u;
    float d;
    float m;
};

// Q8_0: u = q + 128 (flip the sign bit). With vpmaddubsw, 255 * 127 * 2 would saturate int16, so
// the AVX2 build uses the sign trick on q instead (kUnsignedQ8 = false).
struct DecodeQ8_0 {
    static constexpr int kBytes = 34, kOffset = 128;
    static constexpr bool kHasMin = false;
    static WeightBlock load(const uint8_t* p) {
        const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 2));
        return {kUnsignedQ8 ? _mm256_xor_si256(q, _mm256_set1_epi8(static_cast<char>(0x80))) : q, load_fp16(p), 0.0f};
    }
};
struct DecodeQ4_0 {
    static constexpr int kBytes = 18, kOffset = 8;
    static constexpr bool kHasMin = false;
    static WeightBlock load(const uint8_t* p) { return {unpack_nibbles(p + 2), load_fp16(p), 0.0f}; }
};
struct DecodeQ4_1 {
    static constexpr int kBytes = 20, kOffset = 0;
    static constexpr bool kHasMin = true;
    static WeightBlock load(const uint8_t* p) { return {unpack_nibbles(p + 4), load_fp16(p), load_fp16(p + 2)}; }
};
struct DecodeQ5_0 {
    static constexpr int kBytes = 22, kOffset = 16;
    static constexpr bool kHasMin = false;
    static WeightBlock load(const uint8_t* p) {
        return {_mm256_or_si256(unpack_nibbles(p + 6), expand_high_bits(p + 2)), load_fp16(p), 0.0f};
    }
};
struct DecodeQ5_1 {
    static constexpr int kBytes = 24, kOffset = 0;
    static constexpr bool kHasMin = true;
    static WeightBlock load(const uint8_t* p) {
        return {_mm256_or_si256(unpack_nibbles(p + 8), expand_high_bits(p + 4)), load_fp16(p), load_fp16(p + 2)};
    }
};
// E2M1 codes -> doubled values {0,1,2,3,4,6,8,12} (sign in bit 3) plus 12, so they are unsigned
// (0..24), by one byte shuffle; the block scale 2^(e-127) is halved to compensate.
struct DecodeMXFP4 {
    static constexpr int kBytes = 17, kOffset = 12;
    static constexpr bool kHasMin = false;
    static WeightBlock load(const uint8_t* p) {
        const __m256i lut = _mm256_setr_epi8(12, 13, 14, 15, 16, 18, 20, 24, 12, 11, 10, 9, 8, 6, 4, 0,
                                             12, 13, 14, 15, 16, 18, 20, 24, 12, 11, 10, 9, 8, 6, 4, 0);
        return {_mm256_shuffle_epi8(lut, unpack_nibbles(p + 1)), mxfp4_half_scale_fast(p[0]), 0.0f};
    }
};

// Software prefetch distance in weight bytes ahead of each row's current block, used when
// kernels::software_prefetch_enabled() (kernels/prefetch.h; the kernels take it as `prefetch`).
// Measured on the 201088x2880 output matrix (DRAM-bound, 1 thread, AVX-512): Q8_0 7.5 -> 10.7 GB/s
// and MXFP4 5.0 -> 7.2 GB/s with 512 bytes; 1024 was worse. (Prefetching past a row's end is harmless.)
#ifndef SILICA_MATMUL_PREFETCH
#define SILICA_MATMUL_PREFETCH 512
#endif
constexpr int kPrefetchBytes = SILICA_MATMUL_PREFETCH;

// NR weight rows starting at r0 times NM activation rows starting at i0.
template <class Dec, int NR, int NM>
void int8_tile(const Matrix& w, const ActBlockQ8* xq, int64_t nb, int64_t r0, int64_t i0, float* y,
               int64_t ldy, bool prefetch) {
    // Q8_0 without an unsigned-safe instruction: signed x signed via the sign trick, no offset.
    constexpr bool kSignTrick = std::is_same_v<Dec, DecodeQ8_0> && !kUnsignedQ8;
    __m256 acc[NR][NM];
    float macc[NR][NM];
    const uint8_t* rows[NR];
    for (int rr = 0; rr < NR; ++rr) {
        rows[rr] = w.data + static_cast<size_t>(r0 + rr) * w.row_stride;
        for (int i = 0; i < NM; ++i) {
            acc[rr][i] = _mm256_setzero_ps();
            macc[rr][i] = 0.0f;
        }
    }
    const ActBlockQ8* xrow[NM];
    for (int i = 0; i < NM; ++i) xrow[i] = xq + (i0 + i) * nb;
    for (int64_t b = 0; b < nb; ++b) {
        __m256i xv[NM], corr[NM];
        __m256 dx[NM];
        float sx[NM];
        for (int i = 0; i < NM; ++i) {
            xv[i] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xrow[i][b].qs));
            dx[i] = _mm256_set1_ps(xrow[i][b].d);
            sx[i] = xrow[i][b].s;
            // -offset * (sums of 4 consecutive x), lane for lane like the dot products.
            if constexpr (Dec::kOffset != 0 && !kSignTrick)
                corr[i] = _mm256_sub_epi32(_mm256_setzero_si256(),
                                           dot_u8s8(_mm256_set1_epi8(static_cast<char>(Dec::kOffset)), xv[i]));
        }
        for (int rr = 0; rr < NR; ++rr) {
            if (kPrefetchBytes > 0 && prefetch)
                _mm_prefetch(reinterpret_cast<const char*>(rows[rr] + b * Dec::kBytes + kPrefetchBytes), _MM_HINT_T0);
            const WeightBlock wb = Dec::load(rows[rr] + b * Dec::kBytes);
            const __m256 dw = _mm256_set1_ps(wb.d);
            for (int i = 0; i < NM; ++i) {
                __m256i isum;
                if constexpr (kSignTrick)
                    isum = dot_s8s8(wb.u, xv[i]);
                else if constexpr (Dec::kOffset != 0)
                    isum = dot_u8s8_acc(corr[i], wb.u, xv[i]);
                else
                    isum = dot_u8s8(wb.u, xv[i]);
                acc[rr][i] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_mul_ps(dw, dx[i]), acc[rr][i]);
                if constexpr (Dec::kHasMin) macc[rr][i] = std::fma(wb.m, sx[i], macc[rr][i]);
            }
        }
    }
    for (int rr = 0; rr < NR; ++rr)
        for (int i = 0; i < NM; ++i) y[(i0 + i) * ldy + r0 + rr] = hsum(acc[rr][i]) + macc[rr][i];
}

// Float weights: a loader turns 8 weights at element j of a row into floats.
struct LoadF32 {
    static constexpr int kBytes = 4;
    static __m256 load(const uint8_t* row, int64_t j) {
        return _mm256_loadu_ps(reinterpret_cast<const float*>(row) + j);
    }
    static float scalar(const uint8_t* row, int64_t j) {
        float v;
        std::memcpy(&v, row + 4 * j, 4);
        return v;
    }
};
struct LoadF16 {
    static constexpr int kBytes = 2;
    static __m256 load(const uint8_t* row, int64_t j) {
        return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row + 2 * j)));
    }
    static float scalar(const uint8_t* row, int64_t j) { return load_fp16(row + 2 * j); }
};
// bf16 -> f32 is a 16-bit left shift.
struct LoadBF16 {
    static constexpr int kBytes = 2;
    static __m256 load(const uint8_t* row, int64_t j) {
        const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(row + 2 * j));
        return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
    }
    static float scalar(const uint8_t* row, int64_t j) {
        uint16_t h;
        std::memcpy(&h, row + 2 * j, 2);
        const uint32_t u = static_cast<uint32_t>(h) << 16;
        float v;
        std::memcpy(&v, &u, 4);
        return v;
    }
};

template <class Load, int NR, int NM>
void float_tile(const Matrix& w, const float* x, int64_t k, int64_t r0, int64_t i0, float* y, int64_t ldy,
                bool prefetch) {
    // One prefetch per 64-byte line of each row, kPrefetchBytes ahead.
    constexpr int64_t kElementsPerLine = 64 / Load::kBytes;
    __m256 acc[NR][NM];
    const uint8_t* rows[NR];
    const float* xrow[NM];
    for (int rr = 0; rr < NR; ++rr) {
        rows[rr] = w.data + static_cast<size_t>(r0 + rr) * w.row_stride;
        for (int i = 0; i < NM; ++i) acc[rr][i] = _mm256_setzero_ps();
    }
    for (int i = 0; i < NM; ++i) xrow[i] = x + (i0 + i) * k;
    const int64_t k8 = k - k % 8;
    for (int64_t j = 0; j < k8; j += 8) {
        __m256 xv[NM];
        for (int i = 0; i < NM; ++i) xv[i] = _mm256_loadu_ps(xrow[i] + j);
        const bool prefetch_now = kPrefetchBytes > 0 && prefetch && j % kElementsPerLine == 0;
        for (int rr = 0; rr < NR; ++rr) {
            if (prefetch_now)
                _mm_prefetch(reinterpret_cast<const char*>(rows[rr] + j * Load::kBytes + kPrefetchBytes), _MM_HINT_T0);
            const __m256 wv = Load::load(rows[rr], j);
            for (int i = 0; i < NM; ++i) acc[rr][i] = _mm256_fmadd_ps(wv, xv[i], acc[rr][i]);
        }
    }
    for (int rr = 0; rr < NR; ++rr)
        for (int i = 0; i < NM; ++i) {
            float tail = 0.0f;
            for (int64_t j = k8; j < k; ++j) tail = std::fma(Load::scalar(rows[rr], j), xrow[i][j], tail);
            y[(i0 + i) * ldy + r0 + rr] = hsum(acc[rr][i]) + tail;
        }
}

#ifdef SILICA_SIMD_HAVE_DPBF16
// BF16 weights x bf16 activations with vdpbf16ps: 16 products per instruction, summed in float.
template <int NR, int NM>
void bf16_dot_tile(const Matrix& w, const uint16_t* xb, const float* xf, int64_t k, int64_t r0, int64_t i0,
                   float* y, int64_t ldy) {
    __m256 acc[NR][NM];
    const uint8_t* rows[NR];
    for (int rr = 0; rr < NR; ++rr) {
        rows[rr] = w.data + static_cast<size_t>(r0 + rr) * w.row_stride;
        for (int i = 0; i < NM; ++i) acc[rr][i] = _mm256_setzero_ps();
    }
    const int64_t k16 = k - k % 16;
    for (int64_t j = 0; j < k16; j += 16) {
        __m256bh xv[NM];
        for (int i = 0; i < NM; ++i)
            xv[i] = (__m256bh)_mm256_loadu_si256(reinterpret_cast<const __m256i*>(xb + (i0 + i) * k + j));
        for (int rr = 0; rr < NR; ++rr) {
            const __m256bh wv = (__m256bh)_mm256_loadu_si256(reinterpret_cast<const __m256i*>(rows[rr] + 2 * j));
            for (int i = 0; i < NM; ++i) acc[rr][i] = _mm256_dpbf16_ps(acc[rr][i], wv, xv[i]);
        }
    }
    for (int rr = 0; rr < NR; ++rr)
        for (int i = 0; i < NM; ++i) {
            float tail = 0.0f;
            for (int64_t j = k16; j < k; ++j)
                tail = std::fma(LoadBF16::scalar(rows[rr], j), xf[(i0 + i) * k + j], tail);
            y[(i0 + i) * ldy + r0 + rr] = hsum(acc[rr][i]) + tail;
        }
}
#endif

// Runs tile<NR, nm>(r0, i0) over rows [r_begin, r_end) x all activation rows: weight rows outer
// (so a tile's weights stay in L1 while every activation group passes over them), NM = 4
// activation rows per tile (fewer at the end), NR = 4 rows per tile for one activation row and
// kGemmRowsPerTile for more; leftover rows go one at a time.
template <int NR, int NM, class Tile>
void run_rows(int64_t r_begin, int64_t r_end, int64_t i0, Tile&& tile) {
    int64_t r = r_begin;
    for (; r + NR <= r_end; r += NR) tile.template operator()<NR, NM>(r, i0);
    for (; r < r_end; ++r) tile.template operator()<1, NM>(r, i0);
}

template <class Tile>
void run_tiles(int64_t m, int64_t r_begin, int64_t r_end, Tile&& tile) {
    if (m == 1) {
        run_rows<4, 1>(r_begin, r_end, 0, tile);
        return;
    }
    // Weight row tiles outer, activation groups inner.
    constexpr int NR = kGemmRowsPerTile;
    int64_t r = r_begin;
    auto over_acts = [&](auto rows_tag) {
        constexpr int R = decltype(rows_tag)::value;
        int64_t i0 = 0;
        for (; i0 + 4 <= m; i0 += 4) tile.template operator()<R, 4>(r, i0);
        switch (m - i0) {
            case 3: tile.template operator()<R, 3>(r, i0); break;
            case 2: tile.template operator()<R, 2>(r, i0); break;
            case 1: tile.template operator()<R, 1>(r, i0); break;
            default: break;
        }
    };
    for (; r + NR <= r_end; r += NR) over_acts(std::integral_constant<int, NR>{});
    for (; r < r_end; ++r) over_acts(std::integral_constant<int, 1>{});
}

template <class Dec>
void int8_matmul(const Matrix& w, const Activations& x, float* y, int64_t ldy, int64_t r_begin, int64_t r_end) {
    const int64_t nb = w.cols / 32;
    const ActBlockQ8* xq = x.q8();
    const bool prefetch = software_prefetch_enabled();
    run_tiles(x.rows(), r_begin, r_end, [&]<int NR, int NM>(int64_t r0, int64_t i0) {
        int8_tile<Dec, NR, NM>(w, xq, nb, r0, i0, y, ldy, prefetch);
    });
}

template <class Load>
void float_matmul(const Matrix& w, const Activations& x, float* y, int64_t ldy, int64_t r_begin, int64_t r_end) {
    const bool prefetch = software_prefetch_enabled();
    run_tiles(x.rows(), r_begin, r_end, [&]<int NR, int NM>(int64_t r0, int64_t i0) {
        float_tile<Load, NR, NM>(w, x.f32(), w.cols, r0, i0, y, ldy, prefetch);
    });
}

#include "kernels/matmul_simd_kquants.h"

// The kernels this ISA puts in its type table (declared in kernels/matmul_isa.h, listed in
// kernels/kernel_traits.cpp).
void matmul_q8_0(const Matrix& w, const Activations& x, float* y, int64_t ldy, int64_t r_begin, int64_t r_end) {
    int8_matmul<DecodeQ8_0>(w, x, y, ldy, r_begin, r_end);
}
void matmul_q4_0(const Matrix& w, const Activations& x, float* y, int64_t ldy, int64_t r_begin, int64_t r_end) {
    int8_matmul<DecodeQ4_0>(w, x, y, ldy, r_begin, r_end);
}
void matmul_q4_1(const Matrix& w, const Activations& x, float* y, int64_t ldy, int64_t r_begin, int64_t r_end) {
    int8_matmul<DecodeQ4_1>(w, x, y, ldy, r_begin, r_end);
}
void matmul_q5_0(const Matrix& w, const Activations& x, float* y, int64_t ldy, int64_t r_begin, int64_t r_end) {
    int8_matmul<DecodeQ5_0>(w, x, y, ldy, r_begin, r_end);
}
void matmul_q5_1(const Matrix& w, const Activations& x, float* y, int64_t ldy, int64_t r_begin, int64_t r_end) {
    int8_matmul<DecodeQ5_1>(w, x, y, ldy, r_begin, r_end);
}
void matmul_mxfp4(const Matrix& w, const Activations& x, float* y, int64_t ldy, int64_t r_begin, int64_t r_end) {
    int8_matmul<DecodeMXFP4>(w, x, y, ldy, r_begin, r_end);
}
void matmul_q4_k(const Matrix& w, const Activations& x, float* y, int64_t ldy, int64_t r_begin, int64_t r_end) {
    kquant_matmul<DecodeQ4_K>(w, x, y, ldy, r_begin, r_end);
}
void matmul_q5_k(const Matrix& w, const Activations& x, float* y, int64_t ldy, int64_t r_begin, int64_t r_end) {
    kquant_matmul<DecodeQ5_K>(w, x, y, ldy, r_begin, r_end);
}
void matmul_q6_k(const Matrix& w, const Activations& x, float* y, int64_t ldy, int64_t r_begin, int64_t r_end) {
    kquant_matmul<DecodeQ6_K>(w, x, y, ldy, r_begin, r_end);
}
void matmul_f32(const Matrix& w, const Activations& x, float* y, int64_t ldy, int64_t r_begin, int64_t r_end) {
    float_matmul<LoadF32>(w, x, y, ldy, r_begin, r_end);
}
void matmul_f16(const Matrix& w, const Activations& x, float* y, int64_t ldy, int64_t r_begin, int64_t r_end) {
    float_matmul<LoadF16>(w, x, y, ldy, r_begin, r_end);
}
void matmul_bf16(const Matrix& w, const Activations& x, float* y, int64_t ldy, int64_t r_begin, int64_t r_end) {
#ifdef SILICA_SIMD_HAVE_DPBF16
    if (active_avx512_bf16()) {
        run_tiles(x.rows(), r_begin, r_end, [&]<int NR, int NM>(int64_t r0, int64_t i0) {
            bf16_dot_tile<NR, NM>(w, x.bf16(), x.f32(), w.cols, r0, i0, y, ldy);
        });
        return;
    }
#endif
    float_matmul<LoadBF16>(w, x, y, ldy, r_begin, r_end);
}
