// The adaptive choice of how many tokens to propose (include/silica/speculative.h).
#include <algorithm>
#include <limits>

#include "silica/model.h"
#include "silica/speculative.h"

namespace silica {

AdaptiveDraftLength::AdaptiveDraftLength(bool adaptive, double cost_per_token, int off_tokens, double proposal_cost)
    : adaptive_(adaptive),
      configured_cost_(cost_per_token + proposal_cost),
      off_tokens_(std::max(off_tokens, 1)),
      off_period_(off_tokens_) {}

double AdaptiveDraftLength::cost_per_token(const SpeculativeOptions& options, int64_t n_expert) {
    if (options.verify_cost_per_token >= 0.0f) return options.verify_cost_per_token;
    return n_expert > 0 ? 0.4 : 0.1;
}

double AdaptiveDraftLength::proposal_cost(const SpeculativeOptions& options, const Model& draft, const Model& target) {
    if (options.draft_cost_per_token >= 0.0f) return options.draft_cost_per_token;
    return static_cast<double>(draft.file_size()) / static_cast<double>(std::max<uint64_t>(target.file_size(), 1));
}

int AdaptiveDraftLength::choose(int k_max) {
    if (!adaptive_ || k_max <= 0) return std::max(k_max, 0);
    if (off_left_ > 0) return 0;
    if (measuring_ && step_seconds_.count() == 0) return 0;  // time a plain step first
    const double cost = proposal_cost_now();
    // Expected tokens from a pass of up to k proposals: 1 + sum over i <= k of P(proposals 1..i
    // made and kept); its expected cost: 1 + cost x sum over i <= k of P(proposals 1..i made).
    int best_k = 0;
    double best = 1.0, expected = 1.0, survive = 1.0;  // a plain step: one token per step
    double made = 1.0, expected_made = 0.0;
    for (int k = 1; k <= std::min(k_max, kMaxDepth); ++k) {
        made *= std::clamp(offered_[static_cast<size_t>(k - 1)], 0.0, 1.0);
        survive *= std::clamp(kept_[static_cast<size_t>(k - 1)], 0.0, 0.999);
        expected += made * survive;
        expected_made += made;
        const double rate = expected / (1.0 + cost * expected_made);
        if (rate > best) {
            best = rate;
            best_k = k;
        }
    }
    if (best_k == 0) {
        // A draft that has never proposed anything (only empty rounds) is off for good at its
        // second switch-off (the doc comment above).
        off_left_ = !proposed_any_ && switched_off_ >= 1 ? std::numeric_limits<int>::max() : off_period_;
        off_period_ = std::min(off_period_ * 2, off_tokens_ * 32);
        ++switched_off_;
    }
    return best_k;
}

void AdaptiveDraftLength::plain_step() {
    if (off_left_ > 0 && --off_left_ == 0) {  // try again, optimistically, and time it afresh
        std::fill(kept_.begin(), kept_.end(), 0.8);
        round_costs_.clear();
    }
}

void AdaptiveDraftLength::verified(int proposed, int accepted) {
    proposed_any_ = proposed_any_ || proposed > 0;
    // depths 1..accepted were kept; depth accepted + 1 (if proposed) was the first rejected
    const int reached = std::min({proposed, accepted + 1, kMaxDepth});
    for (int i = 1; i <= reached; ++i) {
        double& c = kept_[static_cast<size_t>(i - 1)];
        c = 0.75 * c + 0.25 * (accepted >= i ? 1.0 : 0.0);
    }
    if (accepted > 0) off_period_ = off_tokens_;
}

void AdaptiveDraftLength::offered(int asked, int made) {
    // depths 1..made were made; depth made + 1 (if allowed) was where the proposer stopped
    const int seen = std::min({asked, made + 1, kMaxDepth});
    for (int i = 1; i <= seen; ++i) {
        double& o = offered_[static_cast<size_t>(i - 1)];
        o = 0.75 * o + 0.25 * (made >= i ? 1.0 : 0.0);
    }
}

void AdaptiveDraftLength::empty_round() { kept_[0] *= 0.25; }

void AdaptiveDraftLength::measure_costs() { measuring_ = adaptive_; }

void AdaptiveDraftLength::timed_plain_step(double seconds) {
    if (!measuring_ || !(seconds > 0.0)) return;
    step_seconds_.add(seconds);
}

void AdaptiveDraftLength::timed_round(int proposed, double seconds) {
    if (!measuring_ || proposed <= 0 || step_seconds_.count() == 0 || !(seconds > 0.0)) return;
    round_costs_.add(std::max(0.0, (seconds / step_seconds_.median() - 1.0) / proposed));
}

double AdaptiveDraftLength::proposal_cost_now() const {
    return measuring_ && round_costs_.count() >= kMinTimedRounds ? round_costs_.median() : configured_cost_;
}

void AdaptiveDraftLength::RecentMedian::add(double value) {
    values_[next_] = value;
    next_ = (next_ + 1) % kWindow;
    count_ = std::min(count_ + 1, kWindow);
}

double AdaptiveDraftLength::RecentMedian::median() const {
    if (count_ == 0) return 0.0;
    double sorted[kWindow];
    for (int i = 0; i < count_; ++i) {  // insertion sort: a handful of values
        int j = i;
        for (; j > 0 && sorted[j - 1] > values_[i]; --j) sorted[j] = sorted[j - 1];
        sorted[j] = values_[i];
    }
    return count_ % 2 ? sorted[count_ / 2] : 0.5 * (sorted[count_ / 2 - 1] + sorted[count_ / 2]);
}

}  // namespace silica
