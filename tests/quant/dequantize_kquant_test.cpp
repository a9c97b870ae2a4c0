// Hand-built K-quant super-blocks. The scale bytes are packed by hand below (see the comments),
// selected elements are checked against values worked out on paper, and every element against a
// per-element formula written from the format description (index arithmetic, not loops over the
// layout like quant/dequantize.cpp).
#include <catch2/catch.hpp>

#include <cstring>
#include <vector>

#include "quant/blocks.h"
#include "quant/dequantize.h"
#include "quant/fp16.h"

using namespace silica;

namespace {

template <class Block>
std::vector<float> dequant(TensorType t, const Block& b) {
    std::vector<float> out(kQKK);
    dequantize_row(t, &b, out.data(), kQKK);
    return out;
}

// 6-bit scales/mins for Q4_K and Q5_K and their 12 packed bytes, packed by hand:
//  bytes 0-3:  scale[j] | (scale[j+4] >> 4) << 6 -> 0x41 0x82 0xC3 0xC4
//  bytes 4-7:  min[j]   | (min[j+4] >> 4) << 6   -> 0x40 0x81 0xC2 0x03
//  bytes 8-11: (scale[j+4] & 15) | (min[j+4] & 15) << 4 -> 0x41 0x81 0xD2 0x5F
const int kScale[8] = {1, 2, 3, 4, 17, 33, 50, 63};
const int kMin[8] = {0, 1, 2, 3, 20, 40, 61, 5};
const uint8_t kPackedK4[12] = {0x41, 0x82, 0xC3, 0xC4, 0x40, 0x81, 0xC2, 0x03, 0x41, 0x81, 0xD2, 0x5F};

BlockQ4_K make_q4_k() {
    BlockQ4_K b{};
    b.d = 0x3c00;     // 1.0
    b.dmin = 0x3800;  // 0.5
    std::memcpy(b.scales, kPackedK4, 12);
    for (int i = 0; i < 128; ++i) b.qs[i] = static_cast<uint8_t>((i % 16) | ((15 - i % 16) << 4));
    return b;
}

// Element e of a Q4_K/Q5_K block: 64-element chunk c = e / 64, r = e % 64; sub-block 2c + (r >= 32);
// 4 low bits: nibble (r >= 32) of qs[32c + r % 32]; Q5_K's 5th bit: bit 2c + (r >= 32) of qh[r % 32].
int k4_code(const uint8_t* qs, int e) {
    const int c = e / 64, r = e % 64;
    return (qs[32 * c + r % 32] >> (r >= 32 ? 4 : 0)) & 15;
}

}  // namespace

TEST_CASE("Q4_K hand block", "[dequantize][kquant]") {
    const BlockQ4_K b = make_q4_k();
    const auto y = dequant(TensorType::Q4_K, b);
    CHECK(y[0] == 0.0f);      // sub 0: 1*0 - 0.5*0
    CHECK(y[5] == 5.0f);      // sub 0: 1*5
    CHECK(y[40] == 13.5f);    // sub 1, code 15-8=7: 2*7 - 0.5*1
    CHECK(y[70] == 17.0f);    // sub 2, code 6: 3*6 - 0.5*2
    CHECK(y[150] == 92.0f);   // sub 4, code 6: 17*6 - 0.5*20
    CHECK(y[181] == 310.0f);  // sub 5, code 10: 33*10 - 0.5*40
    CHECK(y[200] == 369.5f);  // sub 6, code 8: 50*8 - 0.5*61
    CHECK(y[255] == -2.5f);   // sub 7, code 0: 63*0 - 0.5*5
    for (int e = 0; e < kQKK; ++e) {
        const int s = e / 32;
        const float expected = 1.0f * static_cast<float>(kScale[s]) * static_cast<float>(k4_code(b.qs, e)) -
                               0.5f * static_cast<float>(kMin[s]);
        INFO("element " << e);
        REQUIRE(y[e] == expected);
    }
}

