// The token sequence a bench run feeds as its prompt.
#pragma once
#include <cstdint>
#include <vector>

namespace silica::bench {

// The fixed default prompt: token i is (13 + 7919 * i) mod m, with m = min(n_vocab, 32768).
// 7919 is prime, so unless m is a multiple of it the ids cycle through all of [0, m) before
// repeating; keeping below 32768
// stays clear of the special tokens at the top of both supported vocabularies. The ids depend
// only on i and n_vocab, so every run of every engine version sees the same prompt.
// Throws silica::Error if n_vocab < 1 or length < 0.
std::vector<int32_t> fixed_prompt_tokens(int64_t length, int64_t n_vocab);

// `tokens` repeated and then cut to exactly `length` ids (used for --prompt TEXT).
// Throws silica::Error if `tokens` is empty.
std::vector<int32_t> repeat_to_length(const std::vector<int32_t>& tokens, int64_t length);

}  // namespace silica::bench
