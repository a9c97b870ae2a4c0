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

TEST_CASE("compact packs live blocks into the fewest slabs, keeps their bytes, and returns the rest",
          "[memory]") {
    std::mt19937 rng(4);
    for (size_t block : {size_t{64}, size_t{17408}, size_t{65536}, size_t{300000}}) {
        for (int trial = 0; trial < 5; ++trial) {
            INFO("block " << block << " trial " << trial);
            BuddyPool::Options o;
            o.min_block = size_t{1} << 20;
            const size_t n = 30 + rng() % 100;
            BuddyPool backing(FixedBlockPool::backing_bytes(block, n) + (size_t{4} << 20), o);
            FixedBlockPool pool(backing, block);
            // Owners as a cache would hold them: some null, some freed again, each block once.
            std::vector<uint8_t*> owners;
            for (size_t i = 0; i < n; ++i) owners.push_back(rng() % 7 == 0 ? nullptr : pool.allocate());
            for (auto& p : owners)
                if (p && rng() % 3 != 0) {
                    pool.free(p);
                    p = nullptr;
                }
            // Each live block carries its owner index in every byte group.
            for (size_t i = 0; i < owners.size(); ++i)
                if (owners[i])
                    for (size_t j = 0; j < block; j += 4) std::memcpy(owners[i] + j, &i, std::min<size_t>(4, block - j));
            const size_t live = pool.live_blocks(), slabs_before = pool.slabs();
            const size_t in_use_before = backing.stats().in_use;
            // A foreign pointer is left alone.
            std::vector<uint8_t> foreign(block);
            owners.push_back(foreign.data());
            const size_t released = pool.compact(owners);
            CHECK(owners.back() == foreign.data());
            owners.pop_back();
            CHECK(pool.slabs() == pool.slabs_needed());
            CHECK(pool.live_blocks() == live);
            CHECK(released == (slabs_before - pool.slabs()) * pool.slab_bytes());
            CHECK(backing.stats().in_use == in_use_before - released);
            std::set<uint8_t*> distinct;
            for (size_t i = 0; i < owners.size(); ++i) {
                if (!owners[i]) continue;
                CHECK(distinct.insert(owners[i]).second);
                uint32_t word = 0;
                std::memcpy(&word, owners[i] + (block / 2) / 4 * 4, std::min<size_t>(4, block - block / 2 / 4 * 4));
                CHECK(word == static_cast<uint32_t>(i));
            }
            // The pool still works: it fills its remaining free blocks before taking a new slab.
            const size_t spare = pool.slabs() * pool.blocks_per_slab() - live;
            for (size_t i = 0; i < spare; ++i) {
                uint8_t* p = pool.allocate();
                REQUIRE(p != nullptr);
                CHECK(distinct.count(p) == 0);
            }
            CHECK(pool.slabs() == pool.slabs_needed());
        }
    }
}

TEST_CASE("compact refuses owners that miss a live block", "[memory]") {
    BuddyPool::Options o;
    o.min_block = size_t{1} << 20;
    BuddyPool backing(size_t{8} << 20, o);
    FixedBlockPool pool(backing, 4096);
    std::vector<uint8_t*> owners = {pool.allocate(), pool.allocate()};
    uint8_t* hidden = pool.allocate();
    CHECK_THROWS_WITH(pool.compact(owners), Catch::Contains("2 of its 3 live blocks"));
    CHECK(pool.live_blocks() == 3);
    pool.free(hidden);
    CHECK(pool.compact(owners) == 0);
}
