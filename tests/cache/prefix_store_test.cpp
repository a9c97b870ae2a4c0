// KV snapshots, zlib codec and the prefix store (keys, hits, misses, tiers, eviction, refcounts).
#include <catch2/catch.hpp>

#include <random>
#include <vector>

#include "cache/kv_snapshot.h"
#include "cache/prefix_store.h"
#include "cache/zlib_codec.h"

using namespace silica;

namespace {

cache::KvLayout small_layout(TensorType type = TensorType::F16) {
    cache::KvLayout l;
    l.n_layer = 2;
    l.n_ctx = 256;
    l.n_head_kv = 2;
    l.head_dim = 32;
    l.window = {0, 8};  // layer 1: a window of 8 (+ slack 8 = a ring of 16 rows)
    l.ring_slack = 8;
    l.storage = type;
    return l;
}

// Stores positions [0, n) with values that depend on (seed, layer, pos, head).
void fill(cache::KvCache& kv, int64_t n, int seed) {
    std::vector<float> k(32), v(32);
    for (int64_t pos = 0; pos < n; ++pos) {
        kv.prepare(pos, pos);
        for (int64_t l = 0; l < 2; ++l)
            for (int64_t h = 0; h < 2; ++h) {
                std::mt19937 rng(static_cast<uint32_t>(seed * 100003 + pos * 31 + l * 7 + h));
                std::normal_distribution<float> normal;
                for (auto& x : k) x = normal(rng);
                for (auto& x : v) x = normal(rng);
                kv.store(l, pos, h, k.data(), v.data());
            }
    }
}

bool same_rows(const cache::KvCache& a, const cache::KvCache& b, int64_t layer, int64_t first, int64_t last) {
    std::vector<float> x(32), y(32);
    for (int64_t pos = first; pos <= last; ++pos)
        for (int64_t h = 0; h < 2; ++h) {
            a.load_k(layer, pos, h, x.data());
            b.load_k(layer, pos, h, y.data());
            if (x != y) return false;
            a.load_v(layer, pos, h, x.data());
            b.load_v(layer, pos, h, y.data());
            if (x != y) return false;
        }
    return true;
}

std::vector<int32_t> tokens(int n, int salt = 0) {
    std::vector<int32_t> t;
    for (int i = 0; i < n; ++i) t.push_back((i * 37 + salt) % 1000);
    return t;
}

cache::KvSnapshot block_snapshot(int64_t block, int seed = 1) {
    cache::KvCache kv(small_layout());
    fill(kv, (block + 1) * 4, seed);
    return cache::capture_snapshot(kv, block * 4, block * 4 + 4, (block + 1) * 4);
}

}  // namespace

TEST_CASE("a snapshot restores rows bit-exactly, a window layer only its ring across the edge", "[cache][snapshot]") {
    for (TensorType type : {TensorType::F32, TensorType::F16, TensorType::BF16, TensorType::Q8_0}) {
        cache::KvCache a(small_layout(type));
        fill(a, 40, 3);
        const auto s = cache::capture_snapshot(a, 0, 40, 40);
        REQUIRE(s.first[0] == 0);
        REQUIRE(s.first[1] == 40 - 16);  // the ring (window 8 + slack 8) still holds 16 rows
        // Through the binary form, into a fresh cache.
        std::vector<uint8_t> bytes;
        cache::ByteWriter w(bytes);
        cache::write_snapshot(s, w);
        cache::ByteReader r(bytes, "snapshot");
        const auto back = cache::read_snapshot(r, small_layout(type));
        cache::KvCache b(small_layout(type));
        cache::restore_snapshot(b, back);
        CHECK(same_rows(a, b, 0, 0, 39));
        CHECK(same_rows(a, b, 1, 24, 39));
        // Every truncation of the binary form is an error, never a crash.
        for (size_t n = 0; n < bytes.size(); n += 1 + n / 8) {
            cache::ByteReader t(std::span<const uint8_t>(bytes.data(), n), "snapshot");
            CHECK_THROWS_AS(cache::read_snapshot(t, small_layout(type)), Error);
        }
    }
    // A snapshot of another shape is refused.
    cache::KvCache a(small_layout());
    fill(a, 4, 1);
    std::vector<uint8_t> bytes;
    cache::ByteWriter w(bytes);
    cache::write_snapshot(cache::capture_snapshot(a, 0, 4, 4), w);
    auto other = small_layout();
    other.n_head_kv = 4;
    cache::ByteReader r(bytes, "snapshot");
    CHECK_THROWS_WITH(cache::read_snapshot(r, other), Catch::Contains("does not match"));
}

