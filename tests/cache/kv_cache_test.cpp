// The paged KV cache: block tables, rings across the window edge, the warm tier, the budget.
#include <catch2/catch.hpp>

#include <map>
#include <random>
#include <vector>

#include "cache/kv_cache.h"
#include "kernels/convert.h"
#include "quant/quantize.h"
#include "silica/error.h"

using namespace silica;

namespace {

constexpr int64_t kHeadDim = 32;

cache::KvLayout two_layers(TensorType type, int64_t n_ctx = 100) {
    cache::KvLayout layout;
    layout.n_layer = 2;
    layout.n_ctx = n_ctx;
    layout.n_head_kv = 2;
    layout.head_dim = kHeadDim;
    layout.window = {0, 12};  // layer 1: a window of 12 (+ slack 4): a ring of 2 blocks
    layout.ring_slack = 4;
    layout.storage = type;
    return layout;
}

// The floats of one stored row: seeded by (layer, pos, head, which).
std::vector<float> row_values(int64_t layer, int64_t pos, int64_t head, int which) {
    std::mt19937 rng(static_cast<uint32_t>(pos * 1009 + layer * 101 + head * 11 + which));
    std::normal_distribution<float> normal;
    std::vector<float> x(kHeadDim);
    for (auto& v : x) v = normal(rng);
    return x;
}

// What a row reads back as after storing `x` in `type` (and, for warm rows, moving to q8_0).
// A row stored directly into a warm block is quantized once: pass the warm type as `type`.
std::vector<float> expected_row(std::vector<float> x, TensorType type, bool warm) {
    std::vector<uint8_t> enc(row_bytes(type_traits(TensorType::F32), kHeadDim));
    for (TensorType t : warm && type != cache::kKvWarmType ? std::vector{type, cache::kKvWarmType} : std::vector{type}) {
        quantize_row(t, x.data(), enc.data(), kHeadDim);
        kernels::to_f32(t, enc.data(), x.data(), kHeadDim);
    }
    return x;
}

// Stores positions [from, to) the way a forward does: prepare, then store every layer and head.
// `stored_as`, when given, records the type layer 0 stored each position in.
void store_range(cache::KvCache& kv, int64_t from, int64_t to, std::map<int64_t, TensorType>* stored_as = nullptr) {
    kv.prepare(from, to - 1);
    for (int64_t pos = from; pos < to; ++pos) {
        if (stored_as) (*stored_as)[pos] = kv.type_at(0, pos);
        for (int64_t l = 0; l < kv.layout().n_layer; ++l)
            for (int64_t h = 0; pos >= kv.oldest_cached(l, to) && h < kv.layout().n_head_kv; ++h)
                kv.store(l, pos, h, row_values(l, pos, h, 0).data(), row_values(l, pos, h, 1).data());
    }
}

}  // namespace

TEST_CASE("visible_spans give one span per block, in position order", "[cache][kv]") {
    for (TensorType type : {TensorType::F32, TensorType::F16, TensorType::BF16, TensorType::Q8_0}) {
        cache::KvCache kv(two_layers(type));
        store_range(kv, 0, 70);
        struct Case { int64_t layer, first, last; size_t n_spans; };
        for (const Case c : {Case{0, 0, 69, 3}, Case{0, 5, 7, 1}, Case{0, 30, 33, 2}, Case{1, 54, 69, 2},
                             Case{1, 64, 69, 1}}) {
            std::vector<kernels::KvRowSpan> spans;
            kv.visible_spans(c.layer, 1, c.first, c.last, spans);
            REQUIRE(spans.size() == c.n_spans);
            int64_t pos = c.first;
            std::vector<float> from_span(kHeadDim);
            for (const auto& s : spans) {
                REQUIRE(s.first_pos == pos);
                REQUIRE(s.type == type);
                for (int64_t r = 0; r < s.n_rows; ++r, ++pos) {
                    kernels::to_f32(type, s.k + r * s.stride, from_span.data(), kHeadDim);
                    REQUIRE(from_span == expected_row(row_values(c.layer, pos, 1, 0), type, false));
                    kernels::to_f32(type, s.v + r * s.stride, from_span.data(), kHeadDim);
                    REQUIRE(from_span == expected_row(row_values(c.layer, pos, 1, 1), type, false));
                }
            }
            REQUIRE(pos == c.last + 1);
        }
    }
}

