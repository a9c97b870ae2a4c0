// Streamed UTF-8 in a Generation: a character split across tokens is released only when
// complete; invalid bytes and a dangling partial character become U+FFFD.
#include <catch2/catch.hpp>

#include "silica/generation.h"
#include "tests/engine/generation_test_util.h"
#include "tests/tokenizer/tokenizer_test_util.h"

using namespace silica;
using silica::test::force;
using silica::test::step_texts;

namespace {

const Tokenizer& gpt2() { return silica::test::gpt2_tokenizer(); }
std::vector<int32_t> pieces(const std::vector<std::string>& p) { return silica::test::tokens_of(gpt2(), p); }
const std::string kReplacement = "\xEF\xBF\xBD";  // U+FFFD

}  // namespace

TEST_CASE("generation: a multi-byte character split across tokens is emitted when complete", "[generation]") {
    Generation gen(gpt2(), silica::test::greedy_options());
    // U+1F600 (F0 9F 98 80), one byte per token, between two words.
    const auto run = force(gen, gpt2(), pieces({"Hi", " ", "\xF0", "\x9F", "\x98", "\x80", "!"}));
    CHECK(step_texts(run) == std::vector<std::string>{"Hi", " ", "", "", "", "\xF0\x9F\x98\x80", "!"});
    CHECK_FALSE(gen.finished());
}

TEST_CASE("generation: an incomplete character at the end becomes U+FFFD", "[generation]") {
    GenerationOptions o = silica::test::greedy_options();
    o.max_tokens = 3;
    Generation gen(gpt2(), o);
    const auto run = force(gen, gpt2(), pieces({"ok", "\xF0", "\x9F"}));
    CHECK(step_texts(run) == std::vector<std::string>{"ok", "", kReplacement});
    CHECK(run.steps.back().finish == FinishReason::Length);
}

TEST_CASE("generation: an incomplete character is flushed as U+FFFD when stopped from outside", "[generation]") {
    Generation gen(gpt2(), silica::test::greedy_options());
    force(gen, gpt2(), pieces({"ok", "\xC3"}));
    const GenerationStep last = gen.stop(FinishReason::ContextFull);
    CHECK(last.text == kReplacement);
    CHECK(last.finish == FinishReason::ContextFull);
}

TEST_CASE("generation: invalid bytes become U+FFFD without waiting", "[generation]") {
    Generation gen(gpt2(), silica::test::greedy_options());
    // A stray continuation byte, then a lead byte followed by a non-continuation.
    const auto run = force(gen, gpt2(), pieces({"a", "\x80", "\xC3", "b"}));
    CHECK(run.text == "a" + kReplacement + kReplacement + "b");
    CHECK(run.steps[1].text == kReplacement);
}