TEST_CASE("a snapshot of a cache with a warm tier keeps each row's tier", "[cache][snapshot]") {
    auto layout = small_layout(TensorType::F16);
    layout.hot_tokens = 40;
    cache::KvCache a(layout);
    fill(a, 200, 5);
    REQUIRE(a.warm_end(0) == 160);  // blocks wholly before 200 - 40 are warm
    const auto s = cache::capture_snapshot(a, 0, 200, 200);
    CHECK(s.warm_end[0] == 160);
    CHECK(s.warm_end[1] == s.first[1]);  // the window layer is all hot
    std::vector<uint8_t> bytes;
    cache::ByteWriter w(bytes);
    cache::write_snapshot(s, w);
    cache::ByteReader r(bytes, "snapshot");
    const auto back = cache::read_snapshot(r, layout);
    CHECK(back.rows == s.rows);
    // Same tiers: bit-exact. Into an all-hot cache: the warm rows as their q8_0 values.
    cache::KvCache b(layout);
    cache::restore_snapshot(b, back);
    CHECK(b.warm_end(0) == 160);
    CHECK(same_rows(a, b, 0, 0, 199));
    CHECK(same_rows(a, b, 1, 200 - 16, 199));
    cache::KvCache c(small_layout(TensorType::F32));
    cache::restore_snapshot(c, back);
    CHECK(same_rows(a, c, 0, 0, 199));  // q8_0 and f16 values are exact in f32
    // A warm end outside [first, end] is refused.
    auto bad = bytes;
    const size_t warm_end_offset = 4 + 4 + 5 * 8 + 8;  // types, shape and range, layer 0's first
    bad[warm_end_offset] = 0xff;
    cache::ByteReader rb(bad, "snapshot");
    CHECK_THROWS_WITH(cache::read_snapshot(rb, layout), Catch::Contains("bad warm tier end"));
}

TEST_CASE("zlib round trip and corrupt input", "[cache][zlib]") {
    std::vector<uint8_t> raw(10000);
    for (size_t i = 0; i < raw.size(); ++i) raw[i] = static_cast<uint8_t>(i % 251 < 100 ? 0 : i);
    const auto z = cache::zlib_compress(raw);
    CHECK(z.size() < raw.size());
    CHECK(cache::zlib_decompress(z, raw.size(), "x") == raw);
    CHECK_THROWS_AS(cache::zlib_decompress(z, raw.size() + 1, "x"), Error);
    auto bad = z;
    bad[bad.size() / 2] ^= 0x55;
    CHECK_THROWS_AS(cache::zlib_decompress(bad, raw.size(), "x"), Error);
    CHECK_THROWS_AS(cache::zlib_decompress(std::span(z).first(z.size() - 3), raw.size(), "x"), Error);
    // Byte planes: any width, odd tails included, round-trip exactly.
    for (int planes : {2, 3, 4})
        for (size_t n : {size_t{0}, size_t{1}, size_t{7}, raw.size()}) {
            const std::vector<uint8_t> part(raw.begin(), raw.begin() + static_cast<std::ptrdiff_t>(n));
            CHECK(cache::zlib_decompress(cache::zlib_compress(part, 1, planes), n, "x", planes) == part);
        }
}