TEST_CASE("blocks are allocated as positions are prepared and freed by release_from and clear", "[cache][kv]") {
    cache::KvCache kv(two_layers(TensorType::F16));
    CHECK(kv.bytes() == 0);
    CHECK(kv.usage().committed_bytes == 0);
    store_range(kv, 0, 1);
    CHECK(kv.usage().hot_blocks == 2);  // one per layer
    const uint64_t one_block = kv.bytes() / 2;
    CHECK(one_block >= 2 * 32 * 2 * kHeadDim * 2);  // K and V, 32 positions, 2 heads, f16
    store_range(kv, 1, 70);
    // Layer 0: blocks 0..2; layer 1: its ring of 2 blocks, reused past the window.
    CHECK(kv.usage().hot_blocks == 3 + 2);
    kv.release_from(33);  // layer 0 keeps blocks 0 and 1 (positions 0..63 hold 0..32)
    CHECK(kv.usage().hot_blocks == 2 + 2);
    std::vector<kernels::KvRowSpan> spans;
    CHECK_THROWS_WITH(kv.visible_spans(0, 0, 60, 64, spans), Catch::Contains("position 64 is not cached"));
    // Storing into a position that was never prepared is an error, not a write into nowhere.
    const auto x = row_values(0, 80, 0, 0);
    CHECK_THROWS_WITH(kv.store(0, 80, 0, x.data(), x.data()), Catch::Contains("not prepared"));
    CHECK_THROWS_WITH(kv.prepare(90, 100), Catch::Contains("outside the context"));
    kv.clear();
    CHECK(kv.bytes() == 0);
    const uint64_t committed = kv.usage().committed_bytes;
    CHECK(committed > 0);  // slabs stay with the cache for the next conversation
    store_range(kv, 0, 40);
    CHECK(kv.usage().hot_blocks == 2 + 2);
    CHECK(kv.usage().committed_bytes == committed);
    kv.clear();
    CHECK(kv.compact() == committed);  // on request they go back
    CHECK(kv.usage().committed_bytes == 0);
}

TEST_CASE("after a truncate the live blocks are packed into fewer slabs, rows intact", "[cache][kv]") {
    for (int64_t hot_tokens : {int64_t{-1}, int64_t{256}}) {
        INFO("hot tokens " << hot_tokens);
        cache::KvLayout layout;
        layout.n_layer = 4;
        layout.n_ctx = 4096;
        layout.n_head_kv = 2;
        layout.head_dim = kHeadDim;
        layout.window = {0, 0, 0, 0};
        layout.storage = TensorType::F16;
        layout.hot_tokens = hot_tokens;
        cache::KvCache kv(layout);
        std::map<int64_t, TensorType> stored_as;
        // Chunks of 256 positions: each prepare() takes 8 blocks per layer in turn, so every
        // layer's blocks end up spread over all slabs.
        for (int64_t n = 0; n < 4096; n += 256) store_range(kv, n, n + 256, &stored_as);
        const uint64_t full = kv.usage().committed_bytes;
        kv.release_from(700);
        const auto u = kv.usage();
        CHECK(u.committed_bytes < full / 2);
        // What the live blocks need, rounded up to whole 1 MiB slabs per pool.
        const uint64_t slab = uint64_t{1} << 20;
        CHECK(u.committed_bytes <= (u.hot_bytes + slab - 1) / slab * slab + (u.warm_bytes + slab - 1) / slab * slab);
        auto check_rows = [&](int64_t end) {
            std::vector<float> back(kHeadDim);
            for (int64_t l = 0; l < layout.n_layer; ++l)
                for (int64_t pos = 0; pos < end; ++pos) {
                    const bool warm = stored_as[pos] != TensorType::F16 || kv.type_at(l, pos) != TensorType::F16;
                    const TensorType first = stored_as[pos];
                    kv.load_k(l, pos, 1, back.data());
                    REQUIRE(back == expected_row(row_values(l, pos, 1, 0), first, warm));
                    kv.load_v(l, pos, 0, back.data());
                    REQUIRE(back == expected_row(row_values(l, pos, 0, 1), first, warm));
                }
        };
        check_rows(700);
        // The cache keeps working: new rows land in the freed space or new slabs.
        store_range(kv, 700, 1500, &stored_as);
        check_rows(1500);
        kv.release_from(0);
        CHECK(kv.usage().committed_bytes == 0);
    }
}

