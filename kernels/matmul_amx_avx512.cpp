// AMX kernel of kernels/matmul_amx.h. Besides the AVX-512 flags every *_avx512.cpp file gets, the
// functions below the includes are compiled for AMX-TILE and AMX-INT8; they run only when
// kernels/amx.h says AMX is usable.
//
// Per 16-row weight group and 16 activation rows: block by block, one TDPBSSD gives the 16 x 16
// integer sums (row i of the C tile = activation row i, lane l = weight row l, as in the AVX-512
// kernel's accumulators); the tile is stored to a 1 KiB buffer and each row is scaled into a float
// accumulator register. Four C tiles rotate so later blocks' TDPBSSDs run while a block's sums
// are scaled.
//
// GCC 12's unmasked AVX-512 intrinsics trip a false -Wmaybe-uninitialized (GCC bug 105593).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <type_traits>
#include <vector>

#include "kernels/amx.h"
#include "kernels/matmul_amx.h"
#include "kernels/repacked_formats_avx512.h"
#include "quant/repack.h"

#pragma GCC target("amx-tile,amx-int8")

namespace silica::kernels {
namespace {

using namespace x16;

constexpr int kTileBytes = 512;  // one block of a 16-row group as int8: 16 rows x 32

// Tile shapes: 0-3 = C (16 rows x 16 int32), 4, 5 = A (16 activation rows x 32 int8), 6, 7 = B
// (8 rows x 64 bytes: one block of a group).
constexpr AmxTileConfig kTileConfig{.colsb = {64, 64, 64, 64, 32, 32, 64, 64}, .rows = {16, 16, 16, 16, 16, 16, 8, 8}};

// Block b goes to C tile b % 4, through A tile 4 + b % 2 (activation rows, block b) and B tile
// 6 + b % 2 (the group's block b, as int8). The tile intrinsics paste their tile numbers into the
// assembly, hence one literal case per tile.
#define SILICA_AMX_ISSUE(C, A, B)                   \
    _tile_zero(C);                                  \
    _tile_loadd(A, a + b * kTileBytes, 32);         \
    _tile_loadd(B, codes + b * kTileBytes, 64);     \
    _tile_dpbssd(C, A, B);                          \
    break
inline void issue(const int8_t* a, const int8_t* codes, int64_t b) {
    switch (b % 4) {
        case 0: SILICA_AMX_ISSUE(0, 4, 6);
        case 1: SILICA_AMX_ISSUE(1, 5, 7);
        case 2: SILICA_AMX_ISSUE(2, 4, 6);
        default: SILICA_AMX_ISSUE(3, 5, 7);
    }
}
#undef SILICA_AMX_ISSUE

// Block b's sums (C tile b % 4) to memory.
inline void store(int64_t b, int32_t (&sums)[16][16]) {
    switch (b % 4) {
        case 0: _tile_stored(0, sums, 64); break;
        case 1: _tile_stored(1, sums, 64); break;
        case 2: _tile_stored(2, sums, 64); break;
        default: _tile_stored(3, sums, 64); break;
    }
}

// acc[i] += float(sums row i) * (d_w * d_x[i]): the same operations as the AVX-512 kernel.
template <class Fmt>
inline void accumulate(const int32_t (&sums)[16][16], const uint8_t* scales, const float* dx, int64_t b,
                       __m512 (&acc)[16]) {
    const __m512 d = Fmt::scales(scales + b * 16 * Fmt::kScaleBytes);
    for (int i = 0; i < 16; ++i) {
        const __m512i s = _mm512_load_si512(reinterpret_cast<const void*>(sums[i]));
        acc[i] = _mm512_fmadd_ps(cvt_i32_f32(s), _mm512_mul_ps(d, _mm512_set1_ps(dx[b * 16 + i])), acc[i]);
    }
}

// The nb tiles of one group as signed int8 (code - offset): the B tiles of a 4-bit format.
template <class Fmt>
void decode_group(const uint8_t* codes, int64_t nb, int8_t* out) {
    const __m512i offset = _mm512_set1_epi8(static_cast<char>(Fmt::kOffset));
    for (int64_t b = 0; b < nb; ++b) {
        __m512i u[8];
        Fmt::decode(codes + b * Fmt::kTileBytes, u);
        for (int q = 0; q < 8; ++q)
            _mm512_store_si512(reinterpret_cast<void*>(out + b * kTileBytes + 64 * q), _mm512_sub_epi8(u[q], offset));
    }
}

// 64-byte aligned start of a thread-local buffer of at least `bytes` bytes.
template <class T>
T* aligned_buffer(std::vector<T>& v, size_t count) {
    v.resize(count + 64 / sizeof(T));
    const uintptr_t p = reinterpret_cast<uintptr_t>(v.data());
    return v.data() + ((64 - p % 64) % 64) / sizeof(T);
}

template <class Fmt>
void run(const RepackedMatrix& w, const Activations& x, float* y, int64_t ldy, int64_t r_begin, int64_t r_end) {
    constexpr bool kDirect = std::is_same_v<Fmt, Q8_0x16>;  // Q8_0 codes are the int8 B tiles already
    _tile_loadconfig(&kTileConfig);
    const size_t group_bytes = repacked_group_bytes(w.type, w.cols);
    const int64_t nb = w.cols / 32;
    const int64_t m = x.rows(), m16 = (m + 15) / 16 * 16;
    // The activations as A tiles: [16-row chunk][block][16 rows x 32 int8] and their scales
    // [chunk][block][16], so each tile load reads 512 aligned contiguous bytes (straight from
    // ActBlockQ8 rows it read 16 strided, often line-splitting, pieces: matmul_bench m = 512, 1 thread,
    // 640 -> 720 GOP/s). Activations::prepare makes them (each thread its rows); if it did not (AMX
    // was off then), this thread makes its own copy. Rows past m are zeros with scale 0: the last
    // chunk is computed whole, each row independently, and only its real rows are stored.
    const int8_t* a_tiles = x.q8_tiles();
    const float* a_scales = x.q8_tile_scales();
    thread_local std::vector<int8_t> a_buffer;
    thread_local std::vector<float> dx_buffer;
    if (!a_tiles) {
        int8_t* tiles = aligned_buffer(a_buffer, static_cast<size_t>(m16 * nb * 32));
        float* scales = aligned_buffer(dx_buffer, static_cast<size_t>(m16 * nb));
        for (int64_t c = 0; c < m16 / 16; ++c)
            for (int i = 0; i < 16; ++i) {
                const bool real = c * 16 + i < m;
                const ActBlockQ8* row = x.q8() + (c * 16 + i) * nb;
                for (int64_t b = 0; b < nb; ++b) {
                    int8_t* tile_row = tiles + ((c * nb + b) * 16 + i) * 32;
                    if (real)
                        std::memcpy(tile_row, row[b].qs, 32);
                    else
                        std::memset(tile_row, 0, 32);
                    scales[(c * nb + b) * 16 + i] = real ? row[b].d : 0.0f;
                }
            }
        a_tiles = tiles;
        a_scales = scales;
    }
    thread_local std::vector<int8_t> decoded_buffer;
    const int64_t g_begin = r_begin / kRepackRows, g_end = (r_end + kRepackRows - 1) / kRepackRows;
    alignas(64) int32_t sums[2][16][16];
    // Blocked so both operands come from cache: a panel of groups (at most kPanelBytes of weights,
    // L2-resident) is swept by each 16-row chunk of activations in turn.
    constexpr size_t kPanelBytes = 256 * 1024;
    const int64_t panel = std::max<int64_t>(1, static_cast<int64_t>(kPanelBytes / group_bytes));
    int8_t* const decoded = kDirect ? nullptr : aligned_buffer(decoded_buffer, static_cast<size_t>(panel * nb * kTileBytes));
    for (int64_t p0 = g_begin; p0 < g_end; p0 += panel) {
        const int64_t p1 = std::min(g_end, p0 + panel);
        if constexpr (!kDirect)
            for (int64_t g = p0; g < p1; ++g)
                decode_group<Fmt>(w.data + static_cast<size_t>(g) * group_bytes, nb, decoded + (g - p0) * nb * kTileBytes);
        for (int64_t i0 = 0; i0 < m16; i0 += 16) {
            const int8_t* a = a_tiles + i0 * nb * 32;
            const float* dx = a_scales + i0 * nb;
            for (int64_t g = p0; g < p1; ++g) {
                const uint8_t* group = w.data + static_cast<size_t>(g) * group_bytes;
                const int8_t* codes = kDirect ? reinterpret_cast<const int8_t*>(group) : decoded + (g - p0) * nb * kTileBytes;
                const uint8_t* scales = group + nb * Fmt::kTileBytes;
                __m512 acc[16];
                for (auto& v : acc) v = _mm512_setzero_ps();
                // Software pipeline: block b + 3's TDPBSSD is issued, block b + 1's sums are
                // stored, and block b's are scaled, so no tile store waits for its TDPBSSD and no
                // load waits for the tile store just before it.
                for (int64_t b = 0; b < std::min<int64_t>(3, nb); ++b) issue(a, codes, b);
                store(0, sums[0]);
                for (int64_t b = 0; b < nb; ++b) {
                    if (b + 3 < nb) issue(a, codes, b + 3);
                    if (b + 1 < nb) store(b + 1, sums[(b + 1) % 2]);
                    accumulate<Fmt>(sums[b % 2], scales, dx, b, acc);
                }
                const int64_t first = g * kRepackRows;
                const int64_t lo = r_begin > first ? r_begin - first : 0;
                const int64_t hi = r_end - first < kRepackRows ? r_end - first : kRepackRows;
                const __mmask16 mask = static_cast<__mmask16>(((1u << hi) - 1) & ~((1u << lo) - 1));
                const int64_t n_real = std::min<int64_t>(16, m - i0);
                for (int i = 0; i < n_real; ++i) _mm512_mask_storeu_ps(y + (i0 + i) * ldy + first, mask, acc[i]);
            }
        }
    }
    _tile_release();
}

}  // namespace

bool matmul_x16_amx(const RepackedMatrix& w, const Activations& x, float* y, int64_t ldy, int64_t r_begin,
                    int64_t r_end) {
    switch (w.type) {
        case TensorType::Q8_0: run<Q8_0x16>(w, x, y, ldy, r_begin, r_end); return true;
        case TensorType::Q4_0: run<Q4_0x16>(w, x, y, ldy, r_begin, r_end); return true;
        case TensorType::MXFP4: run<MXFP4x16>(w, x, y, ldy, r_begin, r_end); return true;
        default: return false;
    }
}

}  // namespace silica::kernels
