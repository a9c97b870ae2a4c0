// Speculative decoding (include/silica/speculative.h): greedy output identical to the plain loop
// for both proposers, the rejection rule's distribution, reproducible sampling, stops, KV
// truncation of both caches, the adaptive switch, the n-gram index and bad options.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <vector>

#include "engine/generation/draft_proposer.h"
#include "kernels/amx.h"
#include "kernels/matmul_f16_amx.h"
#include "silica/error.h"
#include "silica/generation.h"
#include "silica/model.h"
#include "silica/sampler.h"
#include "silica/session.h"
#include "silica/speculative.h"
#include "silica/tokenizer.h"
#include "tests/kernel_switches.h"
#include "tests/engine/model_test_util.h"

using namespace silica;

namespace {

std::shared_ptr<Model> tiny(const std::string& wtype = "q8_0", uint64_t seed = 1) {
    static std::map<std::string, std::shared_ptr<Model>> models;
    const std::string key = wtype + "/" + std::to_string(seed);
    auto& m = models[key];
    if (!m) m = Model::load(test::synthetic_model("gpt2", wtype, seed));
    return m;
}

std::shared_ptr<Model> trained_draft() {
    static const auto m = Model::load(std::string(SILICA_SOURCE_DIR) + "/models/silica-brown-draft-q4_k_m.gguf");
    return m;
}

SessionOptions small_ctx(int64_t n_ctx = 128) {
    SessionOptions o;
    o.n_ctx = n_ctx;
    return o;
}

GenerationOptions greedy(int64_t max_tokens) {
    GenerationOptions o;
    o.sampling.temperature = 0.0f;
    o.max_tokens = max_tokens;
    o.stop_at_end_of_generation = false;
    return o;
}

// A prompt that repeats itself, so n-gram lookup has matches to propose.
std::vector<int32_t> repetitive_prompt(int salt, int64_t n_vocab) {
    auto base = test::token_sequence(12, salt, n_vocab);
    std::vector<int32_t> p = base;
    p.insert(p.end(), base.begin(), base.end());
    p.insert(p.end(), base.begin(), base.begin() + 5);
    return p;
}

SpeculativeOptions lookup_options(int k = 4) {
    SpeculativeOptions s;
    s.lookup = true;
    s.min_ngram = 1;
    s.draft_max = k;
    s.adaptive = false;
    return s;
}

}  // namespace

TEST_CASE("speculative: greedy lookup and draft give the plain loop's tokens and text", "[speculative]") {
    for (const std::string wtype : {"q8_0", "f16", "q4_K"}) {
        const auto model = tiny(wtype);
        const auto draft_same = tiny(wtype);      // proposals the target accepts
        const auto draft_other = tiny("q8_0", 2);  // mostly rejected
        for (int salt = 0; salt < 4; ++salt) {
            const auto prompt = repetitive_prompt(salt, model->tokenizer().n_vocab());
            Session plain(model, small_ctx());
            const auto expected = generate(plain, prompt, greedy(40));
            for (int proposer = 0; proposer < 3; ++proposer) {
                INFO(wtype << " prompt " << salt << " proposer " << proposer);
                Session target(model, small_ctx());
                Session draft(proposer == 1 ? draft_same : draft_other, small_ctx());
                SpeculativeOptions s = lookup_options(1 + salt * 2);
                if (proposer > 0) {
                    s.lookup = false;
                    s.draft = &draft;
                    s.draft_p_min = 0.0f;
                }
                const auto got = generate_speculative(target, prompt, greedy(40), s);
                CHECK(got.tokens == expected.tokens);
                CHECK(got.text == expected.text);
                CHECK(got.finish == expected.finish);
                CHECK(got.stats.verify_passes > 0);
                if (proposer == 1) CHECK(got.stats.acceptance() == 1.0);
                // The target's cache holds exactly what the plain loop's does.
                CHECK(std::equal(target.tokens().begin(), target.tokens().end(), plain.tokens().begin(),
                                 plain.tokens().end()));
                if (proposer > 0) {  // the draft's cache was cut back to a prefix of the text
                    const auto t = draft.tokens();
                    CHECK(t.size() <= plain.tokens().size() + 1);
                    CHECK(std::equal(t.begin(), t.begin() + std::min(t.size(), plain.tokens().size()),
                                     plain.tokens().begin()));
                }
            }
        }
    }
}

