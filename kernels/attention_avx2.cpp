// AVX2 decode attention: a kernel for head sizes 64 and 32 (below), the shared tiled driver
// (kernels/attention_tiled.h) with AVX2 operations for the others.
#include <immintrin.h>

#include "kernels/attention_tiled.h"
#include "kernels/exp_avx2.h"
#include "kernels/kv_rows_avx2.h"

namespace silica::kernels {

namespace {

struct Avx2Ops {
    static float dot(const float* a, const float* b, int64_t n) {
        __m256 s = _mm256_setzero_ps();
        int64_t i = 0;
        for (; i + 8 <= n; i += 8) s = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s);
        float total = avx2::horizontal_sum(s);
        for (; i < n; ++i) total += a[i] * b[i];
        return total;
    }
    static void axpy(float a, const float* x, float* y, int64_t n) {
        const __m256 va = _mm256_set1_ps(a);
        int64_t i = 0;
        for (; i + 8 <= n; i += 8)
            _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
        for (; i < n; ++i) y[i] += a * x[i];
    }
    static void scale(float* y, float a, int64_t n) {
        const __m256 va = _mm256_set1_ps(a);
        int64_t i = 0;
        for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_mul_ps(va, _mm256_loadu_ps(y + i)));
        for (; i < n; ++i) y[i] *= a;
    }
    static void exp_inplace(float* x, int64_t n) {
        int64_t i = 0;
        for (; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, avx2::exp_ps(_mm256_loadu_ps(x + i)));
        if (i < n) {
            alignas(32) float tail[8] = {};
            for (int64_t j = i; j < n; ++j) tail[j - i] = x[j];
            _mm256_store_ps(tail, avx2::exp_ps(_mm256_load_ps(tail)));
            for (int64_t j = i; j < n; ++j) x[j] = tail[j - i];
        }
    }
    static void row_to_f32(TensorType type, const uint8_t* src, float* dst, int64_t n) {
        avx2::kv_row_to_f32(type, src, dst, n);
    }
};

// ---- head_dim 64 (GPT-2, GPT-OSS) and 32 (small GPT-2s): scores of 8 keys at once ----
//
// The generic driver scores one key at a time, a dot product that is one chain of dependent FMAs
// ending in a horizontal sum, and adds V rows into accumulators in memory. Here a query head
// scores 8 keys as 8 independent partial vectors folded into one vector of 8 scores by a
// horizontal-add tree, and its accumulators stay in registers while the tile's V rows stream past.
// F16 rows are converted in registers as they are used; the other storage types go through a float
// tile once per tile for all query heads.

// Lane i of the result is the sum of v[i]'s 8 lanes.
[[gnu::always_inline]] inline __m256 sum_lanes_8(const __m256 (&v)[8]) {
    const __m256 a01 = _mm256_hadd_ps(v[0], v[1]), a23 = _mm256_hadd_ps(v[2], v[3]);
    const __m256 a45 = _mm256_hadd_ps(v[4], v[5]), a67 = _mm256_hadd_ps(v[6], v[7]);
    const __m256 b0 = _mm256_hadd_ps(a01, a23), b1 = _mm256_hadd_ps(a45, a67);  // halves of 4 rows each
    return _mm256_add_ps(_mm256_permute2f128_ps(b0, b1, 0x20), _mm256_permute2f128_ps(b0, b1, 0x31));
}

// Where a tile's rows are read from: floats in a scratch tile, or the cache's F16 rows in place.
// f16 -> f32 is exact, so both give the same floats.
struct FloatRows {
    const float* base;  // row i at base + i * HD
    int64_t hd;
    __m256 load(int64_t i, int c) const { return _mm256_loadu_ps(base + i * hd + 8 * c); }
    FloatRows from(int64_t i) const { return {base + i * hd, hd}; }  // rows from row i on
};
struct HalfRows {
    const uint8_t* base;  // row i at base + i * stride
    int64_t stride;
    __m256 load(int64_t i, int c) const {
        return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(base + i * stride) + c));
    }
    HalfRows from(int64_t i) const { return {base + i * stride, stride}; }
};

// Scores of keys [0, 8) of k against q (already scaled); keys from n_valid on get -inf and their
// rows are not read (past the valid rows may lie past the cache block).
template <int HD, class Rows>
__m256 score_8_keys(const __m256 (&q)[HD / 8], const Rows& k, int64_t n_valid) {
    __m256 parts[8];
#pragma GCC unroll 8
    for (int j = 0; j < 8; ++j) {
        if (j >= n_valid) {
            parts[j] = _mm256_setzero_ps();
            continue;
        }
        __m256 s = _mm256_mul_ps(q[0], k.load(j, 0));
        for (int c = 1; c < HD / 8; ++c) s = _mm256_fmadd_ps(q[c], k.load(j, c), s);
        parts[j] = s;
    }
    const __m256 valid = _mm256_castsi256_ps(avx2::first_lanes(n_valid));
    return _mm256_blendv_ps(_mm256_set1_ps(-std::numeric_limits<float>::infinity()), sum_lanes_8(parts), valid);
}

