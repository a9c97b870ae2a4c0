#include <catch2/catch.hpp>

#include <cstring>

#include "memory/aligned_buffer.h"
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
