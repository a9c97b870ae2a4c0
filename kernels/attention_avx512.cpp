// AVX-512 operations for the attention driver (kernels/attention_tiled.h).
// GCC 12's unmasked AVX-512 intrinsics trip a false -Wmaybe-uninitialized (GCC bug 105593), and
// in the head_dim 32 instance of sum_lanes_16 a false -Wuninitialized.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

#include "kernels/attention_tiled.h"
#include "kernels/exp_avx512.h"
#include "kernels/kv_rows_avx512.h"

namespace silica::kernels {


namespace {

using avx512::tail_mask;


struct Avx512Ops {
    static float dot(const float* a, const float* b, int64_t n) {
        __m512 s = _mm512_setzero_ps();
        int64_t i = 0;
        for (; i + 16 <= n; i += 16) s = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s);
        if (i < n) {
            const __mmask16 m = tail_mask(n - i);
            s = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), s);
        }
        return _mm512_reduce_add_ps(s);
    }
    static void axpy(float a, const float* x, float* y, int64_t n) {
        const __m512 va = _mm512_set1_ps(a);
        int64_t i = 0;
        for (; i + 16 <= n; i += 16)
            _mm512_storeu_ps(y + i, _mm512_fmadd_ps(va, _mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i)));
        if (i < n) {
            const __mmask16 m = tail_mask(n - i);
            _mm512_mask_storeu_ps(y + i, m,
                                  _mm512_fmadd_ps(va, _mm512_maskz_loadu_ps(m, x + i), _mm512_maskz_loadu_ps(m, y + i)));
        }
    }
    static void scale(float* y, float a, int64_t n) {
        const __m512 va = _mm512_set1_ps(a);
        int64_t i = 0;
        for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, _mm512_mul_ps(va, _mm512_loadu_ps(y + i)));
        if (i < n) {
            const __mmask16 m = tail_mask(n - i);
            _mm512_mask_storeu_ps(y + i, m, _mm512_mul_ps(va, _mm512_maskz_loadu_ps(m, y + i)));
        }
    }
    static void exp_inplace(float* x, int64_t n) {
        int64_t i = 0;
        for (; i + 16 <= n; i += 16) _mm512_storeu_ps(x + i, avx512::exp_ps(_mm512_loadu_ps(x + i)));
        if (i < n) {
            const __mmask16 m = tail_mask(n - i);
            _mm512_mask_storeu_ps(x + i, m, avx512::exp_ps(_mm512_maskz_loadu_ps(m, x + i)));
        }
    }
    static void row_to_f32(TensorType type, const uint8_t* src, float* dst, int64_t n) {
        avx512::kv_row_to_f32(type, src, dst, n);
    }
};

// ---- head_dim 64 (GPT-2, GPT-OSS) and 32 (small GPT-2s such as the trained default model):
// scores of 16 keys at once, accumulators in registers ----
//
// The generic driver scores one key at a time (a dot product ending in a horizontal sum) and
// adds V rows into accumulators in memory. Here a query scores 16 keys as 16 partial vectors
// folded into one vector of 16 scores by a transpose-and-add tree (under 3 shuffles per key
// instead of a full horizontal sum), and several query heads (of one or several tokens) keep
// their accumulators in registers while the tile's V rows stream past them.

// HD: the head dimension, a multiple of 16; NV = HD / 16 vectors per row.

// Lane i of the result is the sum of v[i]'s 16 lanes. Inlined by force: GCC 12 otherwise calls it
// with the 16 vectors spilled to the stack (13% of decode attention's time in cache).
[[gnu::always_inline]] inline __m512 sum_lanes_16(const __m512 (&v)[16]) {
    __m512 u[8];  // per 128-bit lane: pairs (2j, 2j+1) folded to 4 partial sums
    for (int j = 0; j < 8; ++j)
        u[j] = _mm512_add_ps(_mm512_unpacklo_ps(v[2 * j], v[2 * j + 1]), _mm512_unpackhi_ps(v[2 * j], v[2 * j + 1]));
    __m512 w[4];  // per 128-bit lane: the partial sums of 4 consecutive vectors
    for (int k = 0; k < 4; ++k)
        w[k] = _mm512_add_ps(_mm512_shuffle_ps(u[2 * k], u[2 * k + 1], 0x44),
                             _mm512_shuffle_ps(u[2 * k], u[2 * k + 1], 0xEE));
    const __m512 y01 = _mm512_add_ps(_mm512_shuffle_f32x4(w[0], w[1], 0x44), _mm512_shuffle_f32x4(w[0], w[1], 0xEE));
    const __m512 y23 = _mm512_add_ps(_mm512_shuffle_f32x4(w[2], w[3], 0x44), _mm512_shuffle_f32x4(w[2], w[3], 0xEE));
    return _mm512_add_ps(_mm512_shuffle_f32x4(y01, y23, 0x88), _mm512_shuffle_f32x4(y01, y23, 0xDD));
}

