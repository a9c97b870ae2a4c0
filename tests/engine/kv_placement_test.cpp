// NUMA placement of KV blocks: a pool with one home per node gives each cache blocks from its own
// home (copy-on-write copies and warm blocks included) under one shared capacity, and attention
// (split_attention) sends each sequence's items to the threads of its home node. On synthetic
// two-node machines for the split; on this machine the kernel is asked where a home's pages are.
#include <catch2/catch.hpp>

#include <cerrno>
#include <cstring>
#include <memory>
#include <random>
#include <vector>

#include "cache/kv_cache.h"
#include "engine/arch/batch_attention.h"
#include "engine/threading/partition.h"
#include "engine/threading/topology.h"
#include "silica/error.h"

using namespace silica;

namespace {

constexpr int64_t kHeadDim = 32;

cache::KvLayout small_layout(int64_t hot_tokens = -1) {
    cache::KvLayout layout;
    layout.n_layer = 2;
    layout.n_ctx = 200;
    layout.n_head_kv = 2;
    layout.head_dim = kHeadDim;
    layout.window = {0, 20};  // layer 1: a ring
    layout.ring_slack = 4;
    layout.storage = TensorType::F16;
    layout.hot_tokens = hot_tokens;
    return layout;
}

void store_rows(cache::KvCache& kv, int64_t from, int64_t to) {
    const std::vector<float> row(kHeadDim, 1.0f);
    kv.prepare(from, to - 1);
    for (int64_t pos = from; pos < to; ++pos)
        for (int64_t l = 0; l < kv.layout().n_layer; ++l)
            for (int64_t h = 0; pos >= kv.oldest_cached(l, to) && h < kv.layout().n_head_kv; ++h)
                kv.store(l, pos, h, row.data(), row.data());
}

// Every block the cache holds for its first n_tokens positions lies in the pool's range of `home`.
int64_t blocks_away_from(const cache::KvCache& kv, int64_t n_tokens, int home) {
    int64_t away = 0;
    for (int64_t b = 0; b * cache::kKvBlockTokens < n_tokens; ++b)
        for (const cache::KvCache::BlockRef& ref : kv.block_refs(b, n_tokens))
            if (ref.block && kv.pool()->home_of(ref.block) != home) ++away;
    return away;
}

int this_machines_node0() { return Topology::detect().nodes().at(0).os_index; }

}  // namespace