TEST_CASE("prefix keys chain: equal prefixes share keys, a change alters every later key", "[cache][prefix]") {
    cache::PrefixStore store(4, 1 << 20);
    auto a = tokens(17), b = a;
    b[9] += 1;  // block 2
    const auto ka = store.block_keys(a), kb = store.block_keys(b);
    REQUIRE(ka.size() == 4);
    CHECK(ka[0] == kb[0]);
    CHECK(ka[1] == kb[1]);
    CHECK(ka[2] != kb[2]);
    CHECK(ka[3] != kb[3]);  // block 3's tokens are equal, its parent is not
}

TEST_CASE("prefix lookup: hits, partial hits, misses and the max_blocks bound", "[cache][prefix]") {
    cache::PrefixStore store(4, 1 << 20);
    const auto t = tokens(12);
    for (int64_t b = 0; b < 3; ++b) store.insert(t, b, block_snapshot(b));
    CHECK(store.lookup(t, 10).size() == 3);
    CHECK(store.lookup(t, 2).size() == 2);
    auto partial = t;
    partial[5] = 999;  // differs in block 1
    CHECK(store.lookup(partial, 10).size() == 1);
    CHECK(store.lookup(tokens(12, 1), 10).empty());
    const auto found = store.lookup(t, 10);
    CHECK(found[2]->begin == 8);
    CHECK(found[2]->end == 12);
    const auto st = store.stats();
    CHECK(st.hot_entries == 3);
    CHECK(st.misses == 2);
    // Inserting a cached block again changes nothing.
    store.insert(t, 1, block_snapshot(1));
    CHECK(store.stats().hot_entries == 3);
}

TEST_CASE("prefix store tiers: LRU blocks go cold (zlib), come back bit-exact, then leave", "[cache][prefix]") {
    const uint64_t one = block_snapshot(0).bytes();
    cache::PrefixStore store(4, 2 * one + one / 2);  // room for two hot blocks
    const auto t = tokens(16);
    const auto original = block_snapshot(0);
    for (int64_t b = 0; b < 4; ++b) store.insert(t, b, block_snapshot(b));
    auto st = store.stats();
    CHECK(st.hot_entries == 2);
    CHECK(st.cold_entries == 2);  // blocks 0 and 1, the least recently used
    CHECK(st.hot_bytes <= 2 * one + one / 2);
    CHECK(st.compressed == 2);
    // A lookup brings block 0 back from the cold tier, identical.
    const auto found = store.lookup(t, 1);
    REQUIRE(found.size() == 1);
    CHECK(found[0]->rows == original.rows);
    CHECK(found[0]->first == original.first);
    CHECK(store.stats().decompress_seconds > 0);
    // With a tiny budget the cold tier overflows too: the oldest blocks are dropped.
    cache::PrefixStore tiny(4, 10);
    for (int64_t b = 0; b < 4; ++b) tiny.insert(t, b, block_snapshot(b));
    st = tiny.stats();
    CHECK(st.hot_entries == 0);
    CHECK(st.dropped >= 3);
    CHECK(st.cold_bytes <= 10 + st.compressed_output_bytes);  // at most the newest entry over
    CHECK(tiny.lookup(t, 4).size() <= 1);
}

TEST_CASE("a snapshot a caller holds outlives its eviction", "[cache][prefix]") {
    const uint64_t one = block_snapshot(0).bytes();
    cache::PrefixStore store(4, 2 * one);
    const auto t = tokens(4);
    store.insert(t, 0, block_snapshot(0));
    const auto held = store.lookup(t, 1).at(0);
    const auto copy = held->rows;
    for (int salt = 1; salt < 40; ++salt) store.insert(tokens(4, salt), 0, block_snapshot(0, salt));
    const auto st = store.stats();
    CHECK(st.dropped > 0);
    CHECK(store.lookup(t, 1).empty());  // gone from the store
    CHECK(held->rows == copy);          // but the caller's copy is intact
}