// Where a tile's K or V rows are read from: floats converted into a scratch tile, or (F16 caches)
// the cached half-precision rows themselves, converted in registers as they are used.
// Both give the same floats (f16 -> f32 is exact), so the two paths give the same bits.
struct FloatRows {
    const float* base;  // row i at base + i * HD
    static constexpr bool kValidRowsOnly = false;  // rows past the valid ones hold stale floats
    template <int HD>
    __m512 load(int64_t i, int c) const { return _mm512_loadu_ps(base + i * HD + 16 * c); }
    template <int HD>
    FloatRows from(int64_t i) const { return {base + i * HD}; }
};
struct HalfRows {
    const uint8_t* base;  // row i at base + i * stride
    int64_t stride;
    static constexpr bool kValidRowsOnly = true;  // past the valid rows may lie past the cache block
    template <int HD>
    __m512 load(int64_t i, int c) const {
        return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(base + i * stride) + c));
    }
    template <int HD>
    HalfRows from(int64_t i) const { return {base + i * stride, stride}; }
};

// Q8_0 rows (blocks of 32 codes after their fp16 scale), converted in registers: the same floats
// as kv_row_to_f32 gives (scale times code, one rounding), so the same bits as a float tile.
struct Q8Rows {
    const uint8_t* base;  // row i at base + i * stride
    int64_t stride;
    static constexpr bool kValidRowsOnly = true;
    template <int HD>
    __m512 load(int64_t i, int c) const {
        const auto* block = reinterpret_cast<const BlockQ8_0*>(base + i * stride) + c / 2;
        const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(block->qs + 16 * (c % 2)));
        return _mm512_mul_ps(_mm512_set1_ps(fp16_to_f32(block->d)), _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(q)));
    }
    template <int HD>
    Q8Rows from(int64_t i) const { return {base + i * stride, stride}; }
};

// Scores of keys [0, 16) of `k` against one query already multiplied by the scale; lanes from
// n_valid on are left to the caller to mask (HalfRows: their rows are not read).
template <int HD, class Rows>
__m512 score_16_keys(const __m512 (&q)[HD / 16], const Rows& k, int64_t n_valid) {
    __m512 parts[16];
#pragma GCC unroll 16
    for (int j = 0; j < 16; ++j) {
        if (Rows::kValidRowsOnly && j >= n_valid) {
            parts[j] = _mm512_setzero_ps();
            continue;
        }
        __m512 s = _mm512_mul_ps(q[0], k.template load<HD>(j, 0));
        for (int c = 1; c < HD / 16; ++c) s = _mm512_fmadd_ps(q[c], k.template load<HD>(j, c), s);
        parts[j] = s;
    }
    return sum_lanes_16(parts);
}

// acc[s] += sum_i p[s][i] * v[i] for S accumulators (query heads of one or several tokens), over
// the same n keys: each V row is loaded once for all of them, and their FMA chains run side by
// side. Each accumulator sees the keys in order, one FMA each, as it would alone.
template <int HD, int S, class Rows>
void accumulate_values(const float* const* p, const Rows& v, int64_t n, float* const* acc) {
    constexpr int NV = HD / 16;
    __m512 a[S][NV];
    for (int s = 0; s < S; ++s)
        for (int c = 0; c < NV; ++c) a[s][c] = _mm512_loadu_ps(acc[s] + 16 * c);
    for (int64_t i = 0; i < n; ++i) {
        __m512 vr[NV];
        for (int c = 0; c < NV; ++c) vr[c] = v.template load<HD>(i, c);
        for (int s = 0; s < S; ++s) {
            const __m512 w = _mm512_set1_ps(p[s][i]);
            for (int c = 0; c < NV; ++c) a[s][c] = _mm512_fmadd_ps(w, vr[c], a[s][c]);
        }
    }
    for (int s = 0; s < S; ++s)
        for (int c = 0; c < NV; ++c) _mm512_storeu_ps(acc[s] + 16 * c, a[s][c]);
}

