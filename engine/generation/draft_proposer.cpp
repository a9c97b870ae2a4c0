#include "engine/generation/draft_proposer.h"

#include <algorithm>
#include <cmath>

#include "silica/session.h"

namespace silica::generation {
namespace {

// The highest logit (lowest id on ties) and its softmax probability.
std::pair<int32_t, float> top_token(std::span<const float> logits) {
    size_t best = 0;
    for (size_t i = 1; i < logits.size(); ++i)
        if (logits[i] > logits[best]) best = i;
    double sum = 0.0;
    for (float l : logits) sum += std::exp(static_cast<double>(l) - logits[best]);
    return {static_cast<int32_t>(best), static_cast<float>(1.0 / sum)};
}

}  // namespace

std::vector<int32_t> DraftProposer::propose(std::span<const int32_t> text, int k) {
    std::vector<int32_t> out;
    if (k <= 0 || text.empty()) return out;
    const auto have = draft_.tokens();
    size_t common = 0;
    while (common < have.size() && common < text.size() && have[common] == text[common]) ++common;
    if (common == text.size()) --common;  // re-evaluate the last token: its logits are needed
    if (common < have.size() && !draft_.truncate(static_cast<int64_t>(common))) {
        draft_.reset();  // a sliding-window ring lost the rows: start over
        common = 0;
    }
    // Room in the draft's context for the catch-up and k-1 guesses.
    const int64_t room = draft_.n_ctx() - static_cast<int64_t>(text.size());
    k = static_cast<int>(std::min<int64_t>(k, room + 1));
    if (k <= 0) return out;
    draft_.decode(text.subspan(common));
    ++passes_;
    for (;;) {
        const auto [token, p] = top_token(draft_.logits());
        if (p < p_min_) break;
        out.push_back(token);
        if (static_cast<int>(out.size()) >= k) break;
        draft_.decode(std::span<const int32_t>(&out.back(), 1));
        ++passes_;
    }
    return out;
}

}  // namespace silica::generation
