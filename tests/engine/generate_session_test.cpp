// silica::generate, the generation loop over one Session, on a tiny synthetic GPT-2: the same
// tokens as a hand-written loop, and each way it can finish.
#include <catch2/catch.hpp>

#include <atomic>

#include "silica/error.h"
#include "silica/generation.h"
#include "silica/model.h"
#include "silica/sampler.h"
#include "silica/session.h"
#include "tests/engine/model_test_util.h"

using namespace silica;

namespace {

std::shared_ptr<Model> tiny_model() {
    static const auto model = Model::load(silica::test::synthetic_model("gpt2", "q8_0"));
    return model;
}

const std::vector<int32_t> kPrompt = {464, 3290, 318};

GenerationOptions options(float temperature, int64_t max_tokens) {
    GenerationOptions o;
    o.sampling.temperature = temperature;
    o.sampling.seed = 11;
    o.max_tokens = max_tokens;
    o.stop_at_end_of_generation = false;  // random weights may well say <|endoftext|>
    return o;
}

// The loop every app used to write: sample, accept, decode.
std::vector<int32_t> hand_loop(const SamplerOptions& so, int n) {
    Session s(tiny_model());
    s.decode(kPrompt);
    Sampler sampler(so);
    for (int32_t t : kPrompt) sampler.accept(t);
    std::vector<int32_t> out;
    for (int i = 0; i < n; ++i) {
        out.push_back(sampler.sample(s.logits()));
        sampler.accept(out.back());
        s.decode(std::span<const int32_t>(&out.back(), 1));
    }
    return out;
}

// A few whole characters from the middle of `text`, as a stop string.
std::string middle_piece(const std::string& text) {
    auto boundary = [&](size_t i) {
        while (i < text.size() && (static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) ++i;
        return i;
    };
    const size_t begin = boundary(text.size() / 2), end = boundary(begin + 4);
    return text.substr(begin, end - begin);
}

}  // namespace

TEST_CASE("generation: generate() gives the tokens of the hand-written loop", "[generation]") {
    for (float temperature : {0.0f, 1.0f}) {
        INFO("temperature " << temperature);
        const GenerationOptions o = options(temperature, 12);
        Session s(tiny_model());
        int calls = 0;
        const GenerationResult r = generate(s, kPrompt, o, [&](const GenerationStep&) { return ++calls > 0; });
        CHECK(r.tokens == hand_loop(o.sampling, 12));
        CHECK(calls == 12);
        CHECK(r.finish == FinishReason::Length);
        // Every token but the last is in the session.
        CHECK(s.n_past() == static_cast<int64_t>(kPrompt.size()) + 11);
        std::vector<int32_t> all(kPrompt);
        all.insert(all.end(), r.tokens.begin(), r.tokens.end() - 1);
        CHECK(std::vector<int32_t>(s.tokens().begin(), s.tokens().end()) == all);
        CHECK(r.time_to_first_token <= r.seconds);
    }
}

TEST_CASE("generation: generate() continues from a session that already has logits", "[generation]") {
    Session s(tiny_model());
    s.decode(kPrompt);
    const GenerationResult r = generate(s, {}, options(0.0f, 5));
    CHECK(r.tokens == hand_loop(options(0.0f, 5).sampling, 5));
    Session empty(tiny_model());
    CHECK_THROWS_AS(generate(empty, {}, options(0.0f, 5)), Error);
}

TEST_CASE("generation: generate() stops when the context is full", "[generation]") {
    SessionOptions so;
    so.n_ctx = 8;
    Session s(tiny_model(), so);
    std::vector<GenerationStep> steps;
    const GenerationResult r = generate(s, kPrompt, options(0.0f, 100), [&](const GenerationStep& step) {
        steps.push_back(step);
        return true;
    });
    // Five tokens fill positions 3..7; the sixth is shown but has no room.
    CHECK(r.finish == FinishReason::ContextFull);
    CHECK(r.tokens.size() == 6);
    CHECK(s.n_past() == 8);
    REQUIRE(steps.size() == 7);
    CHECK(steps.back().token == -1);
    CHECK(steps.back().finish == FinishReason::ContextFull);
}

TEST_CASE("generation: generate() is cancelled by its callback or a flag", "[generation]") {
    Session s(tiny_model());
    int calls = 0;
    const GenerationResult by_callback =
        generate(s, kPrompt, options(0.0f, 100), [&](const GenerationStep&) { return ++calls < 3; });
    CHECK(by_callback.finish == FinishReason::Cancelled);
    CHECK(by_callback.tokens.size() == 3);
    CHECK(calls == 4);  // three tokens, then the final step

    Session t(tiny_model());
    std::atomic<bool> cancel{true};
    const GenerationResult by_flag = generate(t, kPrompt, options(0.0f, 100), {}, &cancel);
    CHECK(by_flag.finish == FinishReason::Cancelled);
    CHECK(by_flag.tokens.empty());
    CHECK(t.n_past() == static_cast<int64_t>(kPrompt.size()));
}

TEST_CASE("generation: generate() honours stop tokens and stop strings", "[generation]") {
    Session s(tiny_model());
    const GenerationResult full = generate(s, kPrompt, options(0.0f, 24));
    REQUIRE(full.tokens.size() == 24);

    GenerationOptions o = options(0.0f, 24);
    o.stop_tokens = {full.tokens[5]};
    Session t(tiny_model());
    const GenerationResult stopped = generate(t, kPrompt, o);
    const auto first = std::find(full.tokens.begin(), full.tokens.end(), full.tokens[5]) - full.tokens.begin();
    CHECK(stopped.finish == FinishReason::StopToken);
    CHECK(stopped.tokens.size() == static_cast<size_t>(first) + 1);

    const std::string stop = middle_piece(full.text);
    REQUIRE_FALSE(stop.empty());
    o = options(0.0f, 24);
    o.stop_strings = {stop};
    Session u(tiny_model());
    const GenerationResult cut = generate(u, kPrompt, o);
    CHECK(cut.finish == FinishReason::StopString);
    CHECK(cut.text == full.text.substr(0, full.text.find(stop)));
}
