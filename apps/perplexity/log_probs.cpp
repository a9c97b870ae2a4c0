#include "apps/perplexity/log_probs.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "silica/error.h"

namespace silica::perplexity {

RowStats row_stats(std::span<const float> logits, int32_t target) {
    if (target < 0 || static_cast<size_t>(target) >= logits.size())
        throw Error("token id " + std::to_string(target) + " is outside the logits row of " +
                    std::to_string(logits.size()));
    RowStats s;
    float max = logits[0];
    for (size_t i = 1; i < logits.size(); ++i)
        if (logits[i] > max) max = logits[i], s.argmax = static_cast<int32_t>(i);
    // float exponentials (the row is float anyway), summed in double.
    double sum = 0;
    for (float x : logits) sum += std::exp(x - max);
    s.log_sum_exp = max + std::log(sum);
    s.nll = s.log_sum_exp - logits[target];
    return s;
}

void quantize_row(std::span<const float> logits, const RowStats& stats, BaseRow& out) {
    const float max = logits[stats.argmax];
    const float min = *std::min_element(logits.begin(), logits.end());
    const float floor = std::max(min, max - kBaseLogProbRange);
    out.scale = (max - floor) / 65535.0f;
    out.log_prob_min = static_cast<float>(floor - stats.log_sum_exp);
    out.target_log_prob = static_cast<float>(-stats.nll);
    out.argmax = stats.argmax;
    out.codes.assign(logits.size(), 0);
    if (out.scale <= 0) return;
    const float inv = 1.0f / out.scale;
    for (size_t i = 0; i < logits.size(); ++i) {
        const float code = std::nearbyint((logits[i] - floor) * inv);
        out.codes[i] = static_cast<uint16_t>(std::clamp(code, 0.0f, 65535.0f));
    }
}

KlTerms compare_row(std::span<const float> logits, const RowStats& stats, const BaseRow& base) {
    if (base.codes.size() != logits.size())
        throw Error("base row has " + std::to_string(base.codes.size()) + " entries, the logits " +
                    std::to_string(logits.size()));
    const uint16_t top_code = *std::max_element(base.codes.begin(), base.codes.end());
    const double top = base.log_prob_min + static_cast<double>(base.scale) * top_code;
    double z = 0;
    // float exponentials, double sums and differences: the self-divergence is ~1e-8 and must not
    // drown in rounding.
    for (uint16_t c : base.codes)
        z += std::exp(static_cast<float>(base.log_prob_min + static_cast<double>(base.scale) * c - top));
    const double norm = top + std::log(z);  // log Σ exp(dequantized row)
    double kld = 0;
    for (size_t i = 0; i < logits.size(); ++i) {
        const double lp_base = base.log_prob_min + static_cast<double>(base.scale) * base.codes[i] - norm;
        const double lp = logits[i] - stats.log_sum_exp;
        kld += std::exp(static_cast<float>(lp_base)) * (lp_base - lp);
    }
    KlTerms t;
    t.kld = kld;
    t.p_diff = std::exp(-stats.nll) - std::exp(static_cast<double>(base.target_log_prob));
    t.same_top = stats.argmax == base.argmax;
    return t;
}

}  // namespace silica::perplexity
