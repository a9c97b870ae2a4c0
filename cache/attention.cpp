#include "cache/attention.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "kernels/ops.h"

namespace silica::cache {

void attend(const KvCache& kv, int64_t layer, int64_t kv_head, int64_t pos, const float* q, int64_t n_group,
            const AttentionSpec& spec, float* out, std::vector<float>& scratch) {
    const int64_t hd = kv.layout().head_dim;
    const int64_t first = spec.window > 0 ? std::max<int64_t>(0, pos - spec.window + 1) : 0;
    const int64_t n_keys = pos - first + 1;

    // scratch: [n_group][n_keys] scores, then one head_dim row for the dequantized K/V.
    scratch.resize(static_cast<size_t>(n_group * n_keys + hd));
    float* scores = scratch.data();
    float* row = scores + n_group * n_keys;

    for (int64_t j = 0; j < n_keys; ++j) {
        kv.load_k(layer, first + j, kv_head, row);
        for (int64_t g = 0; g < n_group; ++g) scores[g * n_keys + j] = kernels::dot(q + g * hd, row, hd) * spec.scale;
    }
    // Softmax per head; a sink joins the max and the denominator but has no value row.
    for (int64_t g = 0; g < n_group; ++g) {
        float* s = scores + g * n_keys;
        float max = spec.sinks ? spec.sinks[g] : -std::numeric_limits<float>::infinity();
        for (int64_t j = 0; j < n_keys; ++j) max = std::max(max, s[j]);
        double sum = spec.sinks ? std::exp(static_cast<double>(spec.sinks[g]) - max) : 0.0;
        for (int64_t j = 0; j < n_keys; ++j) {
            s[j] = std::exp(s[j] - max);
            sum += s[j];
        }
        const float inv = static_cast<float>(1.0 / sum);
        for (int64_t j = 0; j < n_keys; ++j) s[j] *= inv;
    }
    std::fill(out, out + n_group * hd, 0.0f);
    for (int64_t j = 0; j < n_keys; ++j) {
        kv.load_v(layer, first + j, kv_head, row);
        for (int64_t g = 0; g < n_group; ++g) kernels::axpy(scores[g * n_keys + j], row, out + g * hd, hd);
    }
}

}  // namespace silica::cache
