// The Engine's sequence handles and the errors of its decode().
#include <catch2/catch.hpp>
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