// Accumulators kept in registers at once: 16 vectors.
template <int HD>
constexpr int kSlots = 16 / (HD / 16);

// One accumulator's share of a tile: a query head of one token, its weights p (over the tile's
// keys) and how many of the tile's keys it sees.
struct Slot {
    const float* p;
    float* acc;
    int64_t n;
};

// accumulate_values for any number of slots, kSlots at a time: the keys all of a group see
// together, then each slot's further keys alone (a verify pass's later tokens see more keys).
template <int HD, class Rows, int S = kSlots<HD>>
void accumulate_slots(const Slot* slots, int64_t n_slots, const Rows& v) {
    if constexpr (S > 1) {
        for (; n_slots >= S; slots += S, n_slots -= S) {
            int64_t common = slots[0].n;
            const float* p[S];
            float* acc[S];
            for (int s = 0; s < S; ++s) {
                common = std::min(common, slots[s].n);
                p[s] = slots[s].p;
                acc[s] = slots[s].acc;
            }
            accumulate_values<HD, S>(p, v, common, acc);
            for (int s = 0; s < S; ++s) {
                if (slots[s].n == common) continue;
                const float* ps = slots[s].p + common;
                accumulate_values<HD, 1>(&ps, v.template from<HD>(common), slots[s].n - common, &acc[s]);
            }
        }
        if (n_slots > 0) accumulate_slots<HD, Rows, S - 1>(slots, n_slots, v);
    } else {
        for (int64_t s = 0; s < n_slots; ++s) accumulate_values<HD, 1>(&slots[s].p, v, slots[s].n, &slots[s].acc);
    }
}

void prefetch_lines(const uint8_t* p, int64_t bytes) {
    for (int64_t b = 0; b < bytes; b += 64) _mm_prefetch(reinterpret_cast<const char*>(p + b), _MM_HINT_T0);
}

// n_tokens queries of consecutive positions against the same keys: token t sees the keys at
// positions <= last_key + t (last_key: kNoLimit for one decode query, which sees every key given).
//
// Keys go by chunks of up to kChunkTiles tiles, each chunk in two passes: first the scores of all
// its tiles (K rows only), then, after one softmax rescale per chunk, the weighted V rows. A tile's
// scores do not wait for the previous tile's softmax, so the K loads of a chunk can run ahead.
// Against one pass per tile (scores, max, exp, values, then the next tile), attention_bench 1
// thread, interleaved medians: in cache 4-17% less time (290 keys: hd 64 -8%, hd 32 -17%, 9 tokens
// -15%, group 8 -8%), from memory 3-7% less.
//
// Each K/V tile is read once for all tokens (in place, or converted to floats); every token takes the
// steps it takes alone (its own count of valid keys per tile, the same chunks, masks and sums), so a
// token's output is bit-identical whether it comes alone or with others (batch invariance of a
// verify pass against decode).
constexpr int64_t kNoLimit = std::numeric_limits<int64_t>::max() / 2;
constexpr int64_t kChunkTiles = 8;

// The rows of a later call (a decode batch's next KV head: every K row, then every V row), fetched
// into cache a few lines at a time while this call computes. Each KV head's rows are short
// streams (HD 64 F16: 4 KiB of K and 4 KiB of V per block of 32 positions) that the hardware
// prefetcher barely ramps up on, so without this each head began with cache misses. Measured:
// attention_bench FromMemory (1 thread, 46 MB) 2.34-2.58 -> 1.70-1.99 ms; GPT-2 124M with 8
// sequences, the engine's attention 1.61-1.66 -> 1.38-1.55 ms per step.
struct SpanPrefetcher {
    std::span<const KvRowSpan> spans;
    size_t span = 0;
    bool values = false;
    int64_t offset = 0;  // bytes into the current span's K or V rows

