#include "silica/sampler.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <limits>
#include <string>

#include "kernels/ops.h"
#include "silica/error.h"

namespace silica {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

}  // namespace

Sampler::Sampler(SamplerOptions options) : options_(options), rng_(options.seed) {
    if (!(options.temperature >= 0.0f) || !std::isfinite(options.temperature))
        throw Error("sampler: temperature must be a finite number >= 0 (got " + std::to_string(options.temperature) + ")");
    if (!(options.repeat_penalty > 0.0f) || !std::isfinite(options.repeat_penalty))
        throw Error("sampler: repeat penalty must be a finite number > 0 (got " +
                    std::to_string(options.repeat_penalty) + ")");
    if (std::isnan(options.top_p) || std::isnan(options.min_p)) throw Error("sampler: top-p and min-p must be numbers");
    if (!(std::fabs(options.presence_penalty) <= 2.0f) || !(std::fabs(options.frequency_penalty) <= 2.0f))
        throw Error("sampler: presence and frequency penalties must be numbers in [-2, 2]");
}

void Sampler::accept(int32_t token) {
    const int n = options_.repeat_last_n;
    if (n == 0) return;
    if (n < 0 || history_.size() < static_cast<size_t>(n)) {
        history_.push_back(token);
        return;
    }
    history_[history_next_] = token;
    history_next_ = (history_next_ + 1) % history_.size();
}

void Sampler::reset() {
    history_.clear();
    history_next_ = 0;
    rng_.seed(options_.seed);
}

double Sampler::uniform01() {
    // The top 53 bits of one 64-bit draw, as a double in [0, 1): exact and library-independent.
    return static_cast<double>(rng_() >> 11) * 0x1.0p-53;
}

void Sampler::prepare(std::span<const float> logits) {
    if (logits.empty()) throw Error("sampler: empty logits");
    if (logits.size() > static_cast<size_t>(std::numeric_limits<int32_t>::max()))
        throw Error("sampler: too many logits");
    work_.resize(logits.size());
    for (size_t i = 0; i < logits.size(); ++i) {
        const float v = logits[i];
        // NaN never wins; +inf becomes the largest finite value so softmax stays defined.
        work_[i] = std::isnan(v) ? kNegInf : std::min(v, FLT_MAX);
    }
    const bool openai_penalties = options_.presence_penalty != 0.0f || options_.frequency_penalty != 0.0f;
    if (penalties_apply()) {
        penalised_.assign(history_.begin(), history_.end());
        std::sort(penalised_.begin(), penalised_.end());
        for (size_t i = 0; i < penalised_.size();) {  // each distinct token once, with its count
            const int32_t t = penalised_[i];
            size_t count = 1;
            while (i + count < penalised_.size() && penalised_[i + count] == t) ++count;
            i += count;
            if (t < 0 || static_cast<size_t>(t) >= work_.size()) continue;
            float& l = work_[static_cast<size_t>(t)];
            if (options_.repeat_penalty != 1.0f) l = l > 0.0f ? l / options_.repeat_penalty : l * options_.repeat_penalty;
            if (openai_penalties && l > kNegInf)
                l -= options_.presence_penalty + options_.frequency_penalty * static_cast<float>(count);
        }
    }
}

bool Sampler::penalties_apply() const {
    const bool openai_penalties = options_.presence_penalty != 0.0f || options_.frequency_penalty != 0.0f;
    return (options_.repeat_penalty != 1.0f || openai_penalties) && !history_.empty();
}

int32_t Sampler::greedy_of(std::span<const float> logits) {
    // Without a penalty the logits need no sanitised copy: the argmax kernel treats NaN and +inf
    // as prepare() would (the copy and a scalar scan were ~6% of a small model's decode step).
    std::span<const float> row = logits;
    if (penalties_apply()) {
        prepare(logits);
        row = work_;
    } else if (logits.empty()) {
        throw Error("sampler: empty logits");
    }
    const int64_t best = kernels::argmax(row.data(), static_cast<int64_t>(row.size()));
    if (best < 0) throw Error("sampler: every logit is -inf or NaN");
    if (best > std::numeric_limits<int32_t>::max()) throw Error("sampler: too many logits");
    return static_cast<int32_t>(best);
}

