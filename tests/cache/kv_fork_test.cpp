// Caches sharing one block pool: fork() shares blocks, a write copies a shared block first, and
// the pool's owner counts never leak.
#include <catch2/catch.hpp>

#include <memory>
#include <random>
#include <vector>

#include "cache/kv_cache.h"
#include "silica/error.h"

using namespace silica;

namespace {

constexpr int64_t kHeadDim = 32;

cache::KvLayout layout_with_ring(TensorType type = TensorType::F32, int64_t hot_tokens = -1) {
    cache::KvLayout layout;
    layout.n_layer = 2;
    layout.n_ctx = 200;
    layout.n_head_kv = 2;
    layout.head_dim = kHeadDim;
    layout.window = {0, 20};  // layer 1: a ring
    layout.ring_slack = 4;
    layout.storage = type;
    layout.hot_tokens = hot_tokens;
    return layout;
}

// A row whose values say which sequence ("tag") wrote which position: tag * 1000 + pos.
std::vector<float> tagged_row(int tag, int64_t pos) { return std::vector<float>(kHeadDim, float(tag * 1000 + pos)); }

void store_tagged(cache::KvCache& kv, int tag, int64_t from, int64_t to) {
    kv.prepare(from, to - 1);
    for (int64_t pos = from; pos < to; ++pos)
        for (int64_t l = 0; l < kv.layout().n_layer; ++l)
            for (int64_t h = 0; pos >= kv.oldest_cached(l, to) && h < kv.layout().n_head_kv; ++h)
                kv.store(l, pos, h, tagged_row(tag, pos).data(), tagged_row(tag, pos).data());
}

// The tag of the row layer `l` holds at `pos` (F32 storage keeps values exact).
int tag_at(const cache::KvCache& kv, int64_t l, int64_t pos) {
    std::vector<float> k(kHeadDim);
    kv.load_k(l, pos, 1, k.data());
    return static_cast<int>((k[0] - static_cast<float>(pos)) / 1000.0f);
}

}  // namespace

TEST_CASE("a fork shares every block, and a write copies only the block it touches", "[cache][kv]") {
    cache::KvCache parent(layout_with_ring());
    store_tagged(parent, 1, 0, 70);  // blocks 0..2 of layer 0; layer 1's ring
    const auto before = parent.usage();
    auto child = parent.fork();
    CHECK(child->usage().shared_blocks == before.hot_blocks);
    CHECK(parent.usage().committed_bytes == before.committed_bytes);  // nothing copied yet
    CHECK(parent.pool()->live_blocks(cache::KvTier::Hot) == static_cast<size_t>(before.hot_blocks));

    // The child continues with its own tokens from position 70: block 2 of layer 0 (positions
    // 64..95) and the ring's block holding them are copied; the rest stays shared.
    store_tagged(*child, 2, 70, 80);
    for (int64_t pos = 0; pos < 70; ++pos) {
        CHECK(tag_at(*child, 0, pos) == 1);
        CHECK(tag_at(parent, 0, pos) == 1);
    }
    for (int64_t pos = 70; pos < 80; ++pos) CHECK(tag_at(*child, 0, pos) == 2);
    for (int64_t pos = child->oldest_cached(1, 80); pos < 70; ++pos) CHECK(tag_at(*child, 1, pos) == 1);
    CHECK(child->usage().shared_blocks == 3);  // layer 0's blocks 0 and 1, the ring's block of 32..63

    // The parent writes the same positions: it owns its blocks again, the child's rows stay.
    store_tagged(parent, 3, 70, 80);
    for (int64_t pos = 70; pos < 80; ++pos) {
        CHECK(tag_at(parent, 0, pos) == 3);
        CHECK(tag_at(*child, 0, pos) == 2);
        CHECK(tag_at(parent, 1, pos) == 3);
        CHECK(tag_at(*child, 1, pos) == 2);
    }

    // Freeing the child gives back what only it held.
    child.reset();
    CHECK(parent.usage().shared_blocks == 0);
    CHECK(parent.pool()->live_blocks(cache::KvTier::Hot) == static_cast<size_t>(parent.usage().hot_blocks));
}

