// The Engine's sequence handles and the errors of its decode().
#include <catch2/catch.hpp>
#include <random>
#include <string>
#include <vector>

#include "silica/engine.h"
#include "silica/error.h"
#include "silica/model.h"
#include "tests/engine/model_test_util.h"

using namespace silica;

TEST_CASE("engine sequences: create, decode, reset, free", "[engine]") {
    auto model = Model::load(test::synthetic_model("gpt2", "q8_0"));
    EngineOptions o;
    o.n_ctx = 32;
    o.n_threads = 2;
    Engine engine(model, o);
    const auto a = engine.create_sequence(), b = engine.create_sequence();
    CHECK(a != b);
    CHECK(engine.n_sequences() == 2);
    const std::vector<int32_t> pa = {1, 2, 3}, pb = {4, 5};
    const Engine::Input step1[] = {{a, pa, true}, {b, pb, false}};
    engine.decode(step1);
    CHECK(engine.n_past(a) == 3);
    CHECK(engine.n_past(b) == 2);
    CHECK(engine.logits(0, 0).size() == static_cast<size_t>(model->params().n_vocab));
    CHECK_NOTHROW(engine.logits(0, 2));
    CHECK_THROWS_AS(engine.logits(1, 1), Error);  // b asked for its last row only
    CHECK_THROWS_AS(engine.logits(2), Error);
    CHECK(engine.kv_cache_bytes() > 0);

    engine.reset_sequence(a);
    CHECK(engine.n_past(a) == 0);
    engine.free_sequence(b);
    CHECK(engine.n_sequences() == 1);
    CHECK_THROWS_AS(engine.n_past(b), Error);
    CHECK_THROWS_AS(engine.free_sequence(b), Error);
    CHECK(engine.create_sequence() != b);  // ids are never reused
}

TEST_CASE("engine decode rejects bad steps without changing any sequence", "[engine]") {
    auto model = Model::load(test::synthetic_model("gpt2", "q8_0"));
    EngineOptions o;
    o.n_ctx = 8;
    Engine engine(model, o);
    const auto a = engine.create_sequence();
    const std::vector<int32_t> ok = {1, 2}, too_long(9, 1), bad_id = {1, -1}, none;
    const Engine::Input twice[] = {{a, ok}, {a, ok}};
    CHECK_THROWS_WITH(engine.decode(twice), Catch::Contains("appears twice"));
    const Engine::Input overflow[] = {{a, too_long}};
    CHECK_THROWS_WITH(engine.decode(overflow), Catch::Contains("context is full"));
    const Engine::Input out_of_range[] = {{a, bad_id}};
    CHECK_THROWS_WITH(engine.decode(out_of_range), Catch::Contains("out of range"));
    const Engine::Input empty[] = {{a, none}};
    CHECK_THROWS_WITH(engine.decode(empty), Catch::Contains("no tokens"));
    const Engine::Input unknown[] = {{a + 1, ok}};
    CHECK_THROWS_WITH(engine.decode(unknown), Catch::Contains("unknown sequence"));
    CHECK(engine.n_past(a) == 0);
}

namespace {

// Logits of `tokens` decoded by a Session in the given pieces (the reference for a sequence).
std::vector<float> session_logits(std::shared_ptr<const Model> model, int64_t n_ctx,
                                  const std::vector<std::vector<int32_t>>& pieces) {
    SessionOptions so;
    so.n_ctx = n_ctx;
    so.n_threads = 2;
    Session session(model, so);
    for (const auto& p : pieces) session.decode(p);
    const auto row = session.logits();
    return {row.begin(), row.end()};
}

std::vector<float> copy(std::span<const float> row) { return {row.begin(), row.end()}; }

}  // namespace

