// AMX-BF16 kernel of kernels/matmul_f16_amx.h (split precision). Besides the AVX-512 flags every
// *_avx512.cpp file gets, the code below the includes is compiled for AMX-TILE and AMX-BF16; it
// runs only when kernels/amx.h says AMX-BF16 is usable.
//
// Work unit: 32 activation rows (two 16-row "chunks" c) x 32 weight rows (two 16-row groups g):
// four C tiles (c, g), and per 32-wide k step
//   A_hi[c], B_hi[g] -> C(c,g) += A_hi[c]·B_hi[g]     (x_hi * w_hi)
//   B_lo[g]          -> C(c,g) += A_hi[c]·B_lo[g]     (x_hi * w_lo)
//   A_lo[c], B_hi[g] -> C(c,g) += A_lo[c]·B_hi[g]     (x_lo * w_hi)
// = 12 TDPBF16PS on 4 independent accumulators (one accumulator chain alone would wait for the
// TDPBF16PS latency) for 8 tile loads.
//
// Blocking, so both operands come from cache: weight groups are taken in panels of
// kPanelGroups and k in blocks of kBlockSteps steps. Per (panel, k block) the panel's weights are
// split into bf16 B tiles (VNNI pair layout: tile row r = for each of the 16 weight rows n the
// pair w[n][2r], w[n][2r+1]) in an L2-resident scratch; then per chunk pair the activations are
// split into A tiles (row-major 16 x 32 bf16; an L1-resident scratch, made by each thread for
// itself) and every group pair of the panel is run. The C tiles go to a float scratch between k
// blocks (storing and reloading fp32 changes nothing), so every output is the same chain of
// TDPBF16PS over k = 0, 32, 64, ... whatever the panel, row range, thread or batch size. Columns
// past k and activation rows past m are zeros; partial groups are computed whole and stored
// with a lane mask.
//
// GCC 12's unmasked AVX-512 intrinsics trip a false -Wmaybe-uninitialized (GCC bug 105593).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/amx.h"
#include "kernels/matmul_f16_amx.h"
#include "quant/repack.h"

#pragma GCC target("amx-tile,amx-bf16")

namespace silica::kernels {
namespace {

constexpr int64_t kStepK = 32;           // k per TDPBF16PS (16 pairs)
constexpr int kTileElems = 16 * 32;      // bf16 elements of an A or B tile (1 KiB)
constexpr int kCTileFloats = 16 * 16;    // fp32 elements of a C tile (1 KiB)
constexpr int64_t kColumnBytes = 32;     // one F16 panel column: 16 rows x 2 bytes

// Blocking (see the top comment). B scratch = kPanelGroups * kBlockSteps * 2 KiB (512 KiB), A
// scratch = kBlockSteps * 4 KiB (16 KiB: stays in L1, its tiles are loaded by every unit), C
// scratch = ceil(m / 32) * kPanelGroups * 2 KiB. matmul_bench m = 512, 1 thread, GFLOP/s for
// gpt2-qkv / fc / proj (noise ~10%): 8 steps x 16 groups 357 / 318 / 372; 16 x 16 346 / - / 332;
// 32 x 16 421 / - / 348; 8 x 48 381 / - / 422; 4 x 64 383-436 / 383-435 / 410-463; 4 x 96
// 435 / 465 / 436; 4 x 128 381 / 429 / 421; 2 x 128 339 / 343 / 395; 6 x 64 328 / 364 / 342.
// 2 threads, 3 rounds, qkv / fc / proj: 4 x 64 800-876 / 832-932 / 895-957; 8 x 64 698-757 /
// 730-741 / 767-824; 8 x 32 748-786 / 716-794 / 743-795; 4 x 32 823-859 / 878-935 / 759-941;
// 3 x 64 797-846 / 794-842 / 755-918; 4 x 96 793-911 / 761-903 / 877-941; 2 x 64 718-742 /
// 649-760 / 734-776. Larger panels convert each activation block fewer times; fewer steps keep A
// in L1 but pay more C tile round trips (each tile store waits for the accumulator chain).
constexpr int64_t kBlockSteps = 4;       // k block = 128
constexpr int64_t kPanelGroups = 64;     // 1024 weight rows; even (groups go in pairs)

// Tile shapes: every tile 16 rows x 64 bytes. Tiles 0-3: C(c, g) at 2c + g; 4, 5: A of chunk 0,
// 1; 6, 7: B of group 0, 1.
constexpr AmxTileConfig kTileConfig{.colsb = {64, 64, 64, 64, 64, 64, 64, 64}, .rows = {16, 16, 16, 16, 16, 16, 16, 16}};

// v = hi + lo with hi = bf16(v) rounded to nearest even and lo = bf16(v - hi). v - hi is exact in
// fp32; lo is zeroed where it is NaN (v infinite or NaN: hi carries it).
inline void split(__m512 v, __m256bh& hi, __m256bh& lo) {
    hi = _mm512_cvtneps_pbh(v);
    const __m512 hi_f = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(reinterpret_cast<__m256i&>(hi)), 16));
    const __m512 rest = _mm512_sub_ps(v, hi_f);
    const __mmask16 nan = _mm512_fpclass_ps_mask(rest, 0x81);  // quiet or signalling NaN
    lo = _mm512_cvtneps_pbh(_mm512_maskz_mov_ps(static_cast<__mmask16>(~nan), rest));
}

