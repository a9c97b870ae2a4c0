// Per-request settings of a Generation: sampler and seed, max_tokens, stop tokens, logprobs,
// the repetition history from the prompt, and bad input.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>

#include "silica/error.h"
#include "silica/generation.h"
#include "silica/sampler.h"
#include "tests/engine/generation_test_util.h"
#include "tests/tokenizer/tokenizer_test_util.h"

using namespace silica;
using silica::test::force;
using silica::test::one_hot;

namespace {

const Tokenizer& gpt2() { return silica::test::gpt2_tokenizer(); }

std::vector<float> random_row(uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> normal(0.0f, 3.0f);
    std::vector<float> row(static_cast<size_t>(gpt2().n_vocab()));
    for (float& x : row) x = normal(rng);
    return row;
}

GenerationOptions sampled(uint64_t seed) {
    GenerationOptions o;
    o.sampling.temperature = 1.0f;
    o.sampling.top_k = 0;
    o.sampling.top_p = 1.0f;
    o.sampling.min_p = 0.0f;
    o.sampling.seed = seed;
    o.stop_at_end_of_generation = false;  // a random draw may be <|endoftext|>
    return o;
}

std::vector<int32_t> draw(const GenerationOptions& o, const std::vector<float>& row, int n) {
    Generation gen(gpt2(), o);
    std::vector<int32_t> tokens;
    for (int i = 0; i < n; ++i) tokens.push_back(gen.step(row).token);
    return tokens;
}

}  // namespace

TEST_CASE("generation: the same seed gives the same tokens, another seed others", "[generation]") {
    const auto row = random_row(5);
    const auto a = draw(sampled(42), row, 24);
    CHECK(draw(sampled(42), row, 24) == a);
    CHECK(draw(sampled(43), row, 24) != a);
    // The tokens are the sampler's own draws with these settings.
    Sampler sampler(sampled(42).sampling);
    for (int32_t t : a) {
        CHECK(sampler.sample(row) == t);
        sampler.accept(t);
    }
}

TEST_CASE("generation: max_tokens finishes with Length", "[generation]") {
    GenerationOptions o = silica::test::greedy_options();
    o.max_tokens = 3;
    Generation gen(gpt2(), o);
    const int32_t a = gpt2().find_token("a");
    const auto run = force(gen, gpt2(), {a, a, a, a});
    REQUIRE(run.steps.size() == 3);
    CHECK_FALSE(run.steps[1].finished());
    CHECK(run.steps[2].finish == FinishReason::Length);
    CHECK(run.text == "aaa");
    CHECK_THROWS_AS(gen.step(one_hot(gpt2(), a)), Error);

    o.max_tokens = 0;
    Generation none(gpt2(), o);
    CHECK(none.finished());
    CHECK(none.finish_reason() == FinishReason::Length);
    CHECK(none.n_generated() == 0);
}

TEST_CASE("generation: stop tokens end generation and are not shown", "[generation]") {
    const int32_t a = gpt2().find_token("a"), b = gpt2().find_token("b");
    const int32_t eot = gpt2().find_token("<|endoftext|>");
    SECTION("extra stop token ids") {
        GenerationOptions o = silica::test::greedy_options();
        o.stop_tokens = {b};
        Generation gen(gpt2(), o);
        const auto run = force(gen, gpt2(), {a, a, b, a});
        REQUIRE(run.steps.size() == 3);
        CHECK(run.steps[2].finish == FinishReason::StopToken);
        CHECK(run.steps[2].token == b);
        CHECK(run.text == "aa");
    }
    SECTION("end-of-generation tokens, unless turned off") {
        Generation gen(gpt2(), silica::test::greedy_options());
        const auto run = force(gen, gpt2(), {a, eot, a});
        REQUIRE(run.steps.size() == 2);
        CHECK(run.steps[1].finish == FinishReason::StopToken);
        CHECK(run.text == "a");

        GenerationOptions o = silica::test::greedy_options();
        o.stop_at_end_of_generation = false;
        Generation shown(gpt2(), o);
        const auto all = force(shown, gpt2(), {a, eot, a});
        CHECK(all.steps.size() == 3);
        CHECK(all.text == "a<|endoftext|>a");
        CHECK_FALSE(shown.finished());
    }
    SECTION("an id outside the vocabulary is an error") {
        GenerationOptions o;
        o.stop_tokens = {gpt2().n_vocab()};
        CHECK_THROWS_WITH(Generation(gpt2(), o), "stop token 50257 is outside the vocabulary of 50257 tokens");
    }
}

TEST_CASE("generation: logprobs are the model's log-softmax", "[generation]") {
    GenerationOptions o = silica::test::greedy_options();
    o.logprobs = true;
    o.top_logprobs = 3;
    Generation gen(gpt2(), o);
    std::vector<float> row(static_cast<size_t>(gpt2().n_vocab()), 0.0f);
    row[100] = std::log(2.0f);  // twice as likely as each of the others
    const GenerationStep s = gen.step(row);
    const double total = static_cast<double>(gpt2().n_vocab()) + 1.0;
    CHECK(s.token == 100);
    CHECK(s.logprob == Approx(std::log(2.0 / total)).epsilon(1e-5));
    REQUIRE(s.top_logprobs.size() == 3);
    CHECK(s.top_logprobs[0].token == 100);
    CHECK(s.top_logprobs[1].token == 0);  // ties: lower ids first
    CHECK(s.top_logprobs[2].token == 1);
    CHECK(s.top_logprobs[1].logprob == Approx(std::log(1.0 / total)).epsilon(1e-5));

    Generation plain(gpt2(), silica::test::greedy_options());
    CHECK(plain.step(row).top_logprobs.empty());
}

TEST_CASE("generation: the repetition penalty sees the prompt given as context", "[generation]") {
    GenerationOptions o = silica::test::greedy_options();
    o.sampling.repeat_penalty = 2.0f;
    std::vector<float> row(static_cast<size_t>(gpt2().n_vocab()), 0.0f);
    row[7] = 2.0f;
    row[9] = 1.5f;
    const std::vector<int32_t> prompt = {3, 7};
    CHECK(Generation(gpt2(), o).step(row).token == 7);
    CHECK(Generation(gpt2(), o, prompt).step(row).token == 9);  // 7's logit halved to 1.0
}

TEST_CASE("generation: bad input is a clear error", "[generation]") {
    Generation gen(gpt2(), silica::test::greedy_options());
    const std::vector<float> short_row(10, 0.0f);
    CHECK_THROWS_WITH(gen.step(short_row), "a row of 10 logits for a vocabulary of 50257 tokens");
    CHECK_THROWS_WITH(gen.stop(FinishReason::None), "stop() needs a finish reason");
    GenerationOptions o;
    o.sampling.temperature = -1.0f;
    CHECK_THROWS_AS(Generation(gpt2(), o), Error);
    CHECK(std::string(finish_reason_name(FinishReason::ContextFull)) == "context_full");
}
