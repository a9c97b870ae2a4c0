#include <catch2/catch.hpp>

#include <algorithm>
#include <bit>
#include <cstring>
#include <map>
#include <random>
#include <thread>
#include <vector>

#include "memory/buddy_pool.h"
#include "silica/error.h"

using namespace silica;

namespace {

// The live blocks as a plain map from offset to (block size, tag), checked against the pool.
struct Model {
    struct Block {
        size_t size;
        uint8_t tag;
    };
    std::map<size_t, Block> live;

    bool overlaps(size_t offset, size_t size) const {
        auto it = live.lower_bound(offset);
        if (it != live.end() && it->first < offset + size) return true;
        if (it != live.begin()) {
            --it;
            if (it->first + it->second.size > offset) return true;
        }
        return false;
    }
    size_t in_use() const {
        size_t n = 0;
        for (const auto& [o, b] : live) n += b.size;
        return n;
    }
    // With eager merging, the free blocks are exactly the largest aligned blocks that hold no live
    // block; for a power-of-two capacity, the biggest is the largest aligned size with a hole.
    size_t largest_free(size_t capacity, size_t min_block) const {
        for (size_t size = capacity; size >= min_block; size /= 2)
            for (size_t o = 0; o + size <= capacity; o += size)
                if (!overlaps(o, size)) return size;
        return 0;
    }
};

size_t expected_block(size_t bytes, size_t min_block) {
    return std::max(min_block, std::bit_ceil(std::max<size_t>(bytes, 1)));
}

void check_stats(const BuddyPool& pool, const Model& model) {
    const BuddyPool::Stats s = pool.stats();
    REQUIRE(s.in_use == model.in_use());
    REQUIRE(s.free == s.capacity - s.in_use);
    REQUIRE(s.live_allocations == model.live.size());
    REQUIRE(s.largest_free_block <= s.free);
    if (s.free > 0) REQUIRE(s.fragmentation == Approx(1.0 - double(s.largest_free_block) / double(s.free)));
}

}  // namespace