inline __m512i join(__m256bh low, __m256bh high) {
    return _mm512_inserti64x4(_mm512_castsi256_si512(reinterpret_cast<__m256i&>(low)), reinterpret_cast<__m256i&>(high),
                              1);
}

inline __m512 load_half_column(const uint8_t* p) {
    return _mm512_maskz_cvtph_ps(static_cast<__mmask16>(0xFFFF), _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}

// B tiles (hi at out, lo at out + kTileElems) of one group for k step [k0, k0 + 32): tile row r
// holds columns k0 + 2r and k0 + 2r + 1 of the 16 rows, interleaved (row n's pair at 2n, 2n + 1).
// Columns at or past k are zeros.
void make_b_tiles(const uint8_t* group, int64_t k, int64_t k0, uint16_t* out) {
    // element 2n of a tile row = lane n of the even column, 2n + 1 = lane n of the odd column
    alignas(64) static const uint16_t kInterleave[32] = {0, 16, 1, 17, 2,  18, 3,  19, 4,  20, 5,  21, 6,  22, 7,  23,
                                                          8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31};
    const __m512i interleave = _mm512_load_si512(kInterleave);
    for (int r = 0; r < 16; ++r) {
        const int64_t j = k0 + 2 * r;
        const __m512 even = j < k ? load_half_column(group + j * kColumnBytes) : _mm512_setzero_ps();
        const __m512 odd = j + 1 < k ? load_half_column(group + (j + 1) * kColumnBytes) : _mm512_setzero_ps();
        __m256bh even_hi, even_lo, odd_hi, odd_lo;
        split(even, even_hi, even_lo);
        split(odd, odd_hi, odd_lo);
        _mm512_store_si512(out + r * 32, _mm512_permutexvar_epi16(interleave, join(even_hi, odd_hi)));
        _mm512_store_si512(out + kTileElems + r * 32, _mm512_permutexvar_epi16(interleave, join(even_lo, odd_lo)));
    }
}

// A tiles (hi at out, lo at out + kTileElems) of activation rows [i0, i0 + 16) for k step
// [k0, k0 + 32): row-major, 32 bf16 per row; rows at or past m and columns at or past k are zeros.
void make_a_tiles(const float* x, int64_t m, int64_t k, int64_t i0, int64_t k0, uint16_t* out) {
    const int64_t n = std::min<int64_t>(kStepK, k - k0);
    const __mmask16 mask0 = static_cast<__mmask16>(n >= 16 ? 0xFFFF : (1u << n) - 1);
    const __mmask16 mask1 = static_cast<__mmask16>(n >= 32 ? 0xFFFF : n <= 16 ? 0 : (1u << (n - 16)) - 1);
    for (int i = 0; i < 16; ++i) {
        if (i0 + i >= m) {
            _mm512_store_si512(out + i * 32, _mm512_setzero_si512());
            _mm512_store_si512(out + kTileElems + i * 32, _mm512_setzero_si512());
            continue;
        }
        const float* row = x + (i0 + i) * k + k0;
        __m256bh hi0, lo0, hi1, lo1;
        split(_mm512_maskz_loadu_ps(mask0, row), hi0, lo0);
        split(_mm512_maskz_loadu_ps(mask1, row + 16), hi1, lo1);
        _mm512_store_si512(out + i * 32, join(hi0, hi1));
        _mm512_store_si512(out + kTileElems + i * 32, join(lo0, lo1));
    }
}

// 64-byte aligned start of a thread-local buffer of at least `count` elements.
template <class T>
T* aligned_buffer(std::vector<T>& v, size_t count) {
    v.resize(count + 64 / sizeof(T));
    const uintptr_t p = reinterpret_cast<uintptr_t>(v.data());
    return v.data() + ((64 - p % 64) % 64) / sizeof(T);
}

// One work unit over the steps of one k block. a: [step][chunk c][hi, lo] tiles; b: [step][group
// g][hi, lo] tiles; c: the four C tiles (c, g) at c + (2c + g) * kCTileFloats, loaded first
// unless `first` (then zero) and stored back.
void run_unit(const uint16_t* a, const uint16_t* b, int64_t steps, bool first, float* c) {
    if (first) {
        _tile_zero(0);
        _tile_zero(1);
        _tile_zero(2);
        _tile_zero(3);
    } else {
        _tile_loadd(0, c + 0 * kCTileFloats, 64);
        _tile_loadd(1, c + 1 * kCTileFloats, 64);
        _tile_loadd(2, c + 2 * kCTileFloats, 64);
        _tile_loadd(3, c + 3 * kCTileFloats, 64);
    }
    for (int64_t s = 0; s < steps; ++s) {
        const uint16_t* as = a + s * 4 * kTileElems;  // chunk c, part h at (2c + h) * kTileElems
        const uint16_t* bs = b + s * 4 * kTileElems;  // group g, part h at (2g + h) * kTileElems
        // x_hi * w_hi
        _tile_loadd(4, as + 0 * kTileElems, 64);
        _tile_loadd(5, as + 2 * kTileElems, 64);
        _tile_loadd(6, bs + 0 * kTileElems, 64);
        _tile_loadd(7, bs + 2 * kTileElems, 64);
        _tile_dpbf16ps(0, 4, 6);
        _tile_dpbf16ps(1, 4, 7);
        _tile_dpbf16ps(2, 5, 6);
        _tile_dpbf16ps(3, 5, 7);
        // x_hi * w_lo
        _tile_loadd(6, bs + 1 * kTileElems, 64);
        _tile_loadd(7, bs + 3 * kTileElems, 64);
        _tile_dpbf16ps(0, 4, 6);
        _tile_dpbf16ps(1, 4, 7);
        _tile_dpbf16ps(2, 5, 6);
        _tile_dpbf16ps(3, 5, 7);
        // x_lo * w_hi
        _tile_loadd(4, as + 1 * kTileElems, 64);
        _tile_loadd(5, as + 3 * kTileElems, 64);
        _tile_loadd(6, bs + 0 * kTileElems, 64);
        _tile_loadd(7, bs + 2 * kTileElems, 64);
        _tile_dpbf16ps(0, 4, 6);
        _tile_dpbf16ps(1, 4, 7);
        _tile_dpbf16ps(2, 5, 6);
        _tile_dpbf16ps(3, 5, 7);
    }
    _tile_stored(0, c + 0 * kCTileFloats, 64);
    _tile_stored(1, c + 1 * kCTileFloats, 64);
    _tile_stored(2, c + 2 * kCTileFloats, 64);
    _tile_stored(3, c + 3 * kCTileFloats, 64);
}

}  // namespace