TEST_CASE("Q5_K hand block", "[dequantize][kquant]") {
    BlockQ5_K b{};
    const BlockQ4_K b4 = make_q4_k();
    b.d = b4.d;
    b.dmin = b4.dmin;
    std::memcpy(b.scales, b4.scales, 12);
    std::memcpy(b.qs, b4.qs, 128);
    for (int l = 0; l < 32; ++l) b.qh[l] = (l % 2 == 0) ? 0x55 : 0xAA;  // even l: low halves get +16
    const auto y = dequant(TensorType::Q5_K, b);
    CHECK(y[5] == 5.0f);       // l=5 odd, bit 0 clear: code 5
    CHECK(y[4] == 20.0f);      // l=4 even, bit 0 set: code 4+16
    CHECK(y[40] == 13.5f);     // l=8 even, bit 1 clear: code 7 -> 2*7 - 0.5
    CHECK(y[41] == 43.5f);     // l=9 odd, bit 1 set: code 6+16 -> 2*22 - 0.5
    CHECK(y[150] == 364.0f);   // l=22 even, bit 4 set: code 22 -> 17*22 - 10
    CHECK(y[255] == 1005.5f);  // l=31 odd, bit 7 set: code 16 -> 63*16 - 2.5
    for (int e = 0; e < kQKK; ++e) {
        const int s = e / 32, c = e / 64, r = e % 64;
        const int code = k4_code(b.qs, e) | (((b.qh[r % 32] >> (2 * c + (r >= 32))) & 1) << 4);
        const float expected =
            1.0f * static_cast<float>(kScale[s]) * static_cast<float>(code) - 0.5f * static_cast<float>(kMin[s]);
        INFO("element " << e);
        REQUIRE(y[e] == expected);
    }
}

TEST_CASE("Q6_K hand block", "[dequantize][kquant]") {
    BlockQ6_K b{};
    b.d = 0x3800;  // 0.5
    const int8_t scales[16] = {1, -2, 3, -4, 5, -6, 7, -8, 9, -10, 11, -12, 13, -14, 15, -128};
    std::memcpy(b.scales, scales, 16);
    for (int i = 0; i < 128; ++i) b.ql[i] = static_cast<uint8_t>((i % 16) | ((15 - i % 16) << 4));
    // 0x1B: bit pairs (0-1, 2-3, 4-5, 6-7) = 3, 2, 1, 0; 0xE4: 0, 1, 2, 3.
    for (int i = 0; i < 64; ++i) b.qh[i] = (i % 4 == 0) ? 0x1B : 0xE4;
    const auto y = dequant(TensorType::Q6_K, b);
    CHECK(y[0] == 8.0f);        // ql[0] low 0, qh[0] pair 0 = 3: 48-32 = 16; 0.5*1*16
    CHECK(y[33] == -22.5f);     // ql[33] low 1, qh[1] pair 1 = 1: 17-32 = -15; 0.5*3*-15
    CHECK(y[70] == 22.5f);      // ql[6] high 9, qh[6] pair 2 = 2: 41-32 = 9; 0.5*5*9
    CHECK(y[100] == -73.5f);    // ql[36] high 11, qh[4] pair 3 = 0: -21; 0.5*7*-21
    CHECK(y[130] == -135.0f);   // ql[66] low 2, qh[34] pair 0 = 0: -30; 0.5*9*-30
    CHECK(y[255] == -1024.0f);  // ql[127] high 0, qh[63] pair 3 = 3: 16; 0.5*-128*16
    for (int e = 0; e < kQKK; ++e) {
        const int h = e / 128, t = (e % 128) / 32, l = e % 32;
        const int low = (b.ql[64 * h + l + 32 * (t & 1)] >> (4 * (t >> 1))) & 15;
        const int high = (b.qh[32 * h + l] >> (2 * t)) & 3;
        const float expected = 0.5f * static_cast<float>(scales[e / 16]) * static_cast<float>((low | (high << 4)) - 32);
        INFO("element " << e);
        REQUIRE(y[e] == expected);
    }
}

