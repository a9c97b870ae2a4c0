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