TEST_CASE("a ring keeps every row of its window across the edge, whatever the chunk sizes", "[cache][kv]") {
    std::mt19937 rng(3);
    for (int trial = 0; trial < 20; ++trial) {
        auto layout = two_layers(TensorType::F16, 300);
        layout.window = {0, 1 + static_cast<int64_t>(rng() % 40)};
        layout.ring_slack = 1 + static_cast<int64_t>(rng() % 20);
        cache::KvCache kv(layout);
        int64_t n = 0;
        while (n < 300) {
            const int64_t chunk = std::min<int64_t>(300 - n, 1 + static_cast<int64_t>(rng() % layout.ring_slack));
            store_range(kv, n, n + chunk);
            n += chunk;
            const int64_t oldest = kv.oldest_cached(1, n);
            REQUIRE(oldest == std::max<int64_t>(0, n - layout.window[1] - layout.ring_slack));
            std::vector<float> back(kHeadDim);
            for (int64_t pos = oldest; pos < n; ++pos) {
                kv.load_k(1, pos, 0, back.data());
                REQUIRE(back == expected_row(row_values(1, pos, 0, 0), TensorType::F16, false));
            }
        }
        CHECK(kv.usage().hot_blocks <= (300 + 31) / 32 + (layout.window[1] + layout.ring_slack + 31) / 32 + 1);
    }
}

TEST_CASE("warm tier: blocks older than the hot tokens move to q8_0 and read back as quantized", "[cache][kv]") {
    for (TensorType hot : {TensorType::F32, TensorType::F16, TensorType::BF16}) {
        auto layout = two_layers(hot, 200);
        layout.hot_tokens = 40;
        cache::KvCache kv(layout);
        REQUIRE(kv.has_warm_tier());
        int64_t n = 0;
        std::map<int64_t, TensorType> stored_as;
        for (int64_t chunk : {1, 7, 30, 33, 1, 1, 64, 5, 58}) {
            store_range(kv, n, n + chunk, &stored_as);
            n += chunk;
            // Blocks wholly before the newest 40 positions are warm.
            const int64_t warm_end = (std::max<int64_t>(0, n - 40) / 32) * 32;
            CHECK(kv.warm_end(0) == warm_end);
            CHECK(kv.warm_end(1) == 0);  // window layers are never tiered
            std::vector<float> back(kHeadDim);
            for (int64_t pos = 0; pos < n; ++pos) {
                const bool warm = pos < warm_end;
                REQUIRE(kv.type_at(0, pos) == (warm ? cache::kKvWarmType : hot));
                kv.load_v(0, pos, 1, back.data());
                REQUIRE(back == expected_row(row_values(0, pos, 1, 1), stored_as[pos], warm));
            }
            std::vector<kernels::KvRowSpan> spans;
            kv.visible_spans(0, 0, 0, n - 1, spans);
            for (const auto& s : spans) CHECK(s.type == kv.type_at(0, s.first_pos));
        }
        const auto u = kv.usage();
        CHECK(u.warm_blocks == kv.warm_end(0) / 32);
        CHECK(u.warm_bytes < u.warm_blocks * 2 * 32 * 2 * row_bytes(type_traits(hot), kHeadDim));
        // A truncate below the warm blocks frees them; new positions start hot again.
        kv.release_from(40);
        CHECK(kv.warm_end(0) == 64);  // the block of 32..63 is kept (still holds 32..39)
        kv.release_from(20);
        CHECK(kv.warm_end(0) == 32);
        kv.clear();
        CHECK(kv.warm_end(0) == 0);
    }
    // A q8_0 cache is all warm already: no second tier.
    auto q8 = two_layers(TensorType::Q8_0);
    q8.hot_tokens = 0;
    CHECK_FALSE(cache::KvCache(q8).has_warm_tier());
}

