#include "engine/generation/draft_proposer.h"

#include <algorithm>

#include "kernels/ops.h"
#include "silica/session.h"

namespace silica::generation {

std::optional<int32_t> confident_top_token(std::span<const float> logits, float p_min) {
    if (logits.empty()) return std::nullopt;
    const int64_t best = kernels::argmax(logits.data(), static_cast<int64_t>(logits.size()));
    if (best < 0) return std::nullopt;  // no finite logit
    // p = 1 / sum_i exp(l_i - l_best) >= p_min. (A libm exp per entry cost ~0.5 ms over GPT-2's
    // 50257 logits: about one decode step of an 18M target.)
    const double denominator = kernels::sum_exp(logits.data(), static_cast<int64_t>(logits.size()), logits[best]);
    if (denominator * p_min > 1.0) return std::nullopt;
    return static_cast<int32_t>(best);
}

size_t draft_tokens_to_keep(std::span<const int32_t> have, std::span<const int32_t> text) {
    size_t common = 0;
    while (common < have.size() && common < text.size() && have[common] == text[common]) ++common;
    return common == text.size() && common > 0 ? common - 1 : common;
}

std::vector<int32_t> DraftProposer::propose(std::span<const int32_t> text, int k) {
    std::vector<int32_t> out;
    if (k <= 0 || text.empty()) return out;
    const auto have = draft_.tokens();
    size_t common = draft_tokens_to_keep(have, text);
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
        const std::optional<int32_t> token = confident_top_token(draft_.logits(), p_min_);
        if (!token) break;
        out.push_back(*token);
        if (static_cast<int>(out.size()) >= k) break;
        draft_.decode(std::span<const int32_t>(&out.back(), 1));
        ++passes_;
    }
    return out;
}

}  // namespace silica::generation