void matmul_f16_amx(const RepackedMatrix& w, const Activations& x, float* y, int64_t ldy, int64_t r_begin,
                    int64_t r_end) {
    _tile_loadconfig(&kTileConfig);
    const size_t group_bytes = repacked_group_bytes(w.type, w.cols);
    const int64_t m = x.rows(), k = w.cols;
    const int64_t chunk_pairs = (m + 31) / 32;
    const int64_t k_steps = (k + kStepK - 1) / kStepK;
    const int64_t g_begin = r_begin / kRepackRows, g_end = (r_end + kRepackRows - 1) / kRepackRows;
    const float* xf = x.f32();

    thread_local std::vector<uint16_t> a_buffer, b_buffer;
    thread_local std::vector<float> c_buffer;
    uint16_t* a = aligned_buffer(a_buffer, static_cast<size_t>(kBlockSteps * 4 * kTileElems));
    uint16_t* b = aligned_buffer(b_buffer, static_cast<size_t>(kPanelGroups * kBlockSteps * 2 * kTileElems));
    float* c = aligned_buffer(c_buffer, static_cast<size_t>(chunk_pairs * kPanelGroups * 2 * kCTileFloats));

    for (int64_t p0 = g_begin; p0 < g_end; p0 += kPanelGroups) {
        const int64_t p1 = std::min(g_end, p0 + kPanelGroups);
        const int64_t pairs = (p1 - p0 + 1) / 2;
        // C tiles of (chunk pair cp, group pair gp): c + (cp * pairs + gp) * 4 * kCTileFloats
        for (int64_t s0 = 0; s0 < k_steps; s0 += kBlockSteps) {
            const int64_t steps = std::min(kBlockSteps, k_steps - s0);
            const bool first = s0 == 0, last = s0 + steps == k_steps;
            // B tiles of group pair gp, step s, group g, part h at ((gp * steps + s) * 2 + g) * 2 + h
            for (int64_t gp = 0; gp < pairs; ++gp)
                for (int64_t s = 0; s < steps; ++s)
                    for (int g = 0; g < 2; ++g) {
                        uint16_t* out = b + ((gp * steps + s) * 2 + g) * 2 * kTileElems;
                        const int64_t group = p0 + 2 * gp + g;
                        if (group < p1)
                            make_b_tiles(w.data + static_cast<size_t>(group) * group_bytes, k, (s0 + s) * kStepK, out);
                        else  // the panel's odd last group: a zero group, never stored
                            std::memset(out, 0, 2 * kTileElems * sizeof(uint16_t));
                    }
            for (int64_t cp = 0; cp < chunk_pairs; ++cp) {
                // A tiles of step s, chunk ch, part h at ((s * 2 + ch) * 2 + h)
                for (int64_t s = 0; s < steps; ++s)
                    for (int ch = 0; ch < 2; ++ch)
                        make_a_tiles(xf, m, k, cp * 32 + ch * 16, (s0 + s) * kStepK, a + (s * 2 + ch) * 2 * kTileElems);
                for (int64_t gp = 0; gp < pairs; ++gp) {
                    float* cu = c + (cp * pairs + gp) * 4 * kCTileFloats;
                    run_unit(a, b + gp * steps * 4 * kTileElems, steps, first, cu);
                    if (!last) continue;
                    // Store the finished unit: rows of y that exist and lie in [r_begin, r_end).
                    for (int g = 0; g < 2; ++g) {
                        const int64_t row0 = (p0 + 2 * gp + g) * kRepackRows;
                        if (row0 >= r_end) continue;
                        const int64_t lo = r_begin > row0 ? r_begin - row0 : 0;
                        const int64_t hi = r_end - row0 < kRepackRows ? r_end - row0 : kRepackRows;
                        const __mmask16 mask = static_cast<__mmask16>(((1u << hi) - 1) & ~((1u << lo) - 1));
                        for (int ch = 0; ch < 2; ++ch) {
                            const float* tile = cu + (2 * ch + g) * kCTileFloats;
                            const int64_t i0 = cp * 32 + ch * 16;
                            const int64_t n = std::min<int64_t>(16, m - i0);
                            for (int64_t i = 0; i < n; ++i)
                                _mm512_mask_storeu_ps(y + (i0 + i) * ldy + row0, mask, _mm512_load_ps(tile + i * 16));
                        }
                    }
                }
            }
        }
    }
    _tile_release();
}

void split_f16_to_bf16(const uint16_t* w, int64_t n, uint16_t* hi, uint16_t* lo) {
    for (int64_t i = 0; i < n; i += 16) {
        const int64_t len = std::min<int64_t>(16, n - i);
        const __mmask16 mask = static_cast<__mmask16>(len == 16 ? 0xFFFF : (1u << len) - 1);
        const __m512 v = _mm512_maskz_cvtph_ps(mask, _mm256_maskz_loadu_epi16(mask, w + i));
        __m256bh h, l;
        split(v, h, l);
        _mm256_mask_storeu_epi16(hi + i, mask, reinterpret_cast<__m256i&>(h));
        _mm256_mask_storeu_epi16(lo + i, mask, reinterpret_cast<__m256i&>(l));
    }
}

}  // namespace silica::kernels