TEST_CASE("forked sequences continue exactly as if each had been decoded alone", "[engine][fork]") {
    // gpt-oss tiny has window-4 layers whose rings wrap past test::kTinyGptOssRingRows
    // positions, so the prompt is longer than that.
    const int64_t oss_ring = test::kTinyGptOssRingRows;
    for (const std::string arch : {"gpt2", "gpt-oss"}) {
        INFO(arch);
        auto model = Model::load(test::synthetic_model(arch, "q8_0"));
        const int64_t n_ctx = arch == "gpt2" ? 96 : oss_ring + 144;
        EngineOptions o;
        o.n_ctx = n_ctx;
        o.n_threads = 2;
        Engine engine(model, o);
        std::vector<int32_t> prompt;
        for (int64_t i = 0; i < (arch == "gpt2" ? 37 : oss_ring + 44); ++i) prompt.push_back((i * 7 + 3) % 200);
        const int64_t n = static_cast<int64_t>(prompt.size());
        const auto a = engine.create_sequence();
        const Engine::Input first[] = {{a, prompt}};
        engine.decode(first);
        const auto b = engine.fork_sequence(a), c = engine.fork_sequence(a);
        CHECK(engine.n_past(b) == n);
        CHECK(std::vector<int32_t>(engine.tokens(c).begin(), engine.tokens(c).end()) == prompt);
        CHECK(engine.kv_pool_usage().shared_blocks > 0);

        // All three continue differently in one step; c with three tokens.
        const std::vector<int32_t> xa = {5}, xb = {6}, xc = {7, 8, 9};
        const Engine::Input step[] = {{a, xa}, {b, xb}, {c, xc}};
        engine.decode(step);
        CHECK(copy(engine.logits(0)) == session_logits(model, n_ctx, {prompt, xa}));
        CHECK(copy(engine.logits(1)) == session_logits(model, n_ctx, {prompt, xb}));
        CHECK(copy(engine.logits(2)) == session_logits(model, n_ctx, {prompt, xc}));

        // A truncated sequence continues as one that never had the dropped tokens.
        const std::vector<int32_t> more = {11, 12};
        const std::vector<int32_t> kept(prompt.begin(), prompt.end() - 2);
        REQUIRE(engine.truncate_sequence(a, n - 2));
        CHECK(engine.n_past(a) == n - 2);
        const Engine::Input again[] = {{a, more}};
        engine.decode(again);
        CHECK(copy(engine.logits(0)) == session_logits(model, n_ctx, {kept, more}));
        // A ring that has wrapped no longer holds the rows a short sequence needs.
        CHECK(engine.truncate_sequence(b, 2) == (arch == "gpt2"));
        CHECK_THROWS_AS(engine.truncate_sequence(c, n + 4), Error);

        for (auto id : {a, b, c}) engine.free_sequence(id);
        const auto u = engine.kv_pool_usage();
        CHECK(u.hot_blocks == 0);
        CHECK(u.warm_blocks == 0);
        CHECK(u.shared_blocks == 0);
        CHECK(engine.kv_cache_bytes() == 0);
    }
}

TEST_CASE("engine pool accounting: random create, fork, decode, truncate and free leak nothing", "[engine][fork]") {
    auto model = Model::load(test::synthetic_model("gpt-oss", "q8_0"));
    EngineOptions o;
    // window-4 layers whose rings wrap
    const int64_t ring = test::kTinyGptOssRingRows;
    o.n_ctx = ring + 64;
    o.n_threads = 1;
    o.kv_hot_tokens = 16;  // the warm tier too
    Engine engine(model, o);
    std::mt19937 rng(5);
    std::vector<Engine::SequenceId> live;
    for (int op = 0; op < 400; ++op) {
        const size_t pick = live.empty() ? 0 : rng() % live.size();
        switch (live.empty() ? 0 : rng() % 5) {
            case 0: live.push_back(engine.create_sequence()); break;
            case 1: live.push_back(engine.fork_sequence(live[pick])); break;
            case 2: {
                const int64_t room = engine.n_ctx() - engine.n_past(live[pick]);
                if (room == 0) break;
                // (up to ring / 6 tokens a step: long-lived sequences wrap their rings)
                std::vector<int32_t> t(static_cast<size_t>(std::min<int64_t>(room, 1 + rng() % (ring / 6))));
                for (auto& x : t) x = static_cast<int32_t>(rng() % 100);
                const Engine::Input in[] = {{live[pick], t}};
                engine.decode(in);
                break;
            }
            case 3: {
                const int64_t n = engine.n_past(live[pick]);
                engine.truncate_sequence(live[pick], n - std::min<int64_t>(n, rng() % 3));
                break;
            }
            default: engine.free_sequence(live[pick]); live.erase(live.begin() + static_cast<std::ptrdiff_t>(pick));
        }
    }
    for (auto id : live) engine.free_sequence(id);
    const auto u = engine.kv_pool_usage();
    CHECK(u.hot_blocks == 0);
    CHECK(u.warm_blocks == 0);
    CHECK(u.shared_blocks == 0);
    CHECK(u.committed_bytes > 0);  // slabs stay for the next sequences
    CHECK(u.committed_bytes <= u.capacity_bytes);
}