TEST_CASE("a fork moved to the warm tier leaves its parent's hot blocks alone", "[cache][kv]") {
    auto layout = layout_with_ring(TensorType::F16, 32);
    cache::KvCache parent(layout);
    store_tagged(parent, 1, 0, 40);  // all hot: no block is yet wholly older than the newest 32
    auto child = parent.fork();
    store_tagged(*child, 2, 40, 130);  // the child's blocks 0..2 become q8_0
    CHECK(child->type_at(0, 0) == cache::kKvWarmType);
    CHECK(parent.type_at(0, 0) == TensorType::F16);
    CHECK(tag_at(parent, 0, 5) == 1);
    CHECK(tag_at(parent, 0, 35) == 1);
    CHECK(parent.usage().shared_blocks == 0);  // the child's warm copies replaced the shared hot blocks
    child.reset();
    CHECK(parent.pool()->live_blocks(cache::KvTier::Warm) == 0);
}

TEST_CASE("thousands of create, fork, grow, truncate and free leave the pool empty", "[cache][kv]") {
    for (const int64_t hot_tokens : {int64_t{-1}, int64_t{40}}) {
        const auto layout = layout_with_ring(TensorType::F16, hot_tokens);
        auto pool = cache::make_kv_block_pool(layout, 8 * cache::kv_reserve_bytes(layout));
        std::mt19937 rng(11);
        std::vector<std::unique_ptr<cache::KvCache>> caches;
        std::vector<int64_t> n_tokens;
        for (int op = 0; op < 4000; ++op) {
            const size_t pick = caches.empty() ? 0 : rng() % caches.size();
            switch (caches.empty() ? 0 : rng() % 5) {
                case 0:
                    if (caches.size() < 6) caches.push_back(std::make_unique<cache::KvCache>(layout, pool)), n_tokens.push_back(0);
                    break;
                case 1:
                    if (caches.size() < 6) caches.push_back(caches[pick]->fork()), n_tokens.push_back(n_tokens[pick]);
                    break;
                case 2: {  // grow by a chunk
                    const int64_t n = std::min<int64_t>(layout.n_ctx, n_tokens[pick] + 1 + rng() % 24);
                    if (n > n_tokens[pick]) store_tagged(*caches[pick], static_cast<int>(pick), n_tokens[pick], n);
                    n_tokens[pick] = n;
                    break;
                }
                case 3: {  // truncate where the ring allows it
                    const int64_t n = n_tokens[pick] - static_cast<int64_t>(rng() % 8);
                    if (n >= 0 && caches[pick]->can_truncate(n_tokens[pick], n)) {
                        caches[pick]->release_from(n);
                        n_tokens[pick] = n;
                    }
                    break;
                }
                default:
                    caches.erase(caches.begin() + static_cast<std::ptrdiff_t>(pick));
                    n_tokens.erase(n_tokens.begin() + static_cast<std::ptrdiff_t>(pick));
            }
            // Every live block is held by some cache: the pool's count is the distinct blocks.
            int64_t distinct = 0, held = 0;
            for (const auto& c : caches) held += c->usage().hot_blocks + c->usage().warm_blocks;
            distinct = static_cast<int64_t>(pool->live_blocks(cache::KvTier::Hot) + pool->live_blocks(cache::KvTier::Warm));
            REQUIRE(distinct <= held);
            REQUIRE((distinct == held) == (pool->shared_blocks() == 0));
        }
        caches.clear();
        CHECK(pool->live_blocks(cache::KvTier::Hot) == 0);
        CHECK(pool->live_blocks(cache::KvTier::Warm) == 0);
        CHECK(pool->shared_blocks() == 0);
        CHECK(pool->attached_caches() == 0);
    }
}

TEST_CASE("a full shared pool is a clear out-of-memory error", "[cache][kv]") {
    auto layout = layout_with_ring();
    layout.n_layer = 4;
    layout.n_ctx = 2000;
    layout.n_head_kv = 4;
    layout.window = {};  // 64 KiB blocks, 4 × 63 of them per cache: about 16 MiB
    // Room for about one cache's blocks (kv_reserve_bytes adds a warm tier's 4 MiB and the pool
    // 4 MiB of slack: two full caches need 32 MiB).
    auto pool = cache::make_kv_block_pool(layout, cache::kv_reserve_bytes(layout));
    cache::KvCache a(layout, pool), b(layout, pool);
    CHECK_THROWS_AS([&] {
        for (int64_t n = 0; n < layout.n_ctx; n += 200) {
            store_tagged(a, 1, n, n + 200);
            store_tagged(b, 2, n, n + 200);
        }
    }(), OutOfMemory);
}

TEST_CASE("a pool made for another storage type is refused", "[cache][kv]") {
    auto pool = cache::make_kv_block_pool(layout_with_ring(TensorType::F16), 1 << 20);
    CHECK_THROWS_WITH(cache::KvCache(layout_with_ring(TensorType::F32), pool), Catch::Contains("another storage type"));
}