TEST_CASE("a byte budget picks the hot tokens, and a too small one is a clear error", "[cache][kv]") {
    auto layout = two_layers(TensorType::F16, 1000);
    const cache::KvFootprint fp = cache::kv_footprint(layout);
    CHECK(fp.hot_per_token == 2 * 2 * kHeadDim * 2);  // layer 0 only: K+V, 2 heads, f16
    CHECK(fp.warm_per_token == 2 * 2 * 34);           // q8_0: 34 bytes per 32 values
    CHECK(fp.window_bytes == 2 * 32 * fp.hot_per_token);
    const uint64_t all_hot = fp.context_bytes(layout, -1), all_warm = fp.context_bytes(layout, 0);
    REQUIRE(all_warm < all_hot);

    layout.budget_bytes = all_hot;
    CHECK(cache::KvCache(layout).layout().hot_tokens == -1);
    for (uint64_t budget : {all_warm, (all_warm + all_hot) / 2, all_hot - 1}) {
        layout.budget_bytes = budget;
        cache::KvCache kv(layout);
        const int64_t hot = kv.layout().hot_tokens;
        REQUIRE(hot >= 0);
        CHECK(fp.context_bytes(layout, hot) <= budget);
        CHECK(fp.context_bytes(layout, hot + 32) > budget);  // the largest that fits
        // Filled to the end, the blocks stay within the budget.
        for (int64_t n = 0; n < 1000; n += 100) store_range(kv, n, n + 100);
        CHECK(kv.bytes() <= budget);
    }
    layout.budget_bytes = all_warm - 1;
    CHECK_THROWS_AS(cache::KvCache(layout), OutOfMemory);
    CHECK_THROWS_WITH(cache::KvCache(layout), Catch::Contains("even with every block in q8_0"));
}

TEST_CASE("store_encoded copies rows of the block's type and converts others", "[cache][kv]") {
    auto layout = two_layers(TensorType::F16, 64);
    layout.hot_tokens = 32;
    cache::KvCache a(layout), b(layout);
    store_range(a, 0, 64);  // block 0 is warm (q8_0), block 1 hot (f16)
    b.prepare(0, 63);
    REQUIRE(a.type_at(0, 5) == TensorType::Q8_0);
    REQUIRE(a.type_at(0, 40) == TensorType::F16);
    std::vector<float> expect(kHeadDim), back(kHeadDim);
    for (int64_t pos : {5, 40}) {
        std::vector<kernels::KvRowSpan> spans;
        a.visible_spans(0, 1, pos, pos, spans);
        b.store_encoded(0, pos, 1, spans[0].type, spans[0].k, spans[0].v);
        a.load_v(0, pos, 1, expect.data());
        b.load_v(0, pos, 1, back.data());
        CHECK(back == expect);
    }
    // F32 rows into an f16 block: rounded like store() would.
    const auto k = row_values(0, 41, 0, 0);
    b.store_encoded(0, 41, 0, TensorType::F32, reinterpret_cast<const uint8_t*>(k.data()),
                    reinterpret_cast<const uint8_t*>(k.data()));
    b.load_k(0, 41, 0, back.data());
    CHECK(back == expected_row(k, TensorType::F16, false));
}