TEST_CASE("engine prefix cache: a prompt that starts like an earlier one shares its blocks", "[engine][prefix]") {
    // gpt-oss: rings that wrap past test::kTinyGptOssRingRows tokens
    const int64_t oss_ring = test::kTinyGptOssRingRows;
    for (const std::string arch : {"gpt2", "gpt-oss"}) {
        INFO(arch);
        auto model = Model::load(test::synthetic_model(arch, "q8_0"));
        const int64_t n_ctx = arch == "gpt2" ? 128 : oss_ring + 144;
        EngineOptions o;
        o.n_ctx = n_ctx;
        o.n_threads = 2;
        o.prefix_cache_tokens = 4096;
        Engine engine(model, o);
        std::vector<int32_t> p1;
        for (int64_t i = 0; i < (arch == "gpt2" ? 110 : oss_ring + 70); ++i) p1.push_back((i * 13 + 1) % 300);
        std::vector<int32_t> p2(p1.begin(), p1.end() - 10);  // shares all but the last 10 tokens
        p2.push_back(7);

        const auto a = engine.create_sequence();
        const Engine::Input first[] = {{a, p1}};
        engine.decode(first);
        CHECK(engine.reused_tokens(a) == 0);
        const auto before = engine.kv_pool_usage();
        CHECK(before.prefix_cache_blocks == static_cast<int64_t>(p1.size()) / 32);

        const auto b = engine.create_sequence();
        const Engine::Input second[] = {{b, p2}};
        engine.decode(second);
        const int64_t shared = (static_cast<int64_t>(p2.size()) - 1) / 32 * 32;
        CHECK(engine.reused_tokens(b) == shared);
        CHECK(engine.n_past(b) == static_cast<int64_t>(p2.size()));
        // As a session that evaluated the shared blocks, then the rest (a GPT-2 prefill's rows can
        // differ in the last bits with the chunk they are evaluated in: attention tiles queries).
        const std::vector<int32_t> p2_head(p2.begin(), p2.begin() + shared), p2_tail(p2.begin() + shared, p2.end());
        CHECK(copy(engine.logits(0)) == session_logits(model, n_ctx, {p2_head, p2_tail}));
        CHECK(engine.kv_pool_usage().shared_blocks > 0);

        // Both go on decoding; a's rows are untouched by b's copies of their shared blocks.
        const std::vector<int32_t> next = {9};
        const Engine::Input step[] = {{a, next}, {b, next}};
        engine.decode(step);
        CHECK(copy(engine.logits(0)) == session_logits(model, n_ctx, {p1, next}));
        CHECK(copy(engine.logits(1)) == session_logits(model, n_ctx, {p2_head, p2_tail, next}));

        engine.free_sequence(a);
        engine.free_sequence(b);
        const auto u = engine.kv_pool_usage();
        CHECK(u.prefix_cache_blocks > 0);  // the cache still holds blocks of both prompts
        CHECK(u.hot_blocks > 0);
        CHECK(u.prefix_cache_only_blocks == u.hot_blocks);  // and nothing else does
    }
}

TEST_CASE("engine prefix cache gives way when the pool is full", "[engine][prefix]") {
    auto model = Model::load(test::synthetic_model("gpt2", "q8_0"));
    EngineOptions o;
    o.n_ctx = 128;
    o.n_threads = 1;
    o.prefix_cache_tokens = 100000;
    // Room for a little over two sequences at the full context.
    const uint64_t per_sequence = [&] {
        Engine probe(model, o);
        const auto s = probe.create_sequence();
        const std::vector<int32_t> full(128, 3);
        const Engine::Input in[] = {{s, full}};
        probe.decode(in);
        return probe.kv_pool_usage().committed_bytes;
    }();
    o.kv_pool_bytes = per_sequence * 2;
    Engine engine(model, o);
    // Many different prompts: the cache would keep all of them, the pool cannot.
    for (int32_t p = 0; p < 12; ++p) {
        const auto s = engine.create_sequence();
        const std::vector<int32_t> prompt(120, p);
        const Engine::Input in[] = {{s, prompt}};
        CHECK_NOTHROW(engine.decode(in));
        engine.free_sequence(s);
    }
    const auto u = engine.kv_pool_usage();
    CHECK(u.committed_bytes <= u.capacity_bytes);
    CHECK(u.prefix_cache_blocks < 12 * 3);  // it had to let go of earlier prompts' blocks
}
