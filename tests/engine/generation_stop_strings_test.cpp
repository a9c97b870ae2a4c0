// Stop strings in a Generation: matched across token boundaries, held-back text never emitted
// and then taken back, released when it turns out not to be a stop, flushed at the end.
#include <catch2/catch.hpp>

#include "engine/generation/stop_strings.h"
#include "silica/error.h"
#include "silica/generation.h"
#include "tests/engine/generation_test_util.h"
#include "tests/tokenizer/tokenizer_test_util.h"

using namespace silica;
using silica::test::force;
using silica::test::step_texts;

namespace {

const Tokenizer& gpt2() { return silica::test::gpt2_tokenizer(); }

Generation with_stops(std::vector<std::string> stops, int64_t max_tokens = -1) {
    GenerationOptions o = silica::test::greedy_options();
    o.stop_strings = std::move(stops);
    o.max_tokens = max_tokens;
    return Generation(gpt2(), o);
}

std::vector<int32_t> pieces(const std::vector<std::string>& p) { return silica::test::tokens_of(gpt2(), p); }

}  // namespace

TEST_CASE("generation: a stop string split across tokens ends the answer just before it", "[generation]") {
    Generation gen = with_stops({" STOP"});
    const auto run = force(gen, gpt2(), pieces({"Hello", " wor", "ld", " ST", "OP", " after"}));
    // " ST" could begin " STOP": it is held back, never shown, and dropped once "OP" completes it.
    CHECK(step_texts(run) == std::vector<std::string>{"Hello", " wor", "ld", "", ""});
    CHECK(run.text == "Hello world");
    CHECK(run.steps.back().finish == FinishReason::StopString);
    CHECK(gen.finish_reason() == FinishReason::StopString);
    CHECK(gen.n_generated() == 5);
    CHECK_THROWS_AS(gen.step(silica::test::one_hot(gpt2(), 0)), Error);
}

TEST_CASE("generation: held-back text that is no stop string is released with the next token", "[generation]") {
    Generation gen = with_stops({" STOP"});
    const auto run = force(gen, gpt2(), pieces({"A", " ST", "ART", " ST", "OP"}));
    CHECK(step_texts(run) == std::vector<std::string>{"A", "", " START", "", ""});
    CHECK(run.text == "A START");
    CHECK(run.steps.back().finish == FinishReason::StopString);
}

TEST_CASE("generation: held-back text is flushed when the generation ends otherwise", "[generation]") {
    SECTION("max_tokens") {
        Generation gen = with_stops({" STOP"}, 2);
        const auto run = force(gen, gpt2(), pieces({"A", " ST"}));
        CHECK(step_texts(run) == std::vector<std::string>{"A", " ST"});
        CHECK(run.steps.back().finish == FinishReason::Length);
    }
    SECTION("cancelled") {
        Generation gen = with_stops({" STOP"});
        const auto run = force(gen, gpt2(), pieces({"A", " ST"}));
        CHECK(run.text == "A");
        const GenerationStep last = gen.stop(FinishReason::Cancelled);
        CHECK(last.token == -1);
        CHECK(last.text == " ST");
        CHECK(last.finish == FinishReason::Cancelled);
        // Stopping again changes nothing and releases nothing.
        const GenerationStep again = gen.stop(FinishReason::ContextFull);
        CHECK(again.text.empty());
        CHECK(again.finish == FinishReason::Cancelled);
    }
    SECTION("stop token") {
        Generation gen = with_stops({" STOP"});
        const auto run = force(gen, gpt2(), {gpt2().find_token("A"), gpt2().find_token(" ST"), gpt2().find_token("<|endoftext|>")});
        CHECK(step_texts(run) == std::vector<std::string>{"A", "", " ST"});
        CHECK(run.steps.back().finish == FinishReason::StopToken);
    }
}

TEST_CASE("generation: a stop string inside one token keeps the text before it", "[generation]") {
    Generation gen = with_stops({"ld"});
    const auto run = force(gen, gpt2(), pieces({"Hello", " world", " again"}));
    CHECK(step_texts(run) == std::vector<std::string>{"Hello", " wor"});
    CHECK(run.steps.back().finish == FinishReason::StopString);
}

TEST_CASE("generation: the earliest of several stop strings wins", "[generation]") {
    // "abcd" starts earlier but "bc" is complete first: the answer ends before "bc".
    Generation gen = with_stops({"abcd", "bc"});
    const auto run = force(gen, gpt2(), pieces({"x", "a", "b", "c", "d"}));
    CHECK(run.text == "xa");
    CHECK(run.steps.size() == 4);
    CHECK(run.steps.back().finish == FinishReason::StopString);
}

TEST_CASE("generation: a stop string made of multi-byte characters split across byte tokens", "[generation]") {
    // "é" is C3 A9, "ü" is C3 BC: each byte is a token of its own.
    Generation gen = with_stops({"é!"});
    const auto run = force(gen, gpt2(), pieces({"a", "\xC3", "\xA9", "\xC3", "\xBC", "\xC3", "\xA9", "!", "?"}));
    CHECK(step_texts(run) == std::vector<std::string>{"a", "", "", "", "éü", "", "", ""});
    CHECK(run.text == "aéü");
    CHECK(run.steps.back().finish == FinishReason::StopString);
}

TEST_CASE("generation: a stop string at the very start leaves an empty answer", "[generation]") {
    Generation gen = with_stops({"Hello"});
    const auto run = force(gen, gpt2(), pieces({"Hello", " world"}));
    CHECK(run.steps.size() == 1);
    CHECK(run.text.empty());
    CHECK(run.steps.back().finish == FinishReason::StopString);
}

TEST_CASE("generation: empty or non-UTF-8 stop strings are rejected", "[generation]") {
    CHECK_THROWS_WITH(with_stops({""}), "a stop string must not be empty");
    CHECK_THROWS_WITH(with_stops({"ok", "\xFF"}), "a stop string is not valid UTF-8");
}

TEST_CASE("generation: the stop-string matcher holds back only possible starts", "[generation]") {
    generation::StopStringMatcher m({"<end>", "##"});
    CHECK(m.push("a <e").text == "a ");  // "<e" may start "<end>"
    CHECK(m.push("x#").text == "<ex");   // "#" may start "##"
    const auto r = m.push("#tail");
    CHECK(r.stopped);
    CHECK(r.text.empty());
    CHECK(m.push("more").text.empty());  // nothing after a match
    CHECK(m.flush().empty());
    generation::StopStringMatcher n({"<end>"});
    CHECK(n.push("a <en").text == "a ");
    CHECK(n.flush() == "<en");
}
