// Harmony mode (GPT-OSS chat): final-channel text is the answer, analysis is reasoning, the stop
// tokens finish, and a model that never writes a message header falls back to plain text.
#include <catch2/catch.hpp>

#include "silica/error.h"
#include "silica/generation.h"
#include "tests/engine/generation_test_util.h"
#include "tests/tokenizer/tokenizer_test_util.h"

using namespace silica;
using silica::test::force;

namespace {

const Tokenizer& o200k() { return silica::test::harmony_tokenizer(); }

// The example output of openai/harmony docs/format.md: an analysis message, then the final
// answer, then <|return|> (the same ids as tests/tokenizer/harmony_test.cpp).
const std::vector<int32_t> kDocTokens = {200005, 35644, 200008, 1844,  31064, 25,     392,    4827,  382,
                                         220,    17,    659,    220,   17,    16842,  12295,  81645, 13,
                                         51441,  6052,  13,     200007, 200006, 173781, 200005, 17196, 200008,
                                         17,     659,   220,    17,    314,   220,    19,     13,    200002};
const std::string kReasoning = "User asks: \"What is 2 + 2?\" Simple arithmetic. Provide answer.";
const std::string kAnswer = "2 + 2 = 4.";

GenerationOptions harmony_options() {
    GenerationOptions o = silica::test::greedy_options();
    o.harmony = true;
    return o;
}

}  // namespace

TEST_CASE("generation: harmony keeps the analysis channel apart from the final answer", "[generation][harmony]") {
    for (bool stop_at_eog : {true, false}) {
        INFO("stop_at_end_of_generation " << stop_at_eog);
        GenerationOptions o = harmony_options();
        o.stop_at_end_of_generation = stop_at_eog;  // <|return|> ends harmony output either way
        Generation gen(o200k(), o);
        const auto run = force(gen, o200k(), kDocTokens);
        CHECK(run.reasoning == kReasoning);
        CHECK(run.text == kAnswer);
        for (const auto& s : run.steps) CHECK((s.text.empty() || s.reasoning.empty()));
        REQUIRE(run.steps.size() == kDocTokens.size());
        CHECK(run.steps.back().finish == FinishReason::StopToken);
        CHECK(run.steps.back().text.empty());
        // The reasoning message begins at its <|message|> (index 2) and ends at <|end|> (21).
        for (size_t i = 0; i < run.steps.size(); ++i) {
            CHECK(run.steps[i].reasoning_started == (i == 2));
            CHECK(run.steps[i].reasoning_ended == (i == 21));
        }
        CHECK(run.steps[2].reasoning_channel == "analysis");
        CHECK(run.steps[21].reasoning_channel == "analysis");
    }
}

TEST_CASE("generation: harmony stop strings apply to the answer only", "[generation][harmony]") {
    GenerationOptions o = harmony_options();
    o.stop_strings = {"arithmetic", "= 4"};
    Generation gen(o200k(), o);
    const auto run = force(gen, o200k(), kDocTokens);
    CHECK(run.reasoning == kReasoning);  // "arithmetic" in the reasoning does not stop
    CHECK(run.text == "2 + 2 ");
    CHECK(run.steps.back().finish == FinishReason::StopString);
    CHECK(run.steps.size() == kDocTokens.size() - 2);  // "= 4" completes at " 4", before "." and <|return|>
}

TEST_CASE("generation: harmony <|call|>, <|endoftext|> and <|return|> finish", "[generation][harmony]") {
    for (const char* stop : {"<|call|>", "<|endoftext|>", "<|return|>"}) {
        INFO(stop);
        std::vector<int32_t> ids = {200005, 17196, 200008};  // <|channel|>final<|message|>
        const auto text = o200k().encode("Hi there", false);
        ids.insert(ids.end(), text.begin(), text.end());
        ids.push_back(o200k().find_token(stop));
        ids.push_back(o200k().find_token("Hi"));  // never reached
        Generation gen(o200k(), harmony_options());
        const auto run = force(gen, o200k(), ids);
        CHECK(run.text == "Hi there");
        REQUIRE(run.steps.size() == ids.size() - 1);
        CHECK(run.steps.back().finish == FinishReason::StopToken);
        CHECK(run.steps.back().token == o200k().find_token(stop));
    }
}

TEST_CASE("generation: harmony falls back to plain text after tokens without a header", "[generation][harmony]") {
    const std::string sentence =
        "The quick brown fox jumps over the lazy dog, and then it runs far away into the deep dark forest where "
        "nobody has ever seen it again, not even once, not even the old owl who lives there and sees everything.";
    const auto ids = o200k().encode(sentence, false);
    REQUIRE(ids.size() > 33);
    SECTION("after 32 tokens by default") {
        Generation gen(o200k(), harmony_options());
        const auto run = force(gen, o200k(), ids);
        for (size_t i = 0; i < run.steps.size(); ++i) {
            CHECK(run.steps[i].plain_text_fallback == (i == 32));
            if (i < 32) CHECK(run.steps[i].text.empty());
        }
        CHECK(run.steps[32].text == o200k().decode(std::span(ids).first(33)));
        CHECK(run.text == sentence);
        CHECK(run.reasoning.empty());
    }
    SECTION("never when turned off") {
        GenerationOptions o = harmony_options();
        o.harmony_fallback_tokens = 0;
        Generation gen(o200k(), o);
        const auto run = force(gen, o200k(), ids);
        CHECK(run.text.empty());
        for (const auto& s : run.steps) CHECK_FALSE(s.plain_text_fallback);
    }
}

TEST_CASE("generation: harmony mode needs the harmony tokens", "[generation][harmony]") {
    CHECK_THROWS_AS(Generation(silica::test::gpt2_tokenizer(), harmony_options()), Error);
}
