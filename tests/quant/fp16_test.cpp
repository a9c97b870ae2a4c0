// fp16 / bf16 conversions: exhaustive round trips, every rounding midpoint, known values, and a
// comparison with the compiler's own _Float16 conversions (libgcc, an independent implementation).
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>

#include "quant/fp16.h"

using namespace silica;

namespace {

bool is_fp16_nan(uint16_t h) { return (h & 0x7c00) == 0x7c00 && (h & 0x03ff) != 0; }

// Independent decode of a finite fp16: (-1)^s * 2^(e-15) * (1 + m/1024), or 2^-14 * m/1024.
double fp16_value(uint16_t h) {
    const int s = h >> 15, e = (h >> 10) & 31, m = h & 1023;
    const double mag = e == 0 ? std::ldexp(m, -24) : std::ldexp(1024 + m, e - 25);
    return s ? -mag : mag;
}

}  // namespace

TEST_CASE("fp16_to_f32 decodes every fp16 value exactly", "[fp16]") {
    for (uint32_t i = 0; i < 65536; ++i) {
        const auto h = static_cast<uint16_t>(i);
        const float f = fp16_to_f32(h);
        if ((h & 0x7c00) == 0x7c00) {
            if (h & 0x3ff) {
                REQUIRE(std::isnan(f));
            } else {
                REQUIRE(std::isinf(f));
                REQUIRE(std::signbit(f) == bool(h >> 15));
            }
            continue;
        }
        REQUIRE(static_cast<double>(f) == fp16_value(h));
        REQUIRE(std::signbit(f) == bool(h >> 15));  // -0 stays -0
    }
}

TEST_CASE("f32_to_fp16 round-trips every fp16 value", "[fp16]") {
    for (uint32_t i = 0; i < 65536; ++i) {
        const auto h = static_cast<uint16_t>(i);
        const uint16_t back = f32_to_fp16(fp16_to_f32(h));
        if (is_fp16_nan(h))
            REQUIRE(is_fp16_nan(back));
        else
            REQUIRE(back == h);
    }
}

TEST_CASE("f32_to_fp16 rounds every midpoint to even and its neighbours to nearest", "[fp16]") {
    // Positive finite fp16 values a < b adjacent; their midpoint is exact in float32.
    for (uint32_t i = 0; i < 0x7bff; ++i) {
        const auto a = static_cast<uint16_t>(i), b = static_cast<uint16_t>(i + 1);
        const float fa = fp16_to_f32(a), fb = fp16_to_f32(b);
        const float mid = static_cast<float>((static_cast<double>(fa) + fb) / 2);
        REQUIRE(static_cast<double>(mid) == (static_cast<double>(fa) + fb) / 2);
        const uint16_t even = (a & 1) ? b : a;
        REQUIRE(f32_to_fp16(mid) == even);
        REQUIRE(f32_to_fp16(-mid) == (even | 0x8000));
        REQUIRE(f32_to_fp16(std::nextafter(mid, 0.0f)) == a);
        REQUIRE(f32_to_fp16(std::nextafter(mid, 1e9f)) == b);
    }
}

TEST_CASE("f32_to_fp16 known values: overflow, subnormals, zero, inf, nan", "[fp16]") {
    CHECK(f32_to_fp16(1.0f) == 0x3c00);
    CHECK(f32_to_fp16(-2.0f) == 0xc000);
    CHECK(f32_to_fp16(0.333333343f) == 0x3555);
    CHECK(f32_to_fp16(65504.0f) == 0x7bff);                      // largest finite
    CHECK(f32_to_fp16(65519.996f) == 0x7bff);                    // just below the midpoint to 2^16
    CHECK(f32_to_fp16(65520.0f) == 0x7c00);                      // midpoint: ties to even = inf
    CHECK(f32_to_fp16(1e10f) == 0x7c00);
    CHECK(f32_to_fp16(-1e10f) == 0xfc00);
    CHECK(f32_to_fp16(std::numeric_limits<float>::infinity()) == 0x7c00);
    CHECK(f32_to_fp16(-std::numeric_limits<float>::infinity()) == 0xfc00);
    CHECK(f32_to_fp16(0x1p-14f) == 0x0400);                      // smallest normal
    CHECK(f32_to_fp16(0x1p-24f) == 0x0001);                      // smallest subnormal
    CHECK(f32_to_fp16(0x1p-25f) == 0x0000);                      // half of it: ties to even = 0
    CHECK(f32_to_fp16(0x1.000002p-25f) == 0x0001);               // a hair above half
    CHECK(f32_to_fp16(0x1.8p-24f) == 0x0002);                    // 1.5 units: ties to even = 2
    CHECK(f32_to_fp16(0x1.ffcp-15f) == 0x0400);                  // 1023.5 units: ties up to the smallest normal
    CHECK(f32_to_fp16(1e-30f) == 0x0000);
    CHECK(f32_to_fp16(-1e-30f) == 0x8000);                       // sign kept on underflow
    CHECK(f32_to_fp16(-0.0f) == 0x8000);
    CHECK(f32_to_fp16(std::numeric_limits<float>::denorm_min()) == 0x0000);
    CHECK(is_fp16_nan(f32_to_fp16(std::numeric_limits<float>::quiet_NaN())));
    CHECK(is_fp16_nan(f32_to_fp16(f32_from_bits(0x7f800001u))));  // payload only in the low bits
    CHECK(is_fp16_nan(f32_to_fp16(f32_from_bits(0xff800001u))));
    CHECK(fp16_to_f32(0x7bff) == 65504.0f);
    CHECK(fp16_to_f32(0x0001) == 0x1p-24f);
    CHECK(fp16_to_f32(0x03ff) == 0x1.ff8p-15f);
}

