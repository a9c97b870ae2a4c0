// Hand-computed blocks of the 32-element formats: every expected value below is written out from
// the format definition, not produced by Silica code.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "quant/blocks.h"
#include "quant/dequantize.h"
#include "quant/fp16.h"
#include "silica/error.h"

using namespace silica;

namespace {

constexpr uint16_t kHalf = 0x3800;     // 0.5
constexpr uint16_t kOne = 0x3c00;      // 1.0
constexpr uint16_t kMinusTwo = 0xc000; // -2.0
constexpr uint16_t kQuarter = 0x3400;  // 0.25

template <class Block>
std::vector<float> dequant(TensorType t, const Block& b) {
    std::vector<float> out(kQK);
    dequantize_row(t, &b, out.data(), kQK);
    return out;
}

}  // namespace

TEST_CASE("Q8_0 hand block", "[dequantize]") {
    BlockQ8_0 b{};
    b.d = kHalf;
    for (int i = 0; i < kQK; ++i) b.qs[i] = static_cast<int8_t>(i * 8 - 128);  // -128, -120, ..., 120
    const auto y = dequant(TensorType::Q8_0, b);
    CHECK(y[0] == -64.0f);
    CHECK(y[1] == -60.0f);
    CHECK(y[16] == 0.0f);
    CHECK(y[31] == 60.0f);
}

TEST_CASE("Q4_0 hand block: low nibbles are elements 0-15, high nibbles 16-31", "[dequantize]") {
    BlockQ4_0 b{};
    b.d = kMinusTwo;
    for (int j = 0; j < 16; ++j) b.qs[j] = static_cast<uint8_t>(j | ((15 - j) << 4));
    const auto y = dequant(TensorType::Q4_0, b);
    CHECK(y[0] == 16.0f);    // (0 - 8) * -2
    CHECK(y[8] == -0.0f);    // (8 - 8) * -2
    CHECK(y[15] == -14.0f);  // (15 - 8) * -2
    CHECK(y[16] == -14.0f);  // high nibble of qs[0] = 15
    CHECK(y[31] == 16.0f);   // high nibble of qs[15] = 0
}

TEST_CASE("Q4_1 hand block", "[dequantize]") {
    BlockQ4_1 b{};
    b.d = kHalf;
    b.m = kMinusTwo;
    for (int j = 0; j < 16; ++j) b.qs[j] = static_cast<uint8_t>(j | (3 << 4));
    const auto y = dequant(TensorType::Q4_1, b);
    CHECK(y[0] == -2.0f);   // 0 * 0.5 - 2
    CHECK(y[5] == 0.5f);    // 5 * 0.5 - 2
    CHECK(y[15] == 5.5f);   // 15 * 0.5 - 2
    CHECK(y[20] == -0.5f);  // 3 * 0.5 - 2
}

TEST_CASE("Q5_0 hand block: bit i of qh (little endian) is element i's 5th bit", "[dequantize]") {
    BlockQ5_0 b{};
    b.d = kOne;
    // qh = 0x80010003: elements 0, 1, 16 and 31 have the 5th bit set.
    b.qh[0] = 0x03; b.qh[1] = 0x00; b.qh[2] = 0x01; b.qh[3] = 0x80;
    for (int j = 0; j < 16; ++j) b.qs[j] = static_cast<uint8_t>(0x0f | (0x02 << 4));  // low 15, high 2
    const auto y = dequant(TensorType::Q5_0, b);
    CHECK(y[0] == 15.0f);    // 16 + 15 - 16
    CHECK(y[1] == 15.0f);
    CHECK(y[2] == -1.0f);    // 15 - 16
    CHECK(y[16] == 2.0f);    // 16 + 2 - 16
    CHECK(y[17] == -14.0f);  // 2 - 16
    CHECK(y[31] == 2.0f);
}

TEST_CASE("Q5_1 hand block", "[dequantize]") {
    BlockQ5_1 b{};
    b.d = kQuarter;
    b.m = kOne;
    b.qh[1] = 0x02;  // bit 9: element 9
    b.qh[3] = 0x40;  // bit 30: element 30
    for (int j = 0; j < 16; ++j) b.qs[j] = static_cast<uint8_t>(1 | (4 << 4));
    const auto y = dequant(TensorType::Q5_1, b);
    CHECK(y[0] == 1.25f);   // 1 * 0.25 + 1
    CHECK(y[9] == 5.25f);   // 17 * 0.25 + 1
    CHECK(y[16] == 2.0f);   // 4 * 0.25 + 1
    CHECK(y[30] == 6.0f);   // 20 * 0.25 + 1
}

