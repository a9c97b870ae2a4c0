// The draft-model proposer: a smaller model's greedy guesses, kept in step with the text.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace silica {
class Session;
}

namespace silica::generation {

// The highest logit's token (lowest id on ties) when its softmax probability is at least p_min,
// else nothing: a draft's greedy guess, offered only when the draft is confident. One argmax and
// one vector sum of exponentials (kernels::sum_exp) over the vocabulary.
std::optional<int32_t> confident_top_token(std::span<const float> logits, float p_min);

// How many of a draft's evaluated tokens (`have`) to keep before evaluating the rest of the
// target's `text`: their common prefix (the draft's rejected guesses are dropped), but never all
// of `text`, since its last token's logits give the first guess and must be computed again.
// The caller truncates to it (or starts over when a sliding-window ring cannot) and evaluates
// text[keep..].
size_t draft_tokens_to_keep(std::span<const int32_t> have, std::span<const int32_t> text);

class DraftProposer {
public:
    DraftProposer(Session& draft, float p_min) : draft_(draft), p_min_(p_min) {}
    // Up to k greedy tokens continuing `text` (the target's committed tokens), stopping after
    // the first whose draft probability is below p_min. First brings the draft's cache to `text`:
    // keeps the longest common prefix (truncating its rejected guesses) and evaluates the rest.
    std::vector<int32_t> propose(std::span<const int32_t> text, int k);
    int64_t passes() const { return passes_; }

private:
    Session& draft_;
    float p_min_;
    int64_t passes_ = 0;
};

}  // namespace silica::generation
