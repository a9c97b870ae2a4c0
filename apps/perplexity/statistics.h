// The figures of a perplexity run, estimated as llama-perplexity estimates them: perplexity =
// exp(mean NLL) with the standard error of the mean NLL carried through exp; for a comparison
// with a base model, the two perplexities, their difference and ratio (with the covariance of
// the two NLLs), the mean KL divergence and its distribution, and the top-1 agreement.
#pragma once
#include <cstdint>
#include <vector>

#include "apps/perplexity/log_probs.h"

namespace silica::perplexity {

struct Estimate {
    double value = 0;
    double error = 0;  // one standard error
};

// The mean of values whose sum and sum of squares are given, and the standard error of that mean,
// sqrt(variance / (count - 1)) (0 for a single value or a non-positive variance).
Estimate mean_of(double sum, double sum2, int64_t count);

// Linear interpolation between the closest ranks of sorted values, rank = fraction * (n - 1).
double percentile(const std::vector<float>& sorted, double fraction);

class PerplexityStats {
public:
    void add(double nll);
    int64_t count() const { return count_; }
    Estimate mean_nll() const { return mean_of(sum_, sum2_, count_); }
    Estimate perplexity() const;  // exp(mean NLL) ± exp(mean NLL) * error of the mean NLL

private:
    double sum_ = 0, sum2_ = 0;
    int64_t count_ = 0;
};

struct KlSummary {
    int64_t count = 0;
    Estimate ppl, ppl_base;
    double nll_correlation = 0;  // of the current and the base NLLs
    Estimate ln_ppl_ratio;       // ln(PPL / PPL(base))
    Estimate ppl_ratio;          // PPL / PPL(base)
    Estimate ppl_diff;           // PPL - PPL(base)
    Estimate kld;                // mean KL(base || current)
    double kld_max = 0, kld_p999 = 0, kld_p99 = 0, kld_p95 = 0, kld_p90 = 0, kld_median = 0, kld_min = 0;
    Estimate p_diff;             // mean p(target) - p_base(target)
    Estimate p_diff_rms;
    Estimate same_top;           // fraction of positions whose argmax is the base's
};

class KlStats {
public:
    void add(double nll, double nll_base, const KlTerms& terms);
    int64_t count() const { return count_; }
    KlSummary summary() const;

private:
    double sum_nll_ = 0, sum_nll2_ = 0, sum_base_ = 0, sum_base2_ = 0, sum_nll_base_ = 0;
    double sum_kld_ = 0, sum_kld2_ = 0, sum_dp_ = 0, sum_dp2_ = 0, sum_dp4_ = 0;
    int64_t same_top_ = 0, count_ = 0;
    std::vector<float> kld_;  // every position's, for the percentiles
};

}  // namespace silica::perplexity