TEST_CASE("MXFP4 hand blocks: all 16 codes, e = 127, 0, 1, 254, 255", "[dequantize][mxfp4]") {
    const float codes[16] = {0, 0.5f, 1, 1.5f, 2, 3, 4, 6, -0.0f, -0.5f, -1, -1.5f, -2, -3, -4, -6};
    BlockMXFP4 b{};
    for (int j = 0; j < 16; ++j) b.qs[j] = static_cast<uint8_t>(j | ((15 - j) << 4));
    struct Case { uint8_t e; float scale; };
    const Case cases[] = {{127, 1.0f}, {128, 2.0f}, {120, 0x1p-7f}, {0, 0x1p-127f}, {1, 0x1p-126f}, {254, 0x1p127f}};
    for (const auto& c : cases) {
        b.e = c.e;
        const auto y = dequant(TensorType::MXFP4, b);
        for (int j = 0; j < 16; ++j) {
            INFO("e=" << int(c.e) << " j=" << j);
            REQUIRE(y[j] == codes[j] * c.scale);
            REQUIRE(y[16 + j] == codes[15 - j] * c.scale);
        }
    }
    // e = 0: 0.5 * 2^-127 = 2^-128 (subnormal) must come out exactly, not flushed.
    b.e = 0;
    auto y = dequant(TensorType::MXFP4, b);
    CHECK(y[1] == 0x1p-128f);
    CHECK(y[9] == -0x1p-128f);
    CHECK(y[7] == 0x1.8p-125f);
    // e = 254: 6 * 2^127 overflows float: inf, exactly as code x 2^(e-127) rounds.
    b.e = 254;
    y = dequant(TensorType::MXFP4, b);
    CHECK(y[1] == 0x1p126f);
    CHECK(std::isinf(y[7]));
    CHECK(std::isinf(y[15]));
    CHECK(y[15] < 0);
    // e = 255 (NaN in OCP E8M0): ggml decodes it as 2^128; 0.5 * 2^128 = 2^127 is finite.
    b.e = 255;
    y = dequant(TensorType::MXFP4, b);
    CHECK(y[1] == 0x1p127f);
    CHECK(y[2] == std::numeric_limits<float>::infinity());
    // Code 8 ("-0") decodes to +0, as in ggml (its value table holds an integer 0 there).
    CHECK(y[8] == 0.0f);
    CHECK(!std::signbit(y[8]));
}

TEST_CASE("F32, F16 and BF16 rows", "[dequantize]") {
    const float f[4] = {1.5f, -2.25f, 0.0f, 1e-3f};
    float y[4];
    dequantize_row(TensorType::F32, f, y, 4);
    CHECK(std::memcmp(f, y, sizeof f) == 0);
    const uint16_t h[4] = {0x3e00, 0xc080, 0x0001, 0x7c00};
    dequantize_row(TensorType::F16, h, y, 4);
    CHECK(y[0] == 1.5f);
    CHECK(y[1] == -2.25f);
    CHECK(y[2] == 0x1p-24f);
    CHECK(std::isinf(y[3]));
    const uint16_t bf[4] = {0x3fc0, 0xc010, 0x0000, 0x4049};
    dequantize_row(TensorType::BF16, bf, y, 4);
    CHECK(y[0] == 1.5f);
    CHECK(y[1] == -2.25f);
    CHECK(y[2] == 0.0f);
    CHECK(y[3] == 3.140625f);
}

TEST_CASE("dequantize_row handles several blocks and rejects bad input", "[dequantize]") {
    BlockQ8_0 blocks[3]{};
    for (int i = 0; i < 3; ++i) {
        blocks[i].d = f32_to_fp16(static_cast<float>(i + 1));
        for (int j = 0; j < kQK; ++j) blocks[i].qs[j] = static_cast<int8_t>(j - 16);
    }
    std::vector<float> y(3 * kQK);
    dequantize_row(TensorType::Q8_0, blocks, y.data(), 3 * kQK);
    CHECK(y[0] == -16.0f);
    CHECK(y[kQK + 1] == -30.0f);
    CHECK(y[2 * kQK + 31] == 45.0f);
    CHECK_THROWS_AS(dequantize_row(TensorType::Q8_0, blocks, y.data(), 33), Error);
    CHECK_THROWS_AS(dequantize_row(TensorType::Q4_K, blocks, y.data(), 32), Error);
    CHECK_THROWS_AS(dequantize_row(TensorType::Q8_0, blocks, y.data(), -32), Error);
    CHECK_THROWS_AS(dequantize_row(TensorType::Q8_K, blocks, y.data(), 256), Error);
    CHECK_THROWS_AS(dequantize_row(TensorType::I32, blocks, y.data(), 4), Error);
    CHECK_THROWS_AS(dequantize_row(static_cast<TensorType>(1234), blocks, y.data(), 4), Error);
    dequantize_row(TensorType::Q8_0, blocks, y.data(), 0);  // nothing to do
}
