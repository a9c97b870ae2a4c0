// K-quant weights (Q4_K, Q5_K, Q6_K) x int8 activation blocks: part of kernels/matmul_simd_body.h
// (included from it, inside the ISA namespace; same helpers, same rules).
//
// A K-quant super-block holds 256 weights = eight 32-weight blocks sharing one header. Per row and
// super-block the header is decoded once (Dec::header); then each 32-weight block c is decoded to
// 32 unsigned codes u (Dec::codes) and multiplied by the matching activation block exactly like
// the simple types: isum = sum(u * x) - offset * sum(x) in int32 lanes, then
// acc += float(isum) * (scale_c * dx). Matches matmul_reference_int8 (kernels/matmul_ref.h).
//
//  * Q4_K / Q5_K: value = (d * s_c) * q - dmin * n_c with 6-bit s_c, n_c; q = 0..15 / 0..31, no
//    offset. d * s_c is exact in float. The min term -dmin * n_c * sum(x) of the eight blocks is
//    one vector FMA per super-block against the eight activation sums (ActBlockQ8::s).
//  * Q6_K: value = d * sc * (u - 32), u = 0..63, with an int8 scale sc per 16 weights: the int32
//    lanes 0-3 of a block's dot product cover its first 16 weights and lanes 4-7 the second, so
//    one vpmulld by {sc_a x4, sc_b x4} applies both scales exactly.

// Q4_K and Q5_K share the header {fp16 d, fp16 dmin, 12 bytes of packed 6-bit scales and mins}.
struct KHeaderScaleMin {
    alignas(32) float dsc[8];  // d * s_c
    __m256 neg_min;            // -dmin * n_c, lane c
};

// The 6-bit scales and mins (quant/kquant_scales.h) four at a time in 32-bit words: with the 12
// bytes read as words a, b, c, scales 0-3 = a & 63, mins 0-3 = b & 63 (per byte); scales 4-7 =
// low nibbles of c | (top 2 bits of a) << 4, mins 4-7 = high nibbles of c | (top 2 bits of b) << 4.
// (Inline: a call here would make every live vector register spill around it.)
inline void decode_k4_header(const uint8_t* p, KHeaderScaleMin& h) {
    uint32_t a, b, c;
    std::memcpy(&a, p + 4, 4);
    std::memcpy(&b, p + 8, 4);
    std::memcpy(&c, p + 12, 4);
    const uint64_t s8 = (a & 0x3f3f3f3fu) | static_cast<uint64_t>((c & 0x0f0f0f0fu) | (((a >> 6) & 0x03030303u) << 4)) << 32;
    const uint64_t m8 = (b & 0x3f3f3f3fu) | static_cast<uint64_t>(((c >> 4) & 0x0f0f0f0fu) | (((b >> 6) & 0x03030303u) << 4)) << 32;
    const __m256 s = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_cvtsi64_si128(static_cast<int64_t>(s8))));
    const __m256 m = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_cvtsi64_si128(static_cast<int64_t>(m8))));
    _mm256_store_ps(h.dsc, _mm256_mul_ps(_mm256_set1_ps(load_fp16(p)), s));
    h.neg_min = _mm256_mul_ps(_mm256_set1_ps(-load_fp16(p + 2)), m);
}

// Low (c even) or high (c odd) nibbles of the 32 bytes that hold blocks c & ~1 and c | 1.
inline __m256i k_nibbles(const uint8_t* qs32, int c) {
    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qs32));
    const __m256i m4 = _mm256_set1_epi8(15);
    return (c & 1) ? _mm256_and_si256(_mm256_srli_epi16(v, 4), m4) : _mm256_and_si256(v, m4);
}

struct DecodeQ4_K {
    static constexpr int kBytes = 144, kOffset = 0;
    static constexpr bool kHasMin = true, kIntScales = false;
    using Header = KHeaderScaleMin;
    static void header(const uint8_t* p, Header& h) { decode_k4_header(p, h); }
    static float block_scale(const Header& h, int c) { return h.dsc[c]; }
    static __m256i codes(const uint8_t* p, int c) { return k_nibbles(p + 16 + 32 * (c >> 1), c); }
};

struct DecodeQ5_K {
    static constexpr int kBytes = 176, kOffset = 0;
    static constexpr bool kHasMin = true, kIntScales = false;
    using Header = KHeaderScaleMin;
    static void header(const uint8_t* p, Header& h) { decode_k4_header(p, h); }
    static float block_scale(const Header& h, int c) { return h.dsc[c]; }
    // 5th bit of element l of block c: bit c of qh[l], moved to bit 4 of the byte by a 16-bit shift
    // (bits crossing into the neighbour byte are masked off).
    static __m256i codes(const uint8_t* p, int c) {
        const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 16));
        const __m256i hb = c <= 4 ? _mm256_slli_epi16(qh, 4 - c) : _mm256_srli_epi16(qh, c - 4);
        return _mm256_or_si256(k_nibbles(p + 48 + 32 * (c >> 1), c), _mm256_and_si256(hb, _mm256_set1_epi8(0x10)));
    }
};

