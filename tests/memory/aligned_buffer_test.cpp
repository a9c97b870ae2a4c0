#include <catch2/catch.hpp>

#include <cstdint>
#include <utility>

#include "memory/aligned_buffer.h"
#include "silica/error.h"

using namespace silica;

TEST_CASE("aligned buffer: alignment, zeroing, moves", "[memory]") {
    for (size_t alignment : {size_t{64}, size_t{4096}}) {
        for (size_t bytes : {size_t{1}, size_t{63}, size_t{1000}, size_t{1} << 20}) {
            AlignedBuffer b(bytes, alignment, true);
            REQUIRE(b.size() == bytes);
            CHECK(reinterpret_cast<uintptr_t>(b.data()) % alignment == 0);
            bool all_zero = true;
            for (size_t i = 0; i < bytes; ++i) all_zero &= b.as<uint8_t>()[i] == 0;
            CHECK(all_zero);
        }
    }
    AlignedBuffer a(256);
    a.as<float>()[3] = 1.5f;
    std::byte* p = a.data();
    AlignedBuffer b(std::move(a));
    CHECK(b.data() == p);
    CHECK(b.as<float>()[3] == 1.5f);
    CHECK(a.data() == nullptr);  // NOLINT: moved-from is empty by contract
    CHECK(a.empty());
    AlignedBuffer c;
    c = std::move(b);
    CHECK(c.data() == p);
    CHECK(c.size() == 256);

    c.ensure(100);  // already big enough: same memory
    CHECK(c.data() == p);
    c.ensure(1 << 16);
    CHECK(c.size() == (1u << 16));
    CHECK(reinterpret_cast<uintptr_t>(c.data()) % 64 == 0);

    CHECK(AlignedBuffer(0).data() == nullptr);
    CHECK_THROWS_AS(AlignedBuffer(64, 48), Error);
    CHECK_THROWS_AS(AlignedBuffer(64, 2), Error);
}