TEST_CASE("KV homes: each cache's blocks come from its home, capacity is shared, nothing leaks", "[cache][kv][numa]") {
    const int node = this_machines_node0();
    for (const int64_t hot_tokens : {int64_t{-1}, int64_t{40}}) {  // hot only; hot + warm q8_0 tier
        const auto layout = small_layout(hot_tokens);
        auto pool = cache::make_kv_block_pool(layout, 8 * cache::kv_reserve_bytes(layout), {node, node});
        REQUIRE(pool->n_homes() == 2);
        std::mt19937 rng(5);
        std::vector<std::unique_ptr<cache::KvCache>> caches;
        std::vector<int64_t> n_tokens;
        int64_t away = 0;
        for (int op = 0; op < 3000; ++op) {
            const size_t pick = caches.empty() ? 0 : rng() % caches.size();
            switch (caches.empty() ? 0 : rng() % 5) {
                case 0:
                    if (caches.size() < 6) {
                        caches.push_back(std::make_unique<cache::KvCache>(layout, pool, static_cast<int>(rng() % 2)));
                        n_tokens.push_back(0);
                    }
                    break;
                case 1:  // a fork keeps its parent's home; its copies on write come from there too
                    if (caches.size() < 6) caches.push_back(caches[pick]->fork()), n_tokens.push_back(n_tokens[pick]);
                    break;
                case 2: {
                    const int64_t n = std::min<int64_t>(layout.n_ctx, n_tokens[pick] + 1 + rng() % 24);
                    if (n > n_tokens[pick]) store_rows(*caches[pick], n_tokens[pick], n);
                    n_tokens[pick] = n;
                    away += blocks_away_from(*caches[pick], n, caches[pick]->home());
                    break;
                }
                case 3: {
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
            REQUIRE(pool->committed_bytes() <= pool->capacity_bytes());
        }
        CHECK(away == 0);
        caches.clear();
        CHECK(pool->live_blocks(cache::KvTier::Hot) == 0);
        CHECK(pool->live_blocks(cache::KvTier::Warm) == 0);
        CHECK(pool->shared_blocks() == 0);
    }
}

TEST_CASE("KV homes: one capacity for all homes, and a home out of range is refused", "[cache][kv][numa]") {
    const auto layout = small_layout();
    const int node = this_machines_node0();
    uint64_t one_cache = 0;  // what a cache filled to the context commits
    {
        auto probe = cache::make_kv_block_pool(layout, cache::kv_reserve_bytes(layout));
        cache::KvCache kv(layout, probe);
        store_rows(kv, 0, layout.n_ctx);
        one_cache = probe->committed_bytes();
    }
    // Room for one and a half caches, over two homes: the second cache runs out halfway.
    auto pool = cache::make_kv_block_pool(layout, one_cache + one_cache / 2, {node, node});
    cache::KvCache first(layout, pool, 0);
    store_rows(first, 0, layout.n_ctx);
    cache::KvCache second(layout, pool, 1);
    CHECK_THROWS_AS(store_rows(second, 0, layout.n_ctx), OutOfMemory);
    CHECK_THROWS_AS(cache::KvCache(layout, pool, 2), Error);
    // Two homes cannot compact (compaction moves blocks within one range).
    CHECK(pool->compact(std::span<uint8_t*>{}) == 0);
}

TEST_CASE("KV homes: this machine's kernel puts a home's blocks on its node", "[cache][kv][numa]") {
    const Topology topo = Topology::detect();
    auto layout = small_layout();
    layout.window = {0, 0};  // no ring: block 0 stays
    const int node = topo.nodes().at(0).os_index;
    auto pool = cache::make_kv_block_pool(layout, cache::kv_reserve_bytes(layout), {node});
    if (pool->home_node(0) != node) {
        WARN("binding memory to a NUMA node is refused here: skipped");
        return;
    }
    cache::KvCache kv(layout, pool, 0);
    store_rows(kv, 0, 64);
    const auto refs = kv.block_refs(0, 64);
    REQUIRE(!refs.empty());
    const size_t bytes = pool->block_bytes(cache::KvTier::Hot);
    for (const auto& ref : refs) {
        CHECK(topo.memory_binding(ref.block, bytes) == 0);
        const int resident = topo.memory_location(ref.block, bytes);
        if (resident == -1)
            WARN("the kernel does not say where the pages are (move_pages refused?): residency not checked");
        else
            CHECK(resident == 0);
    }
}

TEST_CASE("split_attention: each sequence's items go to the threads of its home node", "[numa]") {
    const Topology topo = Topology::from_synthetic("package:2 [numa] core:4 pu:1");
    const NumaPlan plan = make_numa_plan(topo, 8, NumaMode::distribute);
    REQUIRE(plan.n_slots() == 2);
    const int64_t G = 8;
    std::mt19937 rng(3);
    for (int trial = 0; trial < 200; ++trial) {
        const int n_runs = 1 + static_cast<int>(rng() % 12);
        std::vector<int> homes(static_cast<size_t>(n_runs));
        for (int& h : homes) h = static_cast<int>(rng() % 2);
        const arch::AttentionSplit split = arch::split_attention(plan, homes, G);
        REQUIRE(split.thread_items.size() == 8);
        // Every (run, head) item exactly once.
        std::vector<int> taken(static_cast<size_t>(n_runs * G), 0);
        bool local = true;
        for (int t = 0; t < plan.n_threads; ++t)
            for (int64_t i = split.thread_items[t].begin; i < split.thread_items[t].end; ++i) {
                const int run = split.order.at(static_cast<size_t>(i / G));
                ++taken[static_cast<size_t>(run * G + i % G)];
                local = local && homes[static_cast<size_t>(run)] == plan.thread_slot[static_cast<size_t>(t)];
            }
        for (int n : taken) REQUIRE(n == 1);
        const bool both_nodes = std::count(homes.begin(), homes.end(), 0) > 0 && std::count(homes.begin(), homes.end(), 1) > 0;
        INFO("runs " << n_runs);
        if (both_nodes) CHECK(local);
        else  // every run on one node: all threads share all items in batch order, as on one node
            for (int t = 0; t < plan.n_threads; ++t) {
                const RowRange even = split_rows(int64_t{n_runs} * G, t, plan.n_threads, 1);
                CHECK((split.thread_items[t].begin == even.begin && split.thread_items[t].end == even.end));
            }
    }
    // One node: the plain even split.
    const NumaPlan one = unpinned_plan(2);
    const std::vector<int> homes{0, 0, 0};
    const arch::AttentionSplit split = arch::split_attention(one, homes, 4);
    CHECK(split.order == std::vector<int32_t>{0, 1, 2});
    CHECK((split.thread_items[0].begin == 0 && split.thread_items[0].end == 6));
    CHECK((split.thread_items[1].begin == 6 && split.thread_items[1].end == 12));
}