#if defined(__FLT16_MAX__)
TEST_CASE("f32_to_fp16 agrees with the compiler's _Float16 on random floats", "[fp16]") {
    std::mt19937 rng(12345);
    for (int i = 0; i < 2000000; ++i) {
        uint32_t u = rng();
        // Concentrate half of the samples on the fp16 range (float exponents 100..145).
        if (i & 1) u = (u & 0x807fffffu) | ((100u + (u >> 23) % 46u) << 23);
        const float f = f32_from_bits(u);
        if (std::isnan(f)) continue;
        const _Float16 h = static_cast<_Float16>(f);
        uint16_t expected;
        std::memcpy(&expected, &h, 2);
        REQUIRE(f32_to_fp16(f) == expected);
    }
}
#endif

TEST_CASE("bf16 round trip, RNE ties, overflow, nan", "[bf16]") {
    for (uint32_t i = 0; i < 65536; ++i) {
        const auto b = static_cast<uint16_t>(i);
        const float f = bf16_to_f32(b);
        REQUIRE(f32_bits(f) == (i << 16));
        const uint16_t back = f32_to_bf16(f);
        if (std::isnan(f))
            REQUIRE(std::isnan(bf16_to_f32(back)));
        else
            REQUIRE(back == b);
    }
    CHECK(f32_to_bf16(1.0f) == 0x3f80);
    CHECK(f32_to_bf16(f32_from_bits(0x3f808000u)) == 0x3f80);  // tie, even below
    CHECK(f32_to_bf16(f32_from_bits(0x3f818000u)) == 0x3f82);  // tie, even above
    CHECK(f32_to_bf16(f32_from_bits(0x3f808001u)) == 0x3f81);  // above the tie
    CHECK(f32_to_bf16(f32_from_bits(0x3f807fffu)) == 0x3f80);  // below the tie
    CHECK(f32_to_bf16(f32_from_bits(0xbf818000u)) == 0xbf82);  // negative tie
    CHECK(f32_to_bf16(f32_from_bits(0x7f7fffffu)) == 0x7f80);  // FLT_MAX rounds to inf
    CHECK(f32_to_bf16(std::numeric_limits<float>::infinity()) == 0x7f80);
    CHECK(f32_to_bf16(-0.0f) == 0x8000);
    CHECK(f32_to_bf16(f32_from_bits(0x00000001u)) == 0x0000);  // float subnormals round normally
    CHECK(f32_to_bf16(f32_from_bits(0x00008000u)) == 0x0000);  // tie to even (0)
    CHECK(f32_to_bf16(f32_from_bits(0x00018000u)) == 0x0002);  // tie to even (2)
    // NaNs whose payload lives only in the dropped bits must not become inf.
    CHECK(std::isnan(bf16_to_f32(f32_to_bf16(f32_from_bits(0x7f800001u)))));
    CHECK(std::isnan(bf16_to_f32(f32_to_bf16(f32_from_bits(0xff800001u)))));
    CHECK(std::isnan(bf16_to_f32(f32_to_bf16(f32_from_bits(0x7fffffffu)))));
    CHECK(std::signbit(bf16_to_f32(f32_to_bf16(f32_from_bits(0xffc00000u)))));
}