    int64_t lines() const {
        int64_t bytes = 0;
        for (const KvRowSpan& s : spans) bytes += 2 * s.n_rows * s.stride;
        return (bytes + 63) / 64;
    }
    void fetch(int64_t n_lines) {
        while (n_lines > 0 && span < spans.size()) {
            const KvRowSpan& s = spans[span];
            const int64_t bytes = s.n_rows * s.stride;
            const uint8_t* rows = values ? s.v : s.k;
            for (; n_lines > 0 && offset < bytes; offset += 64, --n_lines)
                _mm_prefetch(reinterpret_cast<const char*>(rows + offset), _MM_HINT_T0);
            if (offset < bytes) return;
            offset = 0;
            if (++span == spans.size() && !values) {
                span = 0;
                values = true;
            }
        }
    }
};

// One tile of keys: rows [r0, r0 + n) of a span.
struct KeyTile {
    const KvRowSpan* span;
    int64_t r0, n;
    int64_t first_pos() const { return span->first_pos + r0; }
    const uint8_t* rows(bool values) const { return (values ? span->v : span->k) + r0 * span->stride; }
};

template <int HD>
void attend_hd(std::span<const KvRowSpan> spans, const float* q, int64_t q_stride, float* out, int64_t out_stride,
               int64_t n_tokens, int64_t last_key, const AttentionShape& shape,
               std::span<const KvRowSpan> prefetch_later) {
    using detail::kTile;
    constexpr int NV = HD / 16;
    constexpr int64_t kChunk = kChunkTiles * kTile;
    const int64_t G = shape.n_group, T = n_tokens;
    // Per thread: [K tile][V tile]; per token: [weights G x kChunk][acc G x HD][scaled q G x HD].
    thread_local std::vector<float> scratch;
    thread_local std::vector<float> run_max, run_sum, chunk_max;
    thread_local std::vector<Slot> slots;
    thread_local std::vector<KeyTile> tiles;
    const int64_t per_token = G * kChunk + 2 * G * HD;
    scratch.resize(static_cast<size_t>(2 * kTile * HD + T * per_token));
    float* k_tile = scratch.data();
    float* v_tile = k_tile + kTile * HD;
    float* token_state = v_tile + kTile * HD;
    auto p_of = [&](int64_t t) { return token_state + t * per_token; };
    auto acc_of = [&](int64_t t) { return token_state + t * per_token + G * kChunk; };
    auto qs_of = [&](int64_t t) { return token_state + t * per_token + G * kChunk + G * HD; };
    // token t's query head g: its scores, then weights, of the chunk's tile i (i from 0)
    auto weights_of = [&](int64_t t, int64_t g, int64_t i) { return p_of(t) + g * kChunk + i * kTile; };
    run_max.resize(static_cast<size_t>(T * G));
    run_sum.resize(static_cast<size_t>(T * G));
    chunk_max.resize(static_cast<size_t>(T * G));
    for (int64_t t = 0; t < T; ++t) {
        for (int64_t g = 0; g < G; ++g) {
            run_max[t * G + g] = shape.sinks ? shape.sinks[g] : -std::numeric_limits<float>::infinity();
            run_sum[t * G + g] = shape.sinks ? 1.0f : 0.0f;
        }
        std::fill(acc_of(t), acc_of(t) + G * HD, 0.0f);
        for (int64_t i = 0; i < G * HD; ++i) qs_of(t)[i] = q[t * q_stride + i] * shape.scale;
    }
    tiles.clear();
    for (const KvRowSpan& span : spans)
        for (int64_t r0 = 0; r0 < span.n_rows; r0 += kTile) tiles.push_back({&span, r0, std::min(kTile, span.n_rows - r0)});
    const int64_t n_tiles = static_cast<int64_t>(tiles.size());
    const __m512 minus_inf = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
    // keys of `tile` token t sees
    auto seen = [&](const KeyTile& tile, int64_t t) { return std::min(tile.n, last_key + t - tile.first_pos() + 1); };
    // Lanes of keys past nt: their scores are masked to -inf, weights to 0.
    auto valid_lanes = [](int64_t nt, int h) {
        const int64_t n = nt - 16 * h;
        return n >= 16 ? __mmask16(0xffff) : n > 0 ? tail_mask(n) : __mmask16(0);
    };
    // F16 rows are read in place, each query converting them again in registers: faster than a
    // float tile for every query count measured (1-9 tokens x 1-8 heads). Q8_0 rows too when one
    // query reads them (GPT-2 decode; 124M with 8 sequences and a q8_0 cache, 4 alternating runs:
    // 988-1074 -> 1098-1184 tok/s); for 8 query heads converting them 8 times was slower
    // (attention_bench GPT-OSS shape). The other storage types and query counts are converted to a
    // float tile once for all queries.
    auto with_rows = [&](const KeyTile& tile, bool values, float* float_tile, auto&& use) {
        const KvRowSpan& span = *tile.span;
        const uint8_t* rows = tile.rows(values);
        if (span.type == TensorType::F16) return use(HalfRows{rows, span.stride});
        if (span.type == TensorType::Q8_0 && T * G == 1) return use(Q8Rows{rows, span.stride});
        for (int64_t i = 0; i < seen(tile, T - 1); ++i)
            Avx512Ops::row_to_f32(span.type, rows + i * span.stride, float_tile + i * HD, HD);
        use(FloatRows{float_tile});
    };
    // This call's own rows a pass ahead, for the first KV head of a batch and for long contexts:
    // the next tile's K rows and this tile's V rows while its scores are computed, the next
    // chunk's K rows while this one's values are added.
    auto prefetch = [](const KeyTile& tile, bool values) { prefetch_lines(tile.rows(values), tile.n * tile.span->stride); };

    // the later call's rows, spread evenly over this call's tile passes (two per tile)
    SpanPrefetcher later{prefetch_later};
    const int64_t later_per_pass = (later.lines() + 2 * n_tiles - 1) / (2 * n_tiles);
    for (int64_t c0 = 0; c0 < n_tiles; c0 += kChunkTiles) {
        const int64_t c_end = std::min(n_tiles, c0 + kChunkTiles);
        std::fill(chunk_max.begin(), chunk_max.end(), -std::numeric_limits<float>::infinity());
        // Pass 1: scores of the chunk's keys, and each query's maximum over them.
        for (int64_t c = c0; c < c_end; ++c) {
            const KeyTile& tile = tiles[static_cast<size_t>(c)];
            prefetch(tile, true);
            if (c + 1 < c_end) prefetch(tiles[static_cast<size_t>(c + 1)], false);
            later.fetch(later_per_pass);
            with_rows(tile, false, k_tile, [&](const auto& k_rows) {
                for (int64_t t = 0; t < T; ++t) {
                    const int64_t nt = seen(tile, t);
                    if (nt <= 0) continue;
                    const __mmask16 valid[2] = {valid_lanes(nt, 0), valid_lanes(nt, 1)};
                    for (int64_t g = 0; g < G; ++g) {
                        __m512 qv[NV];
                        for (int cv = 0; cv < NV; ++cv) qv[cv] = _mm512_loadu_ps(qs_of(t) + g * HD + 16 * cv);
                        float* p = weights_of(t, g, c - c0);
                        __m512 m = minus_inf;
                        for (int h = 0; h < 2; ++h) {
                            __m512 s = minus_inf;
                            if (valid[h])
                                s = _mm512_mask_mov_ps(minus_inf, valid[h],
                                                       score_16_keys<HD>(qv, k_rows.template from<HD>(16 * h), nt - 16 * h));
                            _mm512_storeu_ps(p + 16 * h, s);
                            m = _mm512_max_ps(m, s);
                        }
                        float& cm = chunk_max[static_cast<size_t>(t * G + g)];
                        cm = std::max(cm, _mm512_reduce_max_ps(m));
                    }
                }
            });
        }
        // One rescale per query and chunk, then the weights exp(score - max).
        for (int64_t t = 0; t < T; ++t) {
            for (int64_t g = 0; g < G; ++g) {
                const float cm = chunk_max[static_cast<size_t>(t * G + g)];
                if (cm == -std::numeric_limits<float>::infinity()) continue;  // no key of the chunk seen
                float& tmax = run_max[static_cast<size_t>(t * G + g)];
                float& tsum = run_sum[static_cast<size_t>(t * G + g)];
                float* acc = acc_of(t) + g * HD;
                if (cm > tmax) {
                    const float correction = std::exp(tmax - cm);  // 0 when run_max is -inf
                    for (int cv = 0; cv < NV; ++cv)
                        _mm512_storeu_ps(acc + 16 * cv, _mm512_mul_ps(_mm512_set1_ps(correction), _mm512_loadu_ps(acc + 16 * cv)));
                    tsum *= correction;
                    tmax = cm;
                }
                const __m512 m = _mm512_set1_ps(tmax);
                for (int64_t c = c0; c < c_end; ++c) {
                    const int64_t nt = seen(tiles[static_cast<size_t>(c)], t);
                    if (nt <= 0) break;  // nor any later tile
                    float* p = weights_of(t, g, c - c0);
                    for (int h = 0; h < 2; ++h) {
                        const __m512 w = _mm512_maskz_mov_ps(valid_lanes(nt, h), avx512::exp_ps(_mm512_sub_ps(_mm512_loadu_ps(p + 16 * h), m)));
                        tsum += _mm512_reduce_add_ps(w);
                        _mm512_storeu_ps(p + 16 * h, w);
                    }
                }
            }
        }
        // Pass 2: the V rows into every query's accumulators.
        for (int64_t c = c0; c < c_end; ++c) {
            const KeyTile& tile = tiles[static_cast<size_t>(c)];
            if (c + kChunkTiles < n_tiles) prefetch(tiles[static_cast<size_t>(c + kChunkTiles)], false);
            later.fetch(later_per_pass);
            slots.clear();
            for (int64_t t = 0; t < T; ++t) {
                const int64_t nt = seen(tile, t);
                if (nt <= 0) continue;
                for (int64_t g = 0; g < G; ++g)
                    slots.push_back({weights_of(t, g, c - c0), acc_of(t) + g * HD, nt});
            }
            with_rows(tile, true, v_tile, [&](const auto& v_rows) {
                accumulate_slots<HD>(slots.data(), static_cast<int64_t>(slots.size()), v_rows);
            });
        }
    }
    for (int64_t t = 0; t < T; ++t)
        for (int64_t g = 0; g < G; ++g) {
            const float inv = 1.0f / run_sum[t * G + g];
            for (int64_t d = 0; d < HD; ++d) out[t * out_stride + g * HD + d] = acc_of(t)[g * HD + d] * inv;
        }
}

