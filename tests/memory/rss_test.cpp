#include <catch2/catch.hpp>

#include <cstring>

#include "memory/aligned_buffer.h"
#include "memory/buddy_pool.h"
#include "memory/rss.h"

using namespace silica;

TEST_CASE("rss: touching anonymous memory shows up in RSS, RssAnon and the peak", "[memory]") {
    const RssInfo before = read_rss();
    REQUIRE(before.valid);
    CHECK(before.current > 0);
    CHECK(before.peak >= before.current);
    CHECK(before.file > 0);  // at least this program's own code pages
    CHECK(before.anonymous + before.file + before.shmem == before.current);

    const size_t bytes = size_t{64} << 20;
    AlignedBuffer buffer(bytes, 4096);
    std::memset(buffer.data(), 1, bytes);  // make every page resident
    const RssInfo after = read_rss();
    REQUIRE(after.valid);
    CHECK(after.anonymous >= before.anonymous + bytes * 9 / 10);
    CHECK(after.current >= before.current + bytes * 9 / 10);
    CHECK(after.peak >= after.current);
}

TEST_CASE("rss: a buddy pool gives freed pages back on release_free_memory()", "[memory]") {
    const size_t bytes = size_t{32} << 20;
    BuddyPool pool(bytes * 2);
    void* keep = pool.allocate(4096);
    REQUIRE(keep != nullptr);
    std::memset(keep, 7, 4096);
    void* p = pool.allocate(bytes);
    REQUIRE(p != nullptr);
    const RssInfo before_touch = read_rss();
    std::memset(p, 1, bytes);
    const RssInfo touched = read_rss();
    CHECK(touched.anonymous >= before_touch.anonymous + bytes * 9 / 10);
    pool.free(p);
    CHECK(read_rss().anonymous >= before_touch.anonymous + bytes * 9 / 10);  // free alone keeps the pages
    CHECK(pool.release_free_memory() >= bytes);
    const RssInfo released = read_rss();
    CHECK(released.anonymous + bytes * 9 / 10 <= touched.anonymous);
    CHECK(static_cast<uint8_t*>(keep)[4095] == 7);  // live blocks keep their contents
    void* again = pool.allocate(bytes);
    REQUIRE(again != nullptr);
    CHECK(static_cast<uint8_t*>(again)[12345] == 0);  // released pages come back zeroed
    pool.free(again);
    pool.free(keep);
}