TEST_CASE("speculative: greedy output of the trained model is the plain loop's, with its trained draft", "[speculative]") {
    const auto target_model = Model::load(std::string(SILICA_SOURCE_DIR) + "/models/silica-brown-18m-q4_k_m.gguf");
    const std::vector<std::string> prompts = {
        "The jury said it did not know the city's plans, and the jury said",
        "He walked to the window. She walked to the door. He walked to the",
        "In the first year of the program, the state spent"};
    for (const auto& text : prompts) {
        const auto prompt = target_model->tokenizer().encode(text, false);
        Session plain(target_model, small_ctx(256));
        const auto expected = generate(plain, prompt, greedy(48));
        for (int proposer = 0; proposer < 2; ++proposer) {
            INFO(text << " proposer " << proposer);
            Session target(target_model, small_ctx(256)), draft(trained_draft(), small_ctx(256));
            SpeculativeOptions s = lookup_options(6);
            if (proposer == 1) {
                s.lookup = false;
                s.draft = &draft;
                s.draft_p_min = 0.2f;
            }
            const auto got = generate_speculative(target, prompt, greedy(48), s);
            CHECK(got.tokens == expected.tokens);
            CHECK(got.text == expected.text);
            CHECK(got.stats.accepted > 0);
        }
    }
}

TEST_CASE("speculative: greedy drafts on GPT-OSS (sliding-window layers) give the plain loop's tokens", "[speculative]") {
    // GPT-OSS's window layers keep rings: dropping rejected rows must still work there. Drafts:
    // the model itself (all accepted) and another seed's weights (mostly rejected).
    const auto model = Model::load(test::synthetic_model("gpt-oss", "q8_0"));
    const auto other = Model::load(test::synthetic_model("gpt-oss", "q8_0", 2));
    const auto prompt = repetitive_prompt(1, model->tokenizer().n_vocab());
    Session plain(model, small_ctx());
    const auto expected = generate(plain, prompt, greedy(32));
    for (const auto& d : {model, other}) {
        Session target(model, small_ctx()), draft(d, small_ctx());
        SpeculativeOptions s;
        s.draft = &draft;
        s.draft_p_min = 0.0f;
        s.draft_max = 5;
        s.adaptive = false;
        const auto got = generate_speculative(target, prompt, greedy(32), s);
        CHECK(got.tokens == expected.tokens);
        CHECK(got.stats.verify_passes > 0);
        if (d == model) CHECK(got.stats.acceptance() == 1.0);
        CHECK(std::equal(target.tokens().begin(), target.tokens().end(), plain.tokens().begin(), plain.tokens().end()));
    }
}

TEST_CASE("speculative: a verify pass's rows are bit-identical to single steps", "[speculative]") {
    // The exactness above rests on this (batch invariance over the rows of one sequence), for
    // passes up to the longest a verify can be: 1 + 64 proposals (kernels::kDecodeExactChunkTokens).
    struct Case {
        const char* arch;
        std::string wtype;
    };
    std::vector<Case> cases;
    for (const char* w : {"q8_0", "q4_0", "q4_K", "q6_K", "f16", "bf16", "f32"}) cases.push_back({"gpt2", w});
    for (const char* w : {"q8_0", "f16"}) cases.push_back({"gpt-oss", w});  // head size 32, sliding-window layers
    for (const Case& c : cases)
        for (int64_t n_next : {6, 12, 65}) {
            INFO(c.arch << " " << c.wtype << ", " << n_next << " tokens in the pass");
            const auto model = c.arch == std::string("gpt2") ? tiny(c.wtype)
                                                              : Model::load(test::synthetic_model(c.arch, c.wtype));
            const auto prompt = test::token_sequence(20, 3, model->tokenizer().n_vocab());
            const auto next = test::token_sequence(n_next, 4, model->tokenizer().n_vocab());
            // The documented exception (docs/DESIGN.md): F16 passes of kF16AmxMinRows rows or more
            // take the split-precision AMX-BF16 GEMM where the CPU has it, which rounds
            // differently from single steps. The rest of the pass must still be exact.
            const bool amx_bf16_pass =
                c.wtype == "f16" && n_next >= kernels::kF16AmxMinRows && kernels::active_amx_bf16();
            const test::ExceptionKernelsOff exact(/*amx=*/amx_bf16_pass, /*onednn=*/false);
            Session a(model, small_ctx()), b(model, small_ctx());
            a.decode(prompt);
            b.decode(prompt);
            a.decode(next, true);
            for (size_t i = 0; i < next.size(); ++i) {
                b.decode(std::span<const int32_t>(&next[i], 1));
                const auto ra = a.logits(static_cast<int64_t>(i)), rb = b.logits();
                CHECK(std::equal(ra.begin(), ra.end(), rb.begin(), rb.end()));
            }
        }
}