// attend_hd for the head sizes it is built for; false for the others.
bool attend_hd_any(std::span<const KvRowSpan> spans, const float* q, int64_t q_stride, float* out, int64_t out_stride,
                   int64_t n_tokens, int64_t last_key, const AttentionShape& shape,
                   std::span<const KvRowSpan> prefetch_later) {
    switch (shape.head_dim) {
        case 64: attend_hd<64>(spans, q, q_stride, out, out_stride, n_tokens, last_key, shape, prefetch_later); return true;
        case 32: attend_hd<32>(spans, q, q_stride, out, out_stride, n_tokens, last_key, shape, prefetch_later); return true;
        default: return false;
    }
}

}  // namespace

void attend_spans_avx512(std::span<const KvRowSpan> spans, const float* q, const AttentionShape& shape, float* out,
                         std::span<const KvRowSpan> prefetch_later) {
    if (!attend_hd_any(spans, q, 0, out, 0, 1, kNoLimit, shape, prefetch_later)) detail::attend_tiled<Avx512Ops>(spans, q, shape, out);
}

bool attend_tokens_avx512(std::span<const KvRowSpan> spans, const QueryChunk& chunk, const AttentionShape& shape) {
    // every token's first visible key must be the first key given (no window in effect)
    if (first_visible_key(chunk.first_pos + chunk.n_tokens - 1, chunk.window) != 0) return false;
    return attend_hd_any(spans, chunk.q, chunk.q_stride, chunk.out, chunk.out_stride, chunk.n_tokens, chunk.first_pos,
                         shape, {});
}

}  // namespace silica::kernels