TEST_CASE("buddy pool: randomized stress against a model", "[memory]") {
    for (size_t min_block : {size_t{64}, size_t{4096}}) {
        const size_t capacity = min_block == 64 ? (size_t{1} << 20) : (size_t{16} << 20);
        BuddyPool::Options opt;
        opt.min_block = min_block;
        BuddyPool pool(capacity, opt);
        REQUIRE(pool.capacity() == capacity);
        REQUIRE(reinterpret_cast<uintptr_t>(pool.base()) % 64 == 0);
        Model model;
        std::mt19937_64 rng(min_block);
        std::vector<size_t> live_offsets;
        uint8_t next_tag = 1;
        const int kOps = 100'000;
        for (int op = 0; op < kOps; ++op) {
            const bool do_alloc = live_offsets.empty() || rng() % 100 < 55;
            if (do_alloc) {
                // Mostly small sizes, sometimes large ones, sometimes exact powers of two.
                size_t bytes;
                switch (rng() % 4) {
                    case 0: bytes = rng() % 200; break;
                    case 1: bytes = rng() % (min_block * 8); break;
                    case 2: bytes = size_t{1} << (rng() % 20); break;
                    default: bytes = rng() % (capacity / 8); break;
                }
                const size_t block = expected_block(bytes, min_block);
                void* p = pool.allocate(bytes);
                if (!p) {
                    // Only when no free block is big enough.
                    REQUIRE(pool.stats().largest_free_block < block);
                    continue;
                }
                const size_t offset = static_cast<size_t>(static_cast<uint8_t*>(p) - pool.base());
                REQUIRE(offset + block <= capacity);
                REQUIRE(offset % block == 0);  // aligned to its own size, hence to 64 bytes
                REQUIRE(reinterpret_cast<uintptr_t>(p) % 64 == 0);
                REQUIRE(pool.block_size(p) == block);
                REQUIRE_FALSE(model.overlaps(offset, block));
                const uint8_t tag = next_tag++ == 0 ? next_tag++ : next_tag;
                static_cast<uint8_t*>(p)[0] = tag;
                static_cast<uint8_t*>(p)[block - 1] = tag;
                model.live[offset] = {block, tag};
                live_offsets.push_back(offset);
            } else {
                const size_t i = rng() % live_offsets.size();
                const size_t offset = live_offsets[i];
                live_offsets[i] = live_offsets.back();
                live_offsets.pop_back();
                const Model::Block b = model.live.at(offset);
                uint8_t* p = pool.base() + offset;
                REQUIRE(p[0] == b.tag);  // nobody else wrote into this block
                REQUIRE(p[b.size - 1] == b.tag);
                pool.free(p);
                model.live.erase(offset);
            }
            if (op % 500 == 0) {
                check_stats(pool, model);
                REQUIRE(pool.stats().largest_free_block == model.largest_free(capacity, min_block));
            }
        }
        check_stats(pool, model);
        for (size_t offset : live_offsets) pool.free(pool.base() + offset);
        const BuddyPool::Stats end = pool.stats();
        CHECK(end.in_use == 0);
        CHECK(end.live_allocations == 0);
        CHECK(end.largest_free_block == capacity);  // everything merged back into one block
        CHECK(end.fragmentation == 0.0);
        CHECK(end.total_allocations > 10'000);
    }
}

TEST_CASE("buddy pool: exhaustion returns nullptr or throws OutOfMemory", "[memory]") {
    BuddyPool pool(size_t{1} << 20);  // 256 blocks of 4 KiB
    std::vector<void*> blocks;
    for (int i = 0; i < 256; ++i) {
        void* p = pool.allocate(4096);
        REQUIRE(p != nullptr);
        blocks.push_back(p);
    }
    CHECK(pool.allocate(1) == nullptr);
    CHECK(pool.stats().free == 0);
    CHECK_THROWS_AS(pool.allocate_or_throw(100), OutOfMemory);
    try {
        pool.allocate_or_throw(5000);
    } catch (const OutOfMemory& e) {
        CHECK(std::string(e.what()).find("5000 bytes") != std::string::npos);
        CHECK(std::string(e.what()).find("1.0 MiB") != std::string::npos);  // the capacity
    }
    // Free every other block: half the pool is free, but only in 4 KiB pieces.
    for (size_t i = 0; i < blocks.size(); i += 2) pool.free(blocks[i]);
    BuddyPool::Stats s = pool.stats();
    CHECK(s.free == 128 * 4096);
    CHECK(s.largest_free_block == 4096);
    CHECK(s.fragmentation == Approx(1.0 - 1.0 / 128));
    CHECK(pool.allocate(8192) == nullptr);
    void* small = pool.allocate(4096);
    CHECK(small != nullptr);
    pool.free(small);
    for (size_t i = 1; i < blocks.size(); i += 2) pool.free(blocks[i]);
    CHECK(pool.stats().largest_free_block == (size_t{1} << 20));
    CHECK(pool.allocate((size_t{1} << 20) + 1) == nullptr);
    void* all = pool.allocate(size_t{1} << 20);
    CHECK(all == pool.base());
    pool.free(all);
}

TEST_CASE("buddy pool: bad frees are detected and change nothing", "[memory]") {
    BuddyPool pool(size_t{1} << 20);
    void* a = pool.allocate(10000);  // a 16 KiB block
    REQUIRE(a != nullptr);
    const BuddyPool::Stats before = pool.stats();
    int on_stack = 0;
    CHECK_THROWS_AS(pool.free(&on_stack), Error);
    CHECK_THROWS_AS(pool.free(static_cast<uint8_t*>(a) + 64), Error);    // inside the block
    CHECK_THROWS_AS(pool.free(static_cast<uint8_t*>(a) + 4096), Error);  // a unit inside the block
    CHECK(pool.stats().in_use == before.in_use);
    pool.free(a);
    CHECK_THROWS_AS(pool.free(a), Error);  // twice
    CHECK_THROWS_AS(pool.block_size(a), Error);
    pool.free(nullptr);  // allowed, like std::free
    CHECK(pool.stats().in_use == 0);
}

TEST_CASE("buddy pool: a capacity that is not a power of two", "[memory]") {
    const size_t capacity = (size_t{3} << 20) + 5 * 4096;
    BuddyPool pool(capacity);
    const BuddyPool::Stats initial = pool.stats();
    CHECK(initial.capacity == capacity);
    CHECK(initial.free == capacity);
    CHECK(initial.largest_free_block == (size_t{2} << 20));
    // Every byte can be handed out, in blocks that fit the uneven tail.
    std::vector<void*> blocks;
    size_t total = 0;
    while (void* p = pool.allocate(4096)) {
        blocks.push_back(p);
        total += 4096;
    }
    CHECK(total == capacity);
    for (void* p : blocks) pool.free(p);
    const BuddyPool::Stats end = pool.stats();
    CHECK(end.free == capacity);
    CHECK(end.largest_free_block == initial.largest_free_block);
    CHECK(end.fragmentation == Approx(initial.fragmentation));
}

TEST_CASE("buddy pool: options", "[memory]") {
    BuddyPool::Options bad;
    bad.min_block = 100;
    CHECK_THROWS_AS(BuddyPool(1 << 20, bad), Error);
    bad.min_block = 32;
    CHECK_THROWS_AS(BuddyPool(1 << 20, bad), Error);
    CHECK_THROWS_AS(BuddyPool(0), Error);

    // MAP_HUGETLB falls back to ordinary pages when none are reserved; either way the memory works.
    BuddyPool::Options huge;
    huge.hugetlb = true;
    BuddyPool h(size_t{4} << 20, huge);
    void* p = h.allocate(size_t{4} << 20);
    REQUIRE(p != nullptr);
    std::memset(p, 0xAB, size_t{4} << 20);
    CHECK(reinterpret_cast<uintptr_t>(h.base()) % (size_t{2} << 20) == 0);  // huge-page aligned
    h.free(p);

    BuddyPool::Options node0;
    node0.numa_node = 0;  // every Linux machine has node 0
    BuddyPool n(size_t{1} << 20, node0);
    void* q = n.allocate(1000);
    REQUIRE(q != nullptr);
    std::memset(q, 1, 1000);
    n.free(q);
}

TEST_CASE("buddy pool: thread-safe option under two threads", "[memory]") {
    BuddyPool::Options opt;
    opt.min_block = 64;
    opt.thread_safe = true;
    BuddyPool pool(size_t{4} << 20, opt);
    auto worker = [&](uint64_t seed) {
        std::mt19937_64 rng(seed);
        std::vector<std::pair<uint8_t*, size_t>> mine;
        for (int i = 0; i < 20'000; ++i) {
            if (mine.empty() || rng() % 2) {
                const size_t bytes = 1 + rng() % 3000;
                auto* p = static_cast<uint8_t*>(pool.allocate(bytes));
                if (!p) continue;
                std::memset(p, static_cast<int>(seed), bytes);
                mine.push_back({p, bytes});
            } else {
                const size_t k = rng() % mine.size();
                auto [p, bytes] = mine[k];
                for (size_t b = 0; b < bytes; b += 97)
                    if (p[b] != static_cast<uint8_t>(seed)) FAIL("block overwritten by the other thread");
                pool.free(p);
                mine[k] = mine.back();
                mine.pop_back();
            }
        }
        for (auto [p, bytes] : mine) pool.free(p);
    };
    std::thread t1(worker, 1), t2(worker, 2);
    t1.join();
    t2.join();
    CHECK(pool.stats().in_use == 0);
    CHECK(pool.stats().largest_free_block == (size_t{4} << 20));
}