TEST_CASE("speculative: stop strings and max_tokens end where the plain loop ends", "[speculative]") {
    const auto model = tiny();
    const auto prompt = repetitive_prompt(1, model->tokenizer().n_vocab());
    Session plain(model, small_ctx());
    const auto full = generate(plain, prompt, greedy(30));
    REQUIRE(full.text.size() > 20);
    GenerationOptions o = greedy(30);
    o.stop_strings = {full.text.substr(10, 3)};
    Session p2(model, small_ctx());
    const auto expected = generate(p2, prompt, o);
    REQUIRE(expected.finish == FinishReason::StopString);
    for (int k : {1, 3, 8}) {
        Session target(model, small_ctx());
        const auto got = generate_speculative(target, prompt, o, lookup_options(k));
        CHECK(got.text == expected.text);
        CHECK(got.tokens == expected.tokens);
        CHECK(got.finish == FinishReason::StopString);
        Session t2(model, small_ctx());
        const auto len = generate_speculative(t2, prompt, greedy(7), lookup_options(k));
        CHECK(len.tokens.size() == 7);
        CHECK(len.finish == FinishReason::Length);
        CHECK(t2.n_past() == static_cast<int64_t>(prompt.size()) + 6);
    }
    // A full context: the same tokens and finish as the plain loop.
    Session pc(model, small_ctx(64)), tc(model, small_ctx(64));
    const auto e = generate(pc, prompt, greedy(-1));
    const auto g = generate_speculative(tc, prompt, greedy(-1), lookup_options(8));
    CHECK(e.finish == FinishReason::ContextFull);
    CHECK(g.finish == FinishReason::ContextFull);
    CHECK(g.tokens == e.tokens);
    CHECK(g.text == e.text);
}

TEST_CASE("speculative: the rejection rule draws from the sampler's distribution", "[speculative]") {
    // A 6-token row; the proposal is accepted with probability p(proposed), else redrawn from the
    // rest. Chi-square against p over many draws, for a likely and an unlikely proposal.
    const std::vector<float> logits = {1.0f, 0.2f, -0.5f, 2.0f, 0.0f, 1.5f};
    SamplerOptions so;
    so.temperature = 1.0f;
    so.top_k = 0;
    so.top_p = 1.0f;
    so.min_p = 0.0f;
    so.seed = 5;
    for (int32_t proposed : {3, 2}) {
        Sampler s(so);
        const auto dist = s.distribution(logits);
        std::vector<double> p(logits.size());
        for (const auto& d : dist) p[static_cast<size_t>(d.token)] = d.probability;
        const int n = 40000;
        std::vector<int> count(logits.size());
        for (int i = 0; i < n; ++i) ++count[static_cast<size_t>(s.sample_proposed(logits, proposed))];
        double chi2 = 0.0;
        for (size_t t = 0; t < p.size(); ++t) chi2 += (count[t] - n * p[t]) * (count[t] - n * p[t]) / (n * p[t]);
        INFO("proposed " << proposed << " chi2 " << chi2);
        CHECK(chi2 < 20.5);  // 5 degrees of freedom: p = 0.001
    }
}

