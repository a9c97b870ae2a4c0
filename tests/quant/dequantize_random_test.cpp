// dequantize_row on random blocks of every type against per-element formulas written from the
// format descriptions. The float operations follow ggml's order ((d * scale) * q - (dmin * min)),
// so equality is exact; MXFP4 is checked against code * 2^(e-127) computed in double (exact), which
// also proves that the doubled-table / 2^(e-128) route loses nothing for any e, 0 and 255 included.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "quant/blocks.h"
#include "quant/dequantize.h"
#include "quant/fp16.h"

using namespace silica;

namespace {

float h(const uint8_t* p) {
    uint16_t v;
    std::memcpy(&v, p, 2);
    return fp16_to_f32(v);
}

// Element i of the 32-element Q4/Q5 layouts: low nibble of qs[i] for i < 16, high nibble of qs[i-16].
int nib(const uint8_t* qs, int i) { return i < 16 ? (qs[i] & 15) : (qs[i - 16] >> 4); }
int bit5(const uint8_t* qh, int i) { return (qh[i / 8] >> (i % 8)) & 1; }

// Q4_K / Q5_K 6-bit scale and min of sub-block j from the 12 packed bytes.
int k4_scale(const uint8_t* s, int j) { return j < 4 ? (s[j] & 63) : ((s[j + 4] & 15) | ((s[j - 4] >> 6) << 4)); }
int k4_min(const uint8_t* s, int j) { return j < 4 ? (s[j + 4] & 63) : ((s[j + 4] >> 4) | ((s[j] >> 6) << 4)); }

float expected_value(TensorType t, const uint8_t* b, int i) {
    switch (t) {
        case TensorType::Q8_0: return static_cast<float>(static_cast<int8_t>(b[2 + i])) * h(b);
        case TensorType::Q4_0: return static_cast<float>(nib(b + 2, i) - 8) * h(b);
        case TensorType::Q4_1: return static_cast<float>(nib(b + 4, i)) * h(b) + h(b + 2);
        case TensorType::Q5_0: return static_cast<float>((nib(b + 6, i) | (bit5(b + 2, i) << 4)) - 16) * h(b);
        case TensorType::Q5_1: return static_cast<float>(nib(b + 8, i) | (bit5(b + 4, i) << 4)) * h(b) + h(b + 2);
        case TensorType::MXFP4: {
            static const double kCode[16] = {0, .5, 1, 1.5, 2, 3, 4, 6, 0, -.5, -1, -1.5, -2, -3, -4, -6};
            return static_cast<float>(std::ldexp(kCode[nib(b + 1, i)], b[0] - 127));
        }
        case TensorType::Q4_K: {  // d, dmin, scales[12], qs[128]
            const int c = i / 64, r = i % 64, sub = i / 32;
            const int q = (b[16 + 32 * c + r % 32] >> (r >= 32 ? 4 : 0)) & 15;
            return h(b) * static_cast<float>(k4_scale(b + 4, sub)) * static_cast<float>(q) -
                   h(b + 2) * static_cast<float>(k4_min(b + 4, sub));
        }
        case TensorType::Q5_K: {  // d, dmin, scales[12], qh[32], qs[128]
            const int c = i / 64, r = i % 64, sub = i / 32;
            const int q = ((b[48 + 32 * c + r % 32] >> (r >= 32 ? 4 : 0)) & 15) |
                          (((b[16 + r % 32] >> (2 * c + (r >= 32))) & 1) << 4);
            return h(b) * static_cast<float>(k4_scale(b + 4, sub)) * static_cast<float>(q) -
                   h(b + 2) * static_cast<float>(k4_min(b + 4, sub));
        }
        case TensorType::Q6_K: {  // ql[128], qh[64], scales[16], d
            const int half = i / 128, t4 = (i % 128) / 32, l = i % 32;
            const int low = (b[64 * half + l + 32 * (t4 & 1)] >> (4 * (t4 >> 1))) & 15;
            const int high = (b[128 + 32 * half + l] >> (2 * t4)) & 3;
            const auto scale = static_cast<int8_t>(b[192 + i / 16]);
            return h(b + 208) * static_cast<float>(scale) * static_cast<float>((low | (high << 4)) - 32);
        }
        case TensorType::Q2_K: {  // scales[16], qs[64], d, dmin
            const int q = (b[16 + 32 * (i / 128) + i % 32] >> (2 * ((i % 128) / 32))) & 3;
            const uint8_t sc = b[i / 16];
            return h(b + 80) * static_cast<float>(sc & 15) * static_cast<float>(q) - h(b + 82) * static_cast<float>(sc >> 4);
        }
        case TensorType::Q3_K: {  // hmask[32], qs[64], scales[12], d
            const int j = i / 16;
            const uint8_t* s = b + 96;
            const int scale = ((j < 8 ? s[j] : s[j - 8] >> 4) & 15) | (((s[8 + j % 4] >> (2 * (j / 4))) & 3) << 4);
            const int low = (b[32 + 32 * (i / 128) + i % 32] >> (2 * ((i % 128) / 32))) & 3;
            const int high = (b[i % 32] >> (4 * (i / 128) + (i % 128) / 32)) & 1;
            return h(b + 108) * static_cast<float>(scale - 32) * static_cast<float>(low - (high ? 0 : 4));
        }
        default: return NAN;
    }
}

// Byte offsets of the fp16 fields of each block type, to keep random scales finite (a NaN scale
// would make the comparison meaningless).
std::vector<int> fp16_fields(TensorType t) {
    switch (t) {
        case TensorType::Q8_0: case TensorType::Q4_0: case TensorType::Q5_0: return {0};
        case TensorType::Q4_1: case TensorType::Q5_1: case TensorType::Q4_K: case TensorType::Q5_K: return {0, 2};
        case TensorType::Q6_K: return {208};
        case TensorType::Q2_K: return {80, 82};
        case TensorType::Q3_K: return {108};
        default: return {};
    }
}

}  // namespace