TEST_CASE("Q2_K hand block", "[dequantize][kquant]") {
    BlockQ2_K b{};
    b.d = 0x3800;     // 0.5
    b.dmin = 0x3400;  // 0.25
    for (int s = 0; s < 16; ++s) b.scales[s] = static_cast<uint8_t>(s | ((15 - s) << 4));  // scale s, min 15-s
    for (int i = 0; i < 64; ++i) b.qs[i] = (i % 2 == 0) ? 0xE4 : 0x1B;
    const auto y = dequant(TensorType::Q2_K, b);
    CHECK(y[0] == -3.75f);   // sub 0, qs[0] pair 0 = 0: 0 - 0.25*15
    CHECK(y[40] == -2.25f);  // sub 2, qs[8] pair 1 = 1: 0.5*2*1 - 0.25*13
    CHECK(y[41] == -1.25f);  // sub 2, qs[9] pair 1 = 2: 0.5*2*2 - 0.25*13
    CHECK(y[100] == 6.75f);  // sub 6, qs[4] pair 3 = 3: 0.5*6*3 - 0.25*9
    CHECK(y[255] == 0.0f);   // sub 15, qs[63] pair 3 = 0: 0 - 0
    for (int e = 0; e < kQKK; ++e) {
        const int s = e / 16;
        const int code = (b.qs[32 * (e / 128) + e % 32] >> (2 * ((e % 128) / 32))) & 3;
        const float expected = 0.5f * static_cast<float>(s) * static_cast<float>(code) - 0.25f * static_cast<float>(15 - s);
        INFO("element " << e);
        REQUIRE(y[e] == expected);
    }
}

TEST_CASE("Q3_K hand block", "[dequantize][kquant]") {
    BlockQ3_K b{};
    b.d = 0x3c00;  // 1.0
    // Biased 6-bit scales s_j = 4j + 3 (value s_j - 32 = 4j - 29). Packed by hand:
    //  bytes 0-7: low nibble = s_j & 15 (j < 8), high nibble = s_{j+8} & 15 -> 33 77 BB FF 33 77 BB FF
    //  bytes 8-11: bit pair j/4 of byte 8 + j%4 = s_j >> 4 (0,0,0,0,1,1,1,1,2,...) -> E4 E4 E4 E4
    const uint8_t packed[12] = {0x33, 0x77, 0xBB, 0xFF, 0x33, 0x77, 0xBB, 0xFF, 0xE4, 0xE4, 0xE4, 0xE4};
    std::memcpy(b.scales, packed, 12);
    for (int i = 0; i < 64; ++i) b.qs[i] = (i % 2 == 0) ? 0xE4 : 0x1B;
    for (int l = 0; l < 32; ++l) b.hmask[l] = (l % 2 == 0) ? 0x0F : 0xF0;
    const auto y = dequant(TensorType::Q3_K, b);
    CHECK(y[0] == 0.0f);     // qs[0] pair 0 = 0, hmask[0] bit 0 set: 0
    CHECK(y[33] == 42.0f);   // sub 2 (-21), qs[1] pair 1 = 2, hmask[1] bit 1 clear: 2-4 = -2
    CHECK(y[69] == 39.0f);   // sub 4 (-13), qs[5] pair 2 = 1, hmask[5] bit 2 clear: -3
    CHECK(y[100] == -15.0f); // sub 6 (-5), qs[4] pair 3 = 3, hmask[4] bit 3 set: 3
    CHECK(y[130] == -12.0f); // sub 8 (3), qs[34] pair 0 = 0, hmask[2] bit 4 clear: -4
    CHECK(y[200] == -38.0f); // sub 12 (19), qs[40] pair 2 = 2, hmask[8] bit 6 clear: -2
    for (int e = 0; e < kQKK; ++e) {
        const int h = e / 128, t = (e % 128) / 32, r = e % 32;
        const int low = (b.qs[32 * h + r] >> (2 * t)) & 3;
        const bool high = (b.hmask[r] >> (4 * h + t)) & 1;
        const float expected = 1.0f * static_cast<float>(4 * (e / 16) - 29) * static_cast<float>(low - (high ? 0 : 4));
        INFO("element " << e);
        REQUIRE(y[e] == expected);
    }
}