TEST_CASE("speculative: sampled output has the target's distribution; same seed, same text", "[speculative]") {
    // The first two generated tokens over many seeds (the second one is always a checked draft
    // proposal), against the exact joint distribution p(t1) p(t2 | t1) from the sampler.
    const auto model = tiny();
    const std::vector<int32_t> prompt = {464, 3290, 318};
    GenerationOptions o;
    o.sampling.temperature = 1.0f;
    o.sampling.top_k = 4;
    o.sampling.top_p = 1.0f;
    o.sampling.min_p = 0.0f;
    o.max_tokens = 3;
    o.stop_at_end_of_generation = false;

    std::map<std::pair<int32_t, int32_t>, double> expected;
    {
        Session s(model, small_ctx());
        s.decode(prompt);
        Sampler sampler(o.sampling);
        for (const auto& a : sampler.distribution(s.logits())) {
            Session s2(model, small_ctx());
            std::vector<int32_t> p2 = prompt;
            p2.push_back(a.token);
            s2.decode(p2);
            for (const auto& b : sampler.distribution(s2.logits())) expected[{a.token, b.token}] = a.probability * b.probability;
        }
    }
    const int n = 1200;
    std::map<std::pair<int32_t, int32_t>, int> count;
    Session target(model, small_ctx()), draft(model, small_ctx());
    for (int i = 0; i < n; ++i) {
        target.reset();
        o.sampling.seed = static_cast<uint64_t>(1000 + i);
        SpeculativeOptions s;
        s.draft = &draft;  // the target's own weights: its greedy token, accepted with p(token)
        s.draft_p_min = 0.0f;
        s.adaptive = false;
        const auto r = generate_speculative(target, prompt, o, s);
        REQUIRE(r.tokens.size() == 3);
        ++count[{r.tokens[0], r.tokens[1]}];
    }
    double chi2 = 0.0;
    for (const auto& [cell, p] : expected) {
        const double e = n * p, c = count.count(cell) ? count[cell] : 0;
        chi2 += (c - e) * (c - e) / e;
    }
    int outside = 0;
    for (const auto& [cell, c] : count) outside += expected.count(cell) ? 0 : c;
    CHECK(outside == 0);
    INFO("chi2 " << chi2 << " over " << expected.size() << " cells");
    CHECK(chi2 < 37.7);  // at most 15 degrees of freedom: p = 0.001

    // Reproducible: the same seed gives the same tokens and text.
    o.max_tokens = 24;
    o.sampling.seed = 77;
    SpeculativeOptions s = lookup_options(4);
    Session a(model, small_ctx()), b(model, small_ctx());
    const auto prompt2 = repetitive_prompt(2, model->tokenizer().n_vocab());
    const auto ra = generate_speculative(a, prompt2, o, s), rb = generate_speculative(b, prompt2, o, s);
    CHECK(ra.tokens == rb.tokens);
    CHECK(ra.text == rb.text);
}

TEST_CASE("speculative: the adaptive switch turns off proposals that keep failing", "[speculative]") {
    const auto model = tiny();
    const auto prompt = repetitive_prompt(0, model->tokenizer().n_vocab());
    Session plain(model, small_ctx());
    const auto expected = generate(plain, prompt, greedy(60));
    // The trained draft (English) against a random model (which mostly repeats its input): the
    // proposals are nearly all rejected.
    Session target(model, small_ctx()), draft(trained_draft(), small_ctx());
    SpeculativeOptions s;
    s.draft = &draft;
    s.draft_p_min = 0.0f;
    s.draft_max = 4;
    s.off_tokens = 10;
    s.measure_costs = false;  // the configured costs: the same choices on every machine
    const auto on = generate_speculative(target, prompt, greedy(60), s);
    CHECK(on.tokens == expected.tokens);
    CHECK(on.stats.switched_off >= 2);    // off, tried again, off again
    CHECK(on.stats.plain_steps >= 20);
    CHECK(on.stats.acceptance() < 0.5);
    s.adaptive = false;
    Session t2(model, small_ctx());
    const auto off = generate_speculative(t2, prompt, greedy(60), s);
    CHECK(off.tokens == expected.tokens);
    CHECK(off.stats.switched_off == 0);
    CHECK(off.stats.verify_passes > on.stats.verify_passes);

    // The choice of k follows the cost: proposals that are all accepted (the target as its own
    // draft) keep k at draft_max when verifying is cheap, and switch off when it is dearer than
    // what they bring.
    Session t3(model, small_ctx()), same(model, small_ctx());
    SpeculativeOptions cheap;
    cheap.draft = &same;
    cheap.draft_p_min = 0.0f;
    cheap.draft_max = 4;
    cheap.verify_cost_per_token = 0.1f;
    cheap.draft_cost_per_token = 0.0f;  // as if free: the test is about the verify cost
    cheap.measure_costs = false;
    const auto good = generate_speculative(t3, prompt, greedy(40), cheap);
    CHECK(good.tokens == std::vector<int32_t>(expected.tokens.begin(), expected.tokens.begin() + 40));
    CHECK(good.stats.switched_off == 0);
    CHECK(good.stats.mean_accepted() > 3.0);
    Session t4(model, small_ctx());
    same.reset();
    cheap.verify_cost_per_token = 2.0f;  // k proposals cost more than the k tokens they can bring
    const auto dear = generate_speculative(t4, prompt, greedy(40), cheap);
    CHECK(dear.tokens == good.tokens);
    CHECK(dear.stats.verify_passes == 0);
    CHECK(dear.stats.switched_off >= 1);
}

