#include "engine/generation/token_logprobs.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace silica::generation {
namespace {

float clean(float logit) { return std::isnan(logit) ? -std::numeric_limits<float>::infinity() : logit; }

// log(sum(exp(logits))), computed around the largest logit so nothing overflows.
double log_normalizer(std::span<const float> logits) {
    float max = -std::numeric_limits<float>::infinity();
    for (float l : logits) max = std::max(max, clean(l));
    double sum = 0.0;
    for (float l : logits) sum += std::exp(static_cast<double>(clean(l)) - max);
    return max + std::log(sum);
}

}  // namespace

float token_logprob(std::span<const float> logits, int32_t token) {
    return static_cast<float>(clean(logits[static_cast<size_t>(token)]) - log_normalizer(logits));
}

std::vector<TokenLogprob> top_logprobs(std::span<const float> logits, int n) {
    const size_t count = std::min(logits.size(), static_cast<size_t>(std::max(n, 0)));
    std::vector<int32_t> ids(logits.size());
    std::iota(ids.begin(), ids.end(), 0);
    std::partial_sort(ids.begin(), ids.begin() + static_cast<ptrdiff_t>(count), ids.end(), [&](int32_t a, int32_t b) {
        const float la = clean(logits[static_cast<size_t>(a)]), lb = clean(logits[static_cast<size_t>(b)]);
        return la > lb || (la == lb && a < b);
    });
    const double norm = log_normalizer(logits);
    std::vector<TokenLogprob> top;
    for (size_t i = 0; i < count; ++i)
        top.push_back({ids[i], static_cast<float>(clean(logits[static_cast<size_t>(ids[i])]) - norm)});
    return top;
}

}  // namespace silica::generation
