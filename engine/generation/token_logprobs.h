// Log-probabilities of tokens under the model's own distribution (softmax of the raw logits,
// before temperature or any cut of the sampler): what an API reports as "logprobs".
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "silica/generation.h"

namespace silica::generation {

// log p(token). NaN logits count as -inf, as in the sampler.
float token_logprob(std::span<const float> logits, int32_t token);
// The n most likely tokens, most likely first (ties: lower ids first).
std::vector<TokenLogprob> top_logprobs(std::span<const float> logits, int n);

}  // namespace silica::generation
