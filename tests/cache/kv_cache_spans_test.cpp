#include <catch2/catch.hpp>

#include <random>
#include <vector>

#include "cache/kv_cache.h"
#include "kernels/convert.h"

using namespace silica;

TEST_CASE("visible_spans cover the asked positions in order, splitting where a ring wraps") {
    for (TensorType type : {TensorType::F32, TensorType::F16, TensorType::Q8_0}) {
        cache::KvLayout layout;
        layout.n_layer = 2;
        layout.n_ctx = 40;
        layout.n_head_kv = 2;
        layout.head_dim = 32;
        layout.window = {0, 12};  // layer 1 is a ring of 12 rows
        layout.storage = type;
        cache::KvCache kv(layout);

        std::mt19937 rng(7);
        std::normal_distribution<float> normal;
        std::vector<float> k(32), v(32);
        for (int64_t pos = 0; pos < 30; ++pos)
            for (int64_t layer = 0; layer < 2; ++layer)
                for (int64_t h = 0; h < 2; ++h) {
                    for (auto& x : k) x = normal(rng);
                    for (auto& x : v) x = normal(rng);
                    kv.store(layer, pos, h, k.data(), v.data());
                }

        struct Case { int64_t layer, first, last; size_t n_spans; };
        for (const Case c : {Case{0, 0, 29, 1}, Case{0, 5, 7, 1}, Case{1, 18, 29, 2}, Case{1, 24, 29, 1}}) {
            std::vector<kernels::KvRowSpan> spans;
            kv.visible_spans(c.layer, 1, c.first, c.last, spans);
            REQUIRE(spans.size() == c.n_spans);
            int64_t pos = c.first;
            std::vector<float> from_span(32), from_cache(32);
            for (const auto& s : spans) {
                REQUIRE(s.first_pos == pos);
                REQUIRE(s.type == type);
                for (int64_t r = 0; r < s.n_rows; ++r, ++pos) {
                    kernels::to_f32(type, s.k + r * s.stride, from_span.data(), 32);
                    kv.load_k(c.layer, pos, 1, from_cache.data());
                    REQUIRE(from_span == from_cache);
                    kernels::to_f32(type, s.v + r * s.stride, from_span.data(), 32);
                    kv.load_v(c.layer, pos, 1, from_cache.data());
                    REQUIRE(from_span == from_cache);
                }
            }
            REQUIRE(pos == c.last + 1);
        }
    }
}

TEST_CASE("store_encoded copies rows of the storage type and converts others") {
    cache::KvLayout layout;
    layout.n_layer = 1;
    layout.n_ctx = 4;
    layout.n_head_kv = 1;
    layout.head_dim = 32;
    layout.window = {0};
    layout.storage = TensorType::F16;
    cache::KvCache a(layout), b(layout);
    std::vector<float> k(32), v(32), back(32), expect(32);
    for (int i = 0; i < 32; ++i) k[i] = 0.25f * i - 3.0f, v[i] = 1.0f / (i + 1);
    a.store(0, 2, 0, k.data(), v.data());
    std::vector<kernels::KvRowSpan> spans;
    a.visible_spans(0, 0, 2, 2, spans);
    b.store_encoded(0, 2, 0, TensorType::F16, spans[0].k, spans[0].v);
    a.load_v(0, 2, 0, expect.data());
    b.load_v(0, 2, 0, back.data());
    REQUIRE(back == expect);
    // F32 rows into an F16 cache: rounded like store() would.
    b.store_encoded(0, 3, 0, TensorType::F32, reinterpret_cast<const uint8_t*>(k.data()),
                    reinterpret_cast<const uint8_t*>(v.data()));
    a.store(0, 3, 0, k.data(), v.data());
    a.load_k(0, 3, 0, expect.data());
    b.load_k(0, 3, 0, back.data());
    REQUIRE(back == expect);
    REQUIRE(a.oldest_cached(0, 4) == 0);
}