TEST_CASE("dequantize_row matches the per-element format definitions on random blocks", "[dequantize]") {
    const TensorType types[] = {TensorType::Q8_0, TensorType::Q4_0, TensorType::Q4_1, TensorType::Q5_0,
                                TensorType::Q5_1, TensorType::MXFP4, TensorType::Q2_K, TensorType::Q3_K,
                                TensorType::Q4_K, TensorType::Q5_K, TensorType::Q6_K};
    std::mt19937 rng(2024);
    for (TensorType t : types) {
        const TypeTraits tr = type_traits(t);
        const int nb = t == TensorType::MXFP4 ? 512 : 64;  // MXFP4: every e value twice
        std::vector<uint8_t> data(static_cast<size_t>(nb * tr.block_bytes));
        for (auto& v : data) v = static_cast<uint8_t>(rng());
        for (int blk = 0; blk < nb; ++blk) {
            uint8_t* b = data.data() + blk * tr.block_bytes;
            for (int off : fp16_fields(t)) {
                if ((b[off + 1] & 0x7c) == 0x7c) b[off + 1] &= 0xbf;  // exponent 31 -> 15: finite
            }
            if (t == TensorType::MXFP4) b[0] = static_cast<uint8_t>(blk % 256);
        }
        const int64_t n = nb * tr.block_size;
        std::vector<float> y(static_cast<size_t>(n));
        dequantize_row(t, data.data(), y.data(), n);
        for (int blk = 0; blk < nb; ++blk) {
            for (int i = 0; i < tr.block_size; ++i) {
                const float want = expected_value(t, data.data() + blk * tr.block_bytes, i);
                const float got = y[static_cast<size_t>(blk * tr.block_size + i)];
                INFO(tr.name << " block " << blk << " element " << i);
                REQUIRE(f32_bits(got) == f32_bits(want));
            }
        }
    }
}