template <int HD>
void attend_hd(std::span<const KvRowSpan> spans, const float* q, const AttentionShape& shape, float* out) {
    using detail::kTile;
    constexpr int NV = HD / 8;
    const int64_t G = shape.n_group;
    // Per thread: [K tile][V tile][weights kTile][acc G x HD][scaled q G x HD][max G][sum G].
    thread_local std::vector<float> scratch;
    scratch.resize(static_cast<size_t>(2 * kTile * HD + kTile + 2 * G * HD + 2 * G));
    float* k_tile = scratch.data();
    float* v_tile = k_tile + kTile * HD;
    float* p = v_tile + kTile * HD;
    float* acc = p + kTile;
    float* qs = acc + G * HD;
    float* run_max = qs + G * HD;
    float* run_sum = run_max + G;
    for (int64_t g = 0; g < G; ++g) {
        run_max[g] = shape.sinks ? shape.sinks[g] : -std::numeric_limits<float>::infinity();
        run_sum[g] = shape.sinks ? 1.0f : 0.0f;
    }
    std::fill(acc, acc + G * HD, 0.0f);
    for (int64_t i = 0; i < G * HD; ++i) qs[i] = q[i] * shape.scale;

    auto tile_pass = [&](const auto& k_rows, const auto& v_rows, int64_t nt) {
        for (int64_t g = 0; g < G; ++g) {
            __m256 qv[NV];
            for (int c = 0; c < NV; ++c) qv[c] = _mm256_loadu_ps(qs + g * HD + 8 * c);
            __m256 m = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
            for (int64_t h = 0; 8 * h < nt; ++h) {
                const __m256 s = score_8_keys<HD>(qv, k_rows.from(8 * h), nt - 8 * h);
                _mm256_storeu_ps(p + 8 * h, s);
                m = _mm256_max_ps(m, s);
            }
            alignas(32) float lanes[8];
            _mm256_store_ps(lanes, m);
            float tile_max = lanes[0];
            for (float l : lanes) tile_max = std::max(tile_max, l);
            float* acc_g = acc + g * HD;
            __m256 a[NV];
            for (int c = 0; c < NV; ++c) a[c] = _mm256_loadu_ps(acc_g + 8 * c);
            if (tile_max > run_max[g]) {
                const float correction = std::exp(run_max[g] - tile_max);  // 0 when run_max is -inf
                for (int c = 0; c < NV; ++c) a[c] = _mm256_mul_ps(_mm256_set1_ps(correction), a[c]);
                run_sum[g] *= correction;
                run_max[g] = tile_max;
            }
            const __m256 vmax = _mm256_set1_ps(run_max[g]);
            __m256 sum = _mm256_setzero_ps();
            for (int64_t h = 0; 8 * h < nt; ++h) {
                const __m256 valid = _mm256_castsi256_ps(avx2::first_lanes(nt - 8 * h));
                const __m256 w = _mm256_and_ps(valid, avx2::exp_ps(_mm256_sub_ps(_mm256_loadu_ps(p + 8 * h), vmax)));
                _mm256_storeu_ps(p + 8 * h, w);
                sum = _mm256_add_ps(sum, w);
            }
            run_sum[g] += avx2::horizontal_sum(sum);
            for (int64_t i = 0; i < nt; ++i) {
                const __m256 w = _mm256_set1_ps(p[i]);
                for (int c = 0; c < NV; ++c) a[c] = _mm256_fmadd_ps(w, v_rows.load(i, c), a[c]);
            }
            for (int c = 0; c < NV; ++c) _mm256_storeu_ps(acc_g + 8 * c, a[c]);
        }
    };
    for (const KvRowSpan& span : spans) {
        for (int64_t r0 = 0; r0 < span.n_rows; r0 += kTile) {
            const int64_t nt = std::min(kTile, span.n_rows - r0);
            const uint8_t* k = span.k + r0 * span.stride;
            const uint8_t* v = span.v + r0 * span.stride;
            if (span.type == TensorType::F16) {
                tile_pass(HalfRows{k, span.stride}, HalfRows{v, span.stride}, nt);
                continue;
            }
            for (int64_t i = 0; i < nt; ++i) {
                Avx2Ops::row_to_f32(span.type, k + i * span.stride, k_tile + i * HD, HD);
                Avx2Ops::row_to_f32(span.type, v + i * span.stride, v_tile + i * HD, HD);
            }
            tile_pass(FloatRows{k_tile, HD}, FloatRows{v_tile, HD}, nt);
        }
    }
    for (int64_t g = 0; g < G; ++g) {
        const __m256 inv = _mm256_set1_ps(1.0f / run_sum[g]);
        for (int c = 0; c < NV; ++c) _mm256_storeu_ps(out + g * HD + 8 * c, _mm256_mul_ps(_mm256_loadu_ps(acc + g * HD + 8 * c), inv));
    }
}

}  // namespace

void attend_spans_avx2(std::span<const KvRowSpan> spans, const float* q, const AttentionShape& shape, float* out) {
    switch (shape.head_dim) {
        case 64: return attend_hd<64>(spans, q, shape, out);
        case 32: return attend_hd<32>(spans, q, shape, out);
        default: return detail::attend_tiled<Avx2Ops>(spans, q, shape, out);
    }
}

}  // namespace silica::kernels