struct DecodeQ6_K {
    static constexpr int kBytes = 210, kOffset = 32;
    static constexpr bool kHasMin = false, kIntScales = true;
    struct Header {
        float d;
        __m256i sc_lo, sc_hi;  // int8 scales 0..7 and 8..15 widened to int32
    };
    static void header(const uint8_t* p, Header& h) {
        h.d = load_fp16(p + 208);
        h.sc_lo = _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p + 192)));
        h.sc_hi = _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p + 200)));
    }
    static float block_scale(const Header& h, int) { return h.d; }
    // Block c = 4n + j: low (j < 2) or high nibbles of ql[64n + 32(j % 2) + l], and bits 2j, 2j+1
    // of qh[32n + l] moved to bits 4, 5.
    static __m256i codes(const uint8_t* p, int c) {
        const int n = c >> 2, j = c & 3;
        const __m256i lo = k_nibbles(p + 64 * n + 32 * (j & 1), j >> 1);
        const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 128 + 32 * n));
        const __m256i hb = j <= 2 ? _mm256_slli_epi16(qh, 4 - 2 * j) : _mm256_srli_epi16(qh, 2);
        return _mm256_or_si256(lo, _mm256_and_si256(hb, _mm256_set1_epi8(0x30)));
    }
    // Lanes 0-3 (weights 0..15 of block c) times scale 2c, lanes 4-7 times scale 2c + 1.
    static __m256i apply_scales(const Header& h, int c, __m256i isum) {
        const int t = 2 * (c & 3);
        const __m256i idx = _mm256_setr_epi32(t, t, t, t, t + 1, t + 1, t + 1, t + 1);
        return _mm256_mullo_epi32(isum, _mm256_permutevar8x32_epi32(c < 4 ? h.sc_lo : h.sc_hi, idx));
    }
};

// NR weight rows starting at r0 times NM activation rows starting at i0 (see int8_tile).
template <class Dec, int NR, int NM>
void kquant_tile(const Matrix& w, const ActBlockQ8* xq, int64_t nb, int64_t r0, int64_t i0, float* y,
                 int64_t ldy, bool prefetch) {
    __m256 acc[NR][NM], macc[NR][NM];
    const uint8_t* rows[NR];
    for (int rr = 0; rr < NR; ++rr) {
        rows[rr] = w.data + static_cast<size_t>(r0 + rr) * w.row_stride;
        for (int i = 0; i < NM; ++i) acc[rr][i] = macc[rr][i] = _mm256_setzero_ps();
    }
    const ActBlockQ8* xrow[NM];
    for (int i = 0; i < NM; ++i) xrow[i] = xq + (i0 + i) * nb;
    const int64_t nsb = nb / 8;
    for (int64_t sb = 0; sb < nsb; ++sb) {
        typename Dec::Header h[NR];
        const uint8_t* p[NR];
        for (int rr = 0; rr < NR; ++rr) {
            p[rr] = rows[rr] + sb * Dec::kBytes;
            Dec::header(p[rr], h[rr]);
        }
        if constexpr (Dec::kHasMin) {
            for (int i = 0; i < NM; ++i) {
                const ActBlockQ8* xb = xrow[i] + sb * 8;
                const __m256 sx = _mm256_setr_ps(xb[0].s, xb[1].s, xb[2].s, xb[3].s, xb[4].s, xb[5].s, xb[6].s, xb[7].s);
                for (int rr = 0; rr < NR; ++rr) macc[rr][i] = _mm256_fmadd_ps(h[rr].neg_min, sx, macc[rr][i]);
            }
        }
#pragma GCC unroll 8
        for (int c = 0; c < 8; ++c) {
            __m256i xv[NM], corr[NM];
            __m256 dx[NM];
            for (int i = 0; i < NM; ++i) {
                const ActBlockQ8& xb = xrow[i][sb * 8 + c];
                xv[i] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xb.qs));
                dx[i] = _mm256_set1_ps(xb.d);
                if constexpr (Dec::kOffset != 0)
                    corr[i] = _mm256_sub_epi32(_mm256_setzero_si256(),
                                               dot_u8s8(_mm256_set1_epi8(static_cast<char>(Dec::kOffset)), xv[i]));
            }
            for (int rr = 0; rr < NR; ++rr) {
                if (kPrefetchBytes > 0 && prefetch)
                    if (c * 64 < Dec::kBytes) _mm_prefetch(reinterpret_cast<const char*>(p[rr] + kPrefetchBytes + c * 64), _MM_HINT_T0);
                const __m256i u = Dec::codes(p[rr], c);
                const __m256 ds = _mm256_set1_ps(Dec::block_scale(h[rr], c));
                for (int i = 0; i < NM; ++i) {
                    __m256i isum;
                    if constexpr (Dec::kOffset != 0)
                        isum = dot_u8s8_acc(corr[i], u, xv[i]);
                    else
                        isum = dot_u8s8(u, xv[i]);
                    if constexpr (Dec::kIntScales) isum = Dec::apply_scales(h[rr], c, isum);
                    acc[rr][i] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_mul_ps(ds, dx[i]), acc[rr][i]);
                }
            }
        }
    }
    for (int rr = 0; rr < NR; ++rr)
        for (int i = 0; i < NM; ++i) y[(i0 + i) * ldy + r0 + rr] = hsum(acc[rr][i]) + hsum(macc[rr][i]);
}

template <class Dec>
void kquant_matmul(const Matrix& w, const Activations& x, float* y, int64_t ldy, int64_t r_begin, int64_t r_end) {
    const int64_t nb = w.cols / 32;
    const ActBlockQ8* xq = x.q8();
    const bool prefetch = software_prefetch_enabled();
    run_tiles(x.rows(), r_begin, r_end, [&]<int NR, int NM>(int64_t r0, int64_t i0) {
        kquant_tile<Dec, NR, NM>(w, xq, nb, r0, i0, y, ldy, prefetch);
    });
}
