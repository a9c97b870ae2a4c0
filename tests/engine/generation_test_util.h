// Helpers of the generation tests: rows of logits that force the sampler's choice, so a test
// decides exactly which tokens a Generation sees.
#pragma once
#include <catch2/catch.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "silica/generation.h"
#include "silica/tokenizer.h"

namespace silica::test {

// Greedy sampling: a one-hot row then always gives its token.
inline GenerationOptions greedy_options() {
    GenerationOptions o;
    o.sampling.temperature = 0.0f;
    return o;
}

inline std::vector<float> one_hot(const Tokenizer& tok, int32_t token) {
    std::vector<float> row(static_cast<size_t>(tok.n_vocab()), 0.0f);
    row[static_cast<size_t>(token)] = 10.0f;
    return row;
}

// The id of the token whose bytes are exactly `bytes` (the test needs that split of the text).
inline int32_t token_of(const Tokenizer& tok, std::string_view bytes) {
    const int32_t id = tok.find_token(bytes);
    INFO("token bytes: " << std::string(bytes));
    REQUIRE(id >= 0);
    return id;
}

inline std::vector<int32_t> tokens_of(const Tokenizer& tok, const std::vector<std::string>& pieces) {
    std::vector<int32_t> ids;
    for (const auto& p : pieces) ids.push_back(token_of(tok, p));
    return ids;
}

struct ForcedRun {
    std::vector<GenerationStep> steps;
    std::string text, reasoning;  // all steps' text and reasoning
};

// Steps `gen` with rows forcing `tokens`, one after another, until it finishes or they run out.
inline ForcedRun force(Generation& gen, const Tokenizer& tok, const std::vector<int32_t>& tokens) {
    ForcedRun run;
    for (int32_t t : tokens) {
        if (gen.finished()) break;
        run.steps.push_back(gen.step(one_hot(tok, t)));
        REQUIRE(run.steps.back().token == t);
        REQUIRE_FALSE(find_invalid_utf8(run.steps.back().text));
        REQUIRE_FALSE(find_invalid_utf8(run.steps.back().reasoning));
        run.text += run.steps.back().text;
        run.reasoning += run.steps.back().reasoning;
    }
    return run;
}

inline std::vector<std::string> step_texts(const ForcedRun& run) {
    std::vector<std::string> texts;
    for (const auto& s : run.steps) texts.push_back(s.text);
    return texts;
}

}  // namespace silica::test