TEST_CASE("speculative: n-gram lookup proposes what followed the longest recent match", "[speculative]") {
    NgramLookup l(1, 3, 1000);
    std::vector<int32_t> t = {1, 2, 3, 4, 9, 2, 3, 5, 7, 1, 2, 3};
    l.update(t);
    // Suffix "1 2 3" last occurred at 0..2 and was followed by 4 9 2 3 5.
    CHECK(l.propose(t, 5) == std::vector<int32_t>{4, 9, 2, 3, 5});
    t.push_back(8);  // "3 8": no match of 3 or 2; "8" never seen
    l.update(t);
    CHECK(l.propose(t, 4).empty());
    t.push_back(5);  // "5" was followed by 7
    l.update(t);
    CHECK(l.propose(t, 4) == std::vector<int32_t>{7, 1, 2, 3});
    CHECK(l.propose(t, 2) == std::vector<int32_t>{7, 1});
    // A match that runs into the present continues as a loop of its period.
    NgramLookup periodic(1, 3, 1000);
    const std::vector<int32_t> loop = {4, 5, 6, 5, 6, 5};
    periodic.update(loop);
    CHECK(periodic.propose(loop, 5) == std::vector<int32_t>{6, 5, 6, 5, 6});
    // Proposals stop (after the first) at an n-gram whose last two followers differ: "1 2" was
    // followed by 3, then by 4.
    NgramLookup fickle(1, 2, 1000);
    const std::vector<int32_t> forked = {9, 1, 2, 3, 9, 1, 2, 4, 8, 9};
    fickle.update(forked);
    CHECK(fickle.propose(forked, 5) == std::vector<int32_t>{1, 2});
    NgramLookup steady(1, 2, 1000);
    const std::vector<int32_t> same = {9, 1, 2, 3, 9, 1, 2, 3, 8, 9};  // "2 3": 9, then 8
    steady.update(same);
    CHECK(steady.propose(same, 5) == std::vector<int32_t>{1, 2, 3});
    // Bounded: no table grows past its limit.
    NgramLookup small(2, 2, 4);
    std::vector<int32_t> many;
    for (int i = 0; i < 50; ++i) many.push_back(i);
    small.update(many);
    CHECK(small.entries() <= 4);
    CHECK_THROWS_AS(NgramLookup(0, 2, 10), Error);
    CHECK_THROWS_AS(NgramLookup(3, 2, 10), Error);
}

TEST_CASE("speculative: bad options are clear errors", "[speculative]") {
    const auto model = tiny();
    const std::vector<int32_t> prompt = {464, 3290, 318};
    Session target(model, small_ctx());
    SpeculativeOptions none;
    CHECK_THROWS_WITH(generate_speculative(target, prompt, greedy(4), none), Catch::Contains("exactly one proposer"));
    SpeculativeOptions bad_k = lookup_options(0);
    CHECK_THROWS_WITH(generate_speculative(target, prompt, greedy(4), bad_k), Catch::Contains("draft-max"));
    const auto oss = Model::load(test::synthetic_model("gpt-oss", "q8_0"));
    Session other(oss, small_ctx());
    SpeculativeOptions s;
    s.draft = &other;
    try {
        generate_speculative(target, prompt, greedy(4), s);
        FAIL("no error");
    } catch (const Error& e) {
        const std::string m = e.what();
        CHECK(m.find(std::to_string(oss->tokenizer().n_vocab())) != std::string::npos);
        CHECK(m.find(std::to_string(model->tokenizer().n_vocab())) != std::string::npos);
    }
}

