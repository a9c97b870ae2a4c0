#include "apps/perplexity/statistics.h"

#include <algorithm>
#include <cmath>

namespace silica::perplexity {

Estimate mean_of(double sum, double sum2, int64_t count) {
    if (count < 1) return {};
    const double n = static_cast<double>(count);
    const double mean = sum / n;
    const double variance = sum2 / n - mean * mean;
    return {mean, variance > 0 && count > 1 ? std::sqrt(variance / (n - 1)) : 0.0};
}

double percentile(const std::vector<float>& sorted, double fraction) {
    if (sorted.empty()) return 0;
    if (fraction <= 0) return sorted.front();
    if (fraction >= 1) return sorted.back();
    const double rank = fraction * static_cast<double>(sorted.size() - 1);
    const size_t lo = static_cast<size_t>(rank);
    const size_t hi = std::min(lo + 1, sorted.size() - 1);
    const double w = rank - static_cast<double>(lo);
    return (1 - w) * sorted[lo] + w * sorted[hi];
}

void PerplexityStats::add(double nll) {
    sum_ += nll;
    sum2_ += nll * nll;
    ++count_;
}

Estimate PerplexityStats::perplexity() const {
    const Estimate nll = mean_nll();
    const double ppl = std::exp(nll.value);
    return {ppl, ppl * nll.error};  // d exp(x) = exp(x) dx
}

void KlStats::add(double nll, double nll_base, const KlTerms& t) {
    sum_nll_ += nll;
    sum_nll2_ += nll * nll;
    sum_base_ += nll_base;
    sum_base2_ += nll_base * nll_base;
    sum_nll_base_ += nll * nll_base;
    sum_kld_ += t.kld;
    sum_kld2_ += t.kld * t.kld;
    sum_dp_ += t.p_diff;
    sum_dp2_ += t.p_diff * t.p_diff;
    sum_dp4_ += t.p_diff * t.p_diff * t.p_diff * t.p_diff;
    same_top_ += t.same_top;
    ++count_;
    kld_.push_back(static_cast<float>(t.kld));
}

KlSummary KlStats::summary() const {
    KlSummary s;
    s.count = count_;
    if (count_ == 0) return s;
    const double n = static_cast<double>(count_);
    const Estimate ln_ppl = mean_of(sum_nll_, sum_nll2_, count_);
    const Estimate ln_base = mean_of(sum_base_, sum_base2_, count_);
    // Covariance of the two mean NLLs (same positions, so strongly correlated).
    const double cov = count_ > 1 ? (sum_nll_base_ / n - ln_ppl.value * ln_base.value) / (n - 1) : 0.0;
    s.ppl = {std::exp(ln_ppl.value), std::exp(ln_ppl.value) * ln_ppl.error};
    s.ppl_base = {std::exp(ln_base.value), std::exp(ln_base.value) * ln_base.error};
    s.nll_correlation = ln_ppl.error > 0 && ln_base.error > 0 ? cov / (ln_ppl.error * ln_base.error) : 0.0;
    const double ratio_var = ln_ppl.error * ln_ppl.error + ln_base.error * ln_base.error - 2 * cov;
    s.ln_ppl_ratio = {ln_ppl.value - ln_base.value, std::sqrt(std::max(0.0, ratio_var))};
    s.ppl_ratio = {std::exp(s.ln_ppl_ratio.value), std::exp(s.ln_ppl_ratio.value) * s.ln_ppl_ratio.error};
    const double diff_var = s.ppl.error * s.ppl.error + s.ppl_base.error * s.ppl_base.error -
                            2 * s.ppl.value * s.ppl_base.value * cov;
    s.ppl_diff = {s.ppl.value - s.ppl_base.value, std::sqrt(std::max(0.0, diff_var))};

    s.kld = mean_of(sum_kld_, sum_kld2_, count_);
    std::vector<float> sorted = kld_;
    std::sort(sorted.begin(), sorted.end());
    s.kld_min = sorted.front();
    s.kld_max = sorted.back();
    s.kld_median = percentile(sorted, 0.5);
    s.kld_p90 = percentile(sorted, 0.90);
    s.kld_p95 = percentile(sorted, 0.95);
    s.kld_p99 = percentile(sorted, 0.99);
    s.kld_p999 = percentile(sorted, 0.999);

    s.p_diff = mean_of(sum_dp_, sum_dp2_, count_);
    const Estimate mse = mean_of(sum_dp2_, sum_dp4_, count_);
    const double rms = std::sqrt(mse.value);
    s.p_diff_rms = {rms, rms > 0 ? 0.5 / rms * mse.error : 0.0};  // d sqrt(x) = dx / (2 sqrt(x))
    const double top = static_cast<double>(same_top_) / n;
    s.same_top = {top, count_ > 1 ? std::sqrt(top * (1 - top) / (n - 1)) : 0.0};
    return s;
}

}  // namespace silica::perplexity
