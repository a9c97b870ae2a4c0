#include "kernels/attention.h"

#include <cmath>
#include <vector>

#include "kernels/attention_tiled.h"
#include "kernels/convert.h"
#include "kernels/isa.h"
#include "quant/dequantize.h"

namespace silica::kernels {

namespace {
struct ScalarOps {
    static float dot(const float* a, const float* b, int64_t n) {
        float s = 0.0f;
        for (int64_t i = 0; i < n; ++i) s += a[i] * b[i];
        return s;
    }
    static void axpy(float a, const float* x, float* y, int64_t n) {
        for (int64_t i = 0; i < n; ++i) y[i] += a * x[i];
    }
    static void scale(float* y, float a, int64_t n) {
        for (int64_t i = 0; i < n; ++i) y[i] *= a;
    }
    static void exp_inplace(float* x, int64_t n) {
        for (int64_t i = 0; i < n; ++i) x[i] = std::exp(x[i]);
    }
    static void row_to_f32(TensorType type, const uint8_t* src, float* dst, int64_t n) {
        dequantize_row(type, src, dst, n);
    }
};
}  // namespace

void attend_spans_scalar(std::span<const KvRowSpan> spans, const float* q, const AttentionShape& shape, float* out) {
    detail::attend_tiled<ScalarOps>(spans, q, shape, out);
}

void attend_spans(std::span<const KvRowSpan> spans, const float* q, const AttentionShape& shape, float* out,
                  std::span<const KvRowSpan> prefetch_later) {
    switch (active_isa()) {
        case Isa::avx512: return attend_spans_avx512(spans, q, shape, out, prefetch_later);
        case Isa::avx2: return attend_spans_avx2(spans, q, shape, out);
        case Isa::scalar: return attend_spans_scalar(spans, q, shape, out);
    }
}

void attend_spans_reference(std::span<const KvRowSpan> spans, const float* q, const AttentionShape& shape,
                            float* out) {
    const int64_t hd = shape.head_dim;
    std::vector<float> k(hd), v(hd);
    for (int64_t g = 0; g < shape.n_group; ++g) {
        const float* qg = q + g * hd;
        // Pass 1: the scores and their max (the sink included).
        std::vector<double> scores;
        double max = shape.sinks ? shape.sinks[g] : -INFINITY;
        for (const KvRowSpan& s : spans)
            for (int64_t r = 0; r < s.n_rows; ++r) {
                dequantize_row(s.type, s.k + r * s.stride, k.data(), hd);
                double dot = 0.0;
                for (int64_t d = 0; d < hd; ++d) dot += static_cast<double>(qg[d]) * k[d];
                scores.push_back(dot * shape.scale);
                max = std::max(max, scores.back());
            }
        // Pass 2: normalized weights times V.
        double sum = shape.sinks ? std::exp(shape.sinks[g] - max) : 0.0;
        for (double& s : scores) sum += (s = std::exp(s - max));
        std::vector<double> acc(hd, 0.0);
        size_t j = 0;
        for (const KvRowSpan& s : spans)
            for (int64_t r = 0; r < s.n_rows; ++r, ++j) {
                dequantize_row(s.type, s.v + r * s.stride, v.data(), hd);
                for (int64_t d = 0; d < hd; ++d) acc[d] += scores[j] / sum * v[d];
            }
        for (int64_t d = 0; d < hd; ++d) out[g * hd + d] = static_cast<float>(acc[d]);
    }
}

}  // namespace silica::kernels