TEST_CASE("speculative: a cap the lookup does not reach costs nothing",
          "[speculative]") {
    // Every round makes 2 proposals whatever the cap, both kept: at a high cost per proposal the
    // cap stays where it was (pricing k = 8 as 8 proposals would pick k = 2).
    AdaptiveDraftLength a(true, 0.6, 8);
    for (int round = 0; round < 20; ++round) {
        const int k = a.choose(8);
        REQUIRE(k > 0);
        const int made = std::min(k, 2);
        a.offered(k, made);
        a.verified(made, made);
    }
    CHECK(a.choose(8) > 2);
    // A lookup that finds nothing costs nothing (a plain step): it stays on.
    AdaptiveDraftLength b(true, 0.1, 8);
    for (int round = 0; round < 50; ++round) {
        REQUIRE(b.choose(8) > 0);
        b.offered(8, 0);
        b.plain_step();
    }
    CHECK(b.switched_off() == 0);
}

TEST_CASE("speculative: the adaptive draft length backs off from proposers that never pay", "[speculative]") {
    AdaptiveDraftLength a(true, 0.1, 8);
    CHECK(a.choose(4) == 4);  // starts optimistic
    // A draft that never proposes anything: off within two rounds.
    int rounds = 0;
    while (a.choose(4) > 0 && rounds < 100) {
        a.empty_round();
        ++rounds;
    }
    CHECK(rounds <= 2);
    CHECK(a.switched_off() == 1);
    // Off for 8 plain steps, then tried again; the next switch-off lasts 16, then 32.
    auto off_steps = [&] {
        int n = 0;
        while (a.choose(4) == 0 && n < 10000) {
            a.plain_step();
            ++n;
        }
        return n;
    };
    CHECK(off_steps() == 8);
    for (int expected : {16, 32}) {
        while (a.choose(4) > 0) a.verified(4, 0);  // proposals all rejected
        CHECK(off_steps() == expected);
    }
    // A kept proposal resets the period.
    a.verified(4, 4);
    while (a.choose(4) > 0) a.verified(4, 0);
    CHECK(off_steps() == 8);
    // Never more than 32 × off_tokens.
    for (int i = 0; i < 10; ++i) {
        while (a.choose(4) > 0) a.verified(4, 0);
        CHECK(off_steps() <= 8 * 32);
    }
    // A draft that never proposes a single token: tried once more after its first switch-off,
    // then off for the rest of the generation.
    AdaptiveDraftLength never(true, 0.1, 8);
    int asked = 0;
    for (int step = 0; step < 5000; ++step) {
        if (never.choose(4) > 0) {
            ++asked;
            never.empty_round();
        } else {
            never.plain_step();
        }
    }
    CHECK(never.switched_off() == 2);
    CHECK(asked <= 4);
    // The proposer's cost counts: with every other first proposal kept, k = 1 yields 1.5 tokens
    // per pass, worth it when a proposal costs 0.1 + 0 steps, not when a draft adds 0.5 per proposal.
    for (double proposal_cost : {0.0, 0.5}) {
        AdaptiveDraftLength b(true, 0.1, 8, proposal_cost);
        for (int i = 0; i < 40; ++i) b.verified(1, i % 2);
        CHECK((b.choose(4) > 0) == (proposal_cost == 0.0));
    }
    // Kept proposals come in runs: when a pass either keeps all 8 or rejects the first (60% of
    // passes keep all), the depths after the first are always kept, and k = 8 yields
    // 1 + 0.6 * 8 = 5.8 tokens for 1.8 steps. One acceptance rate (60%) would have chosen k = 3
    // (2.18 tokens for 1.3 steps: 1.67 per step against 3.2).
    {
        AdaptiveDraftLength runs(true, 0.1, 8);
        for (int i = 0; i < 200; ++i) runs.verified(8, i % 5 < 3 ? 8 : 0);
        CHECK(runs.choose(8) == 8);
        // and a pass that keeps 2 of 8 lowers depth 3's estimate, not depths 1 and 2
        AdaptiveDraftLength d(true, 0.1, 8);
        for (int i = 0; i < 40; ++i) d.verified(8, 2);
        CHECK(d.choose(8) == 2);
    }
    // Measured costs: a plain step is timed first, then rounds price the proposals.
    for (double round_steps : {1.5, 6.0}) {  // 4 proposals at 0.125 or 1.25 steps each
        AdaptiveDraftLength m(true, 0.1, 8);
        m.measure_costs();
        CHECK(m.choose(4) == 0);  // nothing timed yet
        m.plain_step();
        m.timed_plain_step(0.010);
        for (int round = 0; round < 3; ++round) {
            CHECK(m.proposal_cost_now() == Approx(0.1));  // configured until 3 rounds are timed
            REQUIRE(m.choose(4) == 4);
            m.verified(4, 3);
            m.timed_round(4, 0.010 * round_steps);
        }
        CHECK(m.proposal_cost_now() == Approx((round_steps - 1.0) / 4));
        // 3 of 4 kept: worth it at 0.125 steps a proposal, not at 1.25.
        CHECK((m.choose(4) > 0) == (round_steps < 2.0));
    }
    // Timings are medians of the last few: one round slowed 20-fold (a page fault, the OS taking a
    // core) leaves the cost and k where they were; a moving average had switched speculation off.
    {
        AdaptiveDraftLength m(true, 0.1, 8);
        m.measure_costs();
        for (int step = 0; step < 3; ++step) m.timed_plain_step(0.010);
        auto round = [&](double seconds) {
            REQUIRE(m.choose(8) == 8);
            m.verified(8, 8);
            m.timed_round(8, seconds);
        };
        for (int i = 0; i < 5; ++i) round(0.020);  // 8 proposals for 1 more step: 0.125 each
        round(0.400);
        CHECK(m.proposal_cost_now() == Approx(0.125));
        CHECK(m.choose(8) == 8);
        // and a slow plain step does not make rounds look cheap
        m.timed_plain_step(0.200);
        round(0.020);
        CHECK(m.proposal_cost_now() == Approx(0.125));
    }
    // A switch-off for cost is not for good: after the off period the configured cost holds again
    // until new rounds are timed (the cost that switched it off would otherwise do so at once,
    // every time).
    {
        AdaptiveDraftLength m(true, 0.1, 8);
        m.measure_costs();
        m.timed_plain_step(0.010);
        int rounds = 0;
        while (m.choose(4) > 0 && rounds < 100) {
            m.verified(4, 2);
            m.timed_round(4, 0.100);  // 2.25 steps per proposal: never pays
            ++rounds;
        }
        CHECK(rounds == 3);
        CHECK(m.switched_off() == 1);
        int off = 0;
        while (m.choose(4) == 0 && off < 1000) {
            m.plain_step();
            ++off;
        }
        CHECK(off == 8);
        CHECK(m.proposal_cost_now() == Approx(0.1));
    }
    // Not adaptive: always k_max.
    AdaptiveDraftLength fixed(false, 0.1, 8);
    fixed.empty_round();
    CHECK(fixed.choose(5) == 5);
}