// Orders candidates most likely first; equal logits by token id, so every step is deterministic.
static bool more_likely(const auto& a, const auto& b) {
    return a.logit > b.logit || (a.logit == b.logit && a.token < b.token);
}

void Sampler::select_candidates() {
    const double inv_t = 1.0 / static_cast<double>(options_.temperature);
    const size_t n = work_.size();
    cand_.clear();
    double denominator = 0.0;  // sum of weights over the top-k set (the whole vocabulary without top-k)

    if (options_.top_k > 0 && static_cast<size_t>(options_.top_k) < n) {
        // One pass with a heap of the k best so far (its root is the worst of them): the vocabulary
        // is never sorted. Ids come in increasing order, so an equal logit never displaces.
        const size_t k = static_cast<size_t>(options_.top_k);
        auto worse_on_top = [](const Candidate& a, const Candidate& b) { return more_likely(a, b); };
        size_t i = 0;
        for (; i < n && cand_.size() < k; ++i) {
            if (work_[i] == kNegInf) continue;
            cand_.push_back({work_[i], static_cast<int32_t>(i)});
            std::push_heap(cand_.begin(), cand_.end(), worse_on_top);
        }
        float threshold = cand_.empty() ? kNegInf : cand_.front().logit;  // the k-th best so far
        for (; i < n; ++i) {
            const float l = work_[i];
            if (!(l > threshold)) continue;  // the common case: one compare per token
            std::pop_heap(cand_.begin(), cand_.end(), worse_on_top);
            cand_.back() = {l, static_cast<int32_t>(i)};
            std::push_heap(cand_.begin(), cand_.end(), worse_on_top);
            threshold = cand_.front().logit;
        }
        if (cand_.empty()) throw Error("sampler: every logit is -inf or NaN");
        std::sort(cand_.begin(), cand_.end(), [](const Candidate& a, const Candidate& b) { return more_likely(a, b); });
        const double max_logit = cand_.front().logit;
        for (const Candidate& c : cand_) denominator += std::exp((c.logit - max_logit) * inv_t);
    } else {
        // No top-k: the softmax needs every token, but only tokens that can pass min-p need sorting
        // (min-p and top-p both keep a most-likely-first prefix, so dropping the others early is exact).
        float max_logit = kNegInf;
        for (float l : work_) max_logit = std::max(max_logit, l);
        if (max_logit == kNegInf) throw Error("sampler: every logit is -inf or NaN");
        const double min_p = options_.min_p > 0.0f ? options_.min_p : 0.0;
        for (size_t i = 0; i < n; ++i) {
            if (work_[i] == kNegInf) continue;
            const double w = std::exp((static_cast<double>(work_[i]) - max_logit) * inv_t);
            denominator += w;
            if (w >= min_p || work_[i] == max_logit) cand_.push_back({work_[i], static_cast<int32_t>(i)});
        }
        // Top-p needs only the most likely tokens up to mass top_p: sort a growing prefix until it
        // holds that much (usually a few hundred tokens, not the whole vocabulary).
        auto order = [](const Candidate& a, const Candidate& b) { return more_likely(a, b); };
        size_t m = std::min<size_t>(cand_.size(), 256);
        for (;;) {
            std::partial_sort(cand_.begin(), cand_.begin() + static_cast<std::ptrdiff_t>(m), cand_.end(), order);
            if (m == cand_.size()) break;
            double prefix = 0.0;
            for (size_t j = 0; j < m; ++j)
                prefix += std::exp((static_cast<double>(cand_[j].logit) - max_logit) * inv_t) / denominator;
            if (prefix >= options_.top_p) {
                cand_.resize(m);
                break;
            }
            m = std::min(cand_.size(), m * 4);
        }
    }

    // Softmax weights of the sorted candidates, then the top-p and min-p cuts.
    const double max_logit = cand_.front().logit;
    const double top_p = options_.top_p;
    const double min_p = options_.min_p;
    weights_.resize(cand_.size());
    double mass = 0.0;
    n_kept_ = 0;
    for (size_t i = 0; i < cand_.size(); ++i) {
        const double w = std::exp((static_cast<double>(cand_[i].logit) - max_logit) * inv_t);
        if (i > 0 && min_p > 0.0 && w < min_p) break;  // w is p / p_max
        weights_[i] = w;
        n_kept_ = i + 1;
        mass += w / denominator;
        if (mass >= top_p) break;
    }
}

