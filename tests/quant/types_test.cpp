// The per-type table (quant/types.h): every GGUF type id Silica knows maps to its own traits, and
// ids it does not know (gaps between known ids, ids past the table) give nothing.
#include <catch2/catch.hpp>

#include <cstdint>
#include <set>

#include "quant/types.h"

using namespace silica;

TEST_CASE("type_traits: known ids give their own traits, unknown ids none") {
    const std::set<uint32_t> known = {0, 1, 2, 3, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 30, 39};
    for (uint32_t id = 0; id < 300; ++id) {
        const auto t = type_traits(id);
        INFO("type id " << id);
        CHECK(t.has_value() == (known.count(id) == 1));
        if (!t) continue;
        CHECK(static_cast<uint32_t>(t->type) == id);
        CHECK(type_traits(t->type).name == t->name);
        CHECK(type_from_name(t->name) == t->type);
    }
    CHECK_FALSE(type_traits(0xffffffffu).has_value());
    CHECK(type_traits(TensorType::Q8_0).block_size == 32);
    CHECK(type_traits(TensorType::Q8_0).block_bytes == 34);
    CHECK(type_traits(TensorType::MXFP4).block_bytes == 17);
    CHECK(row_bytes(type_traits(TensorType::F16), 64) == 128);
}