TEST_CASE("speculative: a draft's guess is offered only when its probability reaches p_min", "[speculative]") {
    using generation::confident_top_token;
    // Three equal logits and the rest far below: the top token (lowest id of the three) has p = 1/3.
    std::vector<float> logits(50257, -40.0f);
    logits[7] = logits[9] = logits[300] = 2.5f;
    CHECK(confident_top_token(logits, 0.30f) == 7);
    CHECK(!confident_top_token(logits, 0.34f));
    CHECK(confident_top_token(logits, 0.0f) == 7);
    // A peaked distribution over the whole vocabulary, checked against the probability in double.
    std::mt19937 rng(5);
    std::normal_distribution<float> normal(0.0f, 2.0f);
    for (float& l : logits) l = normal(rng);
    logits[1234] = 12.0f;
    double sum = 0.0;
    for (float l : logits) sum += std::exp(static_cast<double>(l) - 12.0);
    const double p = 1.0 / sum;
    INFO("p " << p);
    REQUIRE(p > 0.01);
    REQUIRE(p < 0.99);
    CHECK(confident_top_token(logits, static_cast<float>(p * 0.999)) == 1234);
    CHECK(!confident_top_token(logits, static_cast<float>(p * 1.001)));
    CHECK(!confident_top_token({}, 0.0f));
}
