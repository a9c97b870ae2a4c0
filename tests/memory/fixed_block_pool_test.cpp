#include <catch2/catch.hpp>

#include <algorithm>
#include <cstring>
#include <random>
#include <set>
#include <vector>

#include "memory/fixed_block_pool.h"

using namespace silica;

TEST_CASE("fixed blocks are aligned, disjoint, reused after free, and bounded by the backing pool", "[memory]") {
    for (size_t block : {size_t{1}, size_t{100}, size_t{17408}, size_t{300000}}) {
        INFO("block " << block);
        const size_t n = 40;
        BuddyPool::Options o;
        o.min_block = size_t{1} << 20;
        BuddyPool backing(FixedBlockPool::backing_bytes(block, n), o);
        FixedBlockPool pool(backing, block);
        REQUIRE(pool.block_bytes() >= block);
        REQUIRE(pool.block_bytes() % 64 == 0);
        std::vector<uint8_t*> live;
        for (size_t i = 0; i < n; ++i) {
            uint8_t* p = pool.allocate();
            REQUIRE(p != nullptr);
            REQUIRE(reinterpret_cast<uintptr_t>(p) % 64 == 0);
            std::memset(p, static_cast<int>(i), block);  // the whole block is writable
            live.push_back(p);
        }
        // Disjoint: sorted starts are at least a block apart.
        auto sorted = live;
        std::sort(sorted.begin(), sorted.end());
        for (size_t i = 1; i < sorted.size(); ++i) REQUIRE(sorted[i] - sorted[i - 1] >= static_cast<ptrdiff_t>(block));
        for (size_t i = 0; i < n; ++i) REQUIRE(live[i][block - 1] == static_cast<uint8_t>(i));
        // backing_bytes() was exactly enough: the slabs are used up once the last slab is full.
        const size_t spare = pool.slabs() * pool.blocks_per_slab() - n;
        for (size_t i = 0; i < spare; ++i) REQUIRE(pool.allocate() != nullptr);
        CHECK(pool.allocate() == nullptr);
        CHECK(pool.live_blocks() == n + spare);
        // Freed blocks come back before any new slab is needed.
        std::mt19937 rng(1);
        std::shuffle(live.begin(), live.end(), rng);
        std::set<uint8_t*> freed(live.begin(), live.begin() + 10);
        for (uint8_t* p : freed) pool.free(p);
        for (int i = 0; i < 10; ++i) CHECK(freed.count(pool.allocate()) == 1);
        CHECK(pool.allocate() == nullptr);
    }
}