int32_t Sampler::sample(std::span<const float> logits) {
    if (options_.temperature == 0.0f) return greedy_of(logits);
    prepare(logits);
    // Nothing is cut (OpenAI's defaults: no top-k, top-p 1, no min-p): draw over the vocabulary in
    // id order, without sorting it (sorting 201k tokens per draw costs more than a decode step's
    // share of a batch).
    if (options_.top_k <= 0 && options_.top_p >= 1.0f && options_.min_p <= 0.0f) {
        float max_logit = kNegInf;
        for (float l : work_) max_logit = std::max(max_logit, l);
        if (max_logit == kNegInf) throw Error("sampler: every logit is -inf or NaN");
        const double inv_t = 1.0 / static_cast<double>(options_.temperature);
        weights_.resize(work_.size());
        double total = 0.0;
        for (size_t i = 0; i < work_.size(); ++i) {
            weights_[i] = work_[i] == kNegInf ? 0.0 : std::exp((static_cast<double>(work_[i]) - max_logit) * inv_t);
            total += weights_[i];
        }
        const double target = uniform01() * total;
        double cumulative = 0.0;
        int32_t last = 0;
        for (size_t i = 0; i < work_.size(); ++i) {
            if (weights_[i] == 0.0) continue;
            cumulative += weights_[i];
            last = static_cast<int32_t>(i);
            if (target < cumulative) return last;
        }
        return last;  // only reached through rounding
    }
    select_candidates();
    double total = 0.0;
    for (size_t i = 0; i < n_kept_; ++i) total += weights_[i];
    const double target = uniform01() * total;
    double cumulative = 0.0;
    for (size_t i = 0; i < n_kept_; ++i) {
        cumulative += weights_[i];
        if (target < cumulative) return cand_[i].token;
    }
    return cand_[n_kept_ - 1].token;  // only reached through rounding
}

int32_t Sampler::sample_proposed(std::span<const float> logits, int32_t proposed) {
    if (options_.temperature == 0.0f) return greedy_of(logits);
    prepare(logits);
    select_candidates();
    double total = 0.0, proposed_weight = 0.0;
    for (size_t i = 0; i < n_kept_; ++i) {
        total += weights_[i];
        if (cand_[i].token == proposed) proposed_weight = weights_[i];
    }
    // Accept with probability min(1, p/q) = p(proposed), as q(proposed) = 1.
    if (uniform01() * total < proposed_weight) return proposed;
    // Rejected: draw from max(0, p - q), i.e. p without `proposed`, renormalised.
    const double rest = total - proposed_weight;
    const double target = uniform01() * rest;
    double cumulative = 0.0;
    int32_t last = -1;
    for (size_t i = 0; i < n_kept_; ++i) {
        if (cand_[i].token == proposed) continue;
        cumulative += weights_[i];
        last = cand_[i].token;
        if (target < cumulative) return last;
    }
    return last >= 0 ? last : proposed;  // rounding, or p one-hot on proposed (then never rejected)
}

std::vector<TokenProbability> Sampler::distribution(std::span<const float> logits) {
    if (options_.temperature == 0.0f) return {TokenProbability{greedy_of(logits), 1.0f}};
    prepare(logits);
    select_candidates();
    double total = 0.0;
    for (size_t i = 0; i < n_kept_; ++i) total += weights_[i];
    std::vector<TokenProbability> out(n_kept_);
    for (size_t i = 0; i < n_kept_; ++i)
        out[i] = {cand_[i].token, static_cast<float>(weights_[i] / total)};
    return out;
}

}  // namespace silica
