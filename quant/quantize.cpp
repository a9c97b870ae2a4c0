#include "quant/quantize.h"

#include <cmath>
#include <cstring>
#include <string>

#include "quant/blocks.h"
#include "quant/fp16.h"
#include "quant/mxfp4.h"
#include "quant/quantize_kquants.h"
#include "quant/rounding.h"
#include "silica/error.h"

// Scales are rounded to fp16 first and the codes are computed against the rounded scale (ggml's
// reference quantizers use the unrounded one), so the stored block is the best one for its scale.

namespace silica {
namespace {

void quantize_f16(const float* x, uint16_t* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] = f32_to_fp16(x[i]);
}

void quantize_bf16(const float* x, uint16_t* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] = f32_to_bf16(x[i]);
}

// Largest |x|. Compares the magnitude bit patterns as integers (same order as the floats for
// non-negative values, NaN above inf), which the compiler vectorizes; a float max would not be.
float max_abs(const float* x, int n) {
    int32_t amax = 0;
    for (int j = 0; j < n; ++j) {
        const auto a = static_cast<int32_t>(f32_bits(x[j]) & 0x7fffffffu);
        amax = a > amax ? a : amax;
    }
    return f32_from_bits(static_cast<uint32_t>(amax));
}

// The element of largest magnitude, with its sign (the first one on ties).
float signed_max(const float* x, int n) {
    float amax = 0.0f, mx = 0.0f;
    for (int j = 0; j < n; ++j) {
        if (std::fabs(x[j]) > amax) {
            amax = std::fabs(x[j]);
            mx = x[j];
        }
    }
    return mx;
}

inline float inverse_or_zero(float d) { return d != 0.0f ? 1.0f / d : 0.0f; }

// Q8_0: d = amax / 127, q = round(x / d).
void quantize_q8_0(const float* x, BlockQ8_0* out, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i, x += kQK) {
        out[i].d = scale_to_fp16(max_abs(x, kQK) / 127.0f);
        const float id = inverse_or_zero(fp16_to_f32(out[i].d));
        int codes[kQK];  // int, not int8: keeps the loop vectorizable
        for (int j = 0; j < kQK; ++j) codes[j] = round_clamped(x[j] * id, -127, 127);
        for (int j = 0; j < kQK; ++j) out[i].qs[j] = static_cast<int8_t>(codes[j]);
    }
}

// Symmetric 4/5-bit types: the element of largest magnitude maps to code 0 (value -2^(bits-1) * d),
// which is why d carries the opposite sign of that element. Codes round half up: floor(x/d + off + .5).
template <int kOffset>
void symmetric_codes(const float* x, float d, uint8_t* codes) {
    const float id = inverse_or_zero(d);
    for (int j = 0; j < kQK; ++j)
        codes[j] = static_cast<uint8_t>(clamp_or_low(x[j] * id + (kOffset + 0.5f), 0.0f, 2 * kOffset - 1));
}

// Asymmetric 4/5-bit types: x ~ d * q + m with m = min(x), d = (max - min) / kMaxCode.
template <int kMaxCode>
void asymmetric_codes(const float* x, uint16_t& d_bits, uint16_t& m_bits, uint8_t* codes) {
    float lo = x[0], hi = x[0];
    for (int j = 1; j < kQK; ++j) {
        lo = x[j] < lo ? x[j] : lo;
        hi = x[j] > hi ? x[j] : hi;
    }
    d_bits = scale_to_fp16((hi - lo) / kMaxCode);
    m_bits = scale_to_fp16(lo);
    const float id = inverse_or_zero(fp16_to_f32(d_bits));
    const float m = fp16_to_f32(m_bits);
    for (int j = 0; j < kQK; ++j)
        codes[j] = static_cast<uint8_t>(clamp_or_low((x[j] - m) * id + 0.5f, 0.0f, kMaxCode));
}

void pack_nibbles(const uint8_t* codes, uint8_t* qs) {
    for (int j = 0; j < kQK / 2; ++j) qs[j] = static_cast<uint8_t>((codes[j] & 0x0f) | ((codes[j + kQK / 2] & 0x0f) << 4));
}

void pack_fifth_bits(const uint8_t* codes, uint8_t qh[4]) {
    uint32_t bits = 0;
    for (int j = 0; j < kQK; ++j) bits |= static_cast<uint32_t>(codes[j] >> 4) << j;
    for (int k = 0; k < 4; ++k) qh[k] = static_cast<uint8_t>(bits >> (8 * k));
}

float symmetric_scale(const float* x, int max_negative_code) {
    const float mx = signed_max(x, kQK);
    return mx == 0.0f ? 0.0f : mx / static_cast<float>(-max_negative_code);
}

void quantize_q4_0(const float* x, BlockQ4_0* out, int64_t nb) {
    uint8_t codes[kQK];
    for (int64_t i = 0; i < nb; ++i, x += kQK) {
        out[i].d = scale_to_fp16(symmetric_scale(x, 8));
        symmetric_codes<8>(x, fp16_to_f32(out[i].d), codes);
        pack_nibbles(codes, out[i].qs);
    }
}

void quantize_q5_0(const float* x, BlockQ5_0* out, int64_t nb) {
    uint8_t codes[kQK];
    for (int64_t i = 0; i < nb; ++i, x += kQK) {
        out[i].d = scale_to_fp16(symmetric_scale(x, 16));
        symmetric_codes<16>(x, fp16_to_f32(out[i].d), codes);
        pack_nibbles(codes, out[i].qs);
        pack_fifth_bits(codes, out[i].qh);
    }
}

void quantize_q4_1(const float* x, BlockQ4_1* out, int64_t nb) {
    uint8_t codes[kQK];
    for (int64_t i = 0; i < nb; ++i, x += kQK) {
        asymmetric_codes<15>(x, out[i].d, out[i].m, codes);
        pack_nibbles(codes, out[i].qs);
    }
}

void quantize_q5_1(const float* x, BlockQ5_1* out, int64_t nb) {
    uint8_t codes[kQK];
    for (int64_t i = 0; i < nb; ++i, x += kQK) {
        asymmetric_codes<31>(x, out[i].d, out[i].m, codes);
        pack_nibbles(codes, out[i].qs);
        pack_fifth_bits(codes, out[i].qh);
    }
}

// MXFP4 block exponent: the smallest e for which the largest magnitude rounds to at most 6 without
// clipping, i.e. amax < 7 * 2^(e-127). Then amax / 2^(e-127) >= 3.5, so the largest code is 4 or 6
// and the block is canonical: quantizing its dequantized values gives the same bytes back.
// (ggml's reference picks e = floor(log2 amax) - 2 + 127 and clips amax in [7, 8) * 2^(e-127) to 6.)
uint8_t mxfp4_exponent(float amax) {
    if (!(amax > 0.0f)) return 0;
    const uint32_t bits = f32_bits(amax);
    const int biased = static_cast<int>(bits >> 23);  // 0 for subnormal amax: e = 0 is right then
    if (biased == 0) return 0;
    const bool top_quarter = ((bits >> 21) & 3u) == 3u;  // mantissa >= 1.75
    const int e = biased - 2 + (top_quarter ? 1 : 0);     // amax in [2^E, 2^(E+1)), E = biased - 127
    return static_cast<uint8_t>(e < 0 ? 0 : (e > 254 ? 254 : e));
}

// Magnitude t (in units of the block scale) -> E2M1 magnitude code 0..7 for {0,.5,1,1.5,2,3,4,6},
// nearest, ties to the even mantissa (0.25->0, 0.75->1, 1.25->1, 1.75->2, 2.5->2, 3.5->4, 5->4).
inline int e2m1_magnitude_code(float t) {
    return (t > 0.25f) + (t >= 0.75f) + (t > 1.25f) + (t >= 1.75f) + (t > 2.5f) + (t >= 3.5f) + (t > 5.0f);
}

void quantize_mxfp4(const float* x, BlockMXFP4* out, int64_t nb) {
    int codes[kQK];  // int, not uint8: keeps the loop vectorizable
    for (int64_t i = 0; i < nb; ++i, x += kQK) {
        const uint8_t e = mxfp4_exponent(max_abs(x, kQK));
        out[i].e = e;
        // Only for amax within 12.5 % of FLT_MAX (e = 253) would codes 4 and 6 (2^128, 1.5 * 2^128)
        // overflow; cap those at 3 so finite input stays finite.
        const int max_magnitude = e >= 253 ? 5 : 7;
        // 1 / 2^(e-127) = 2^(127-e): a power of two, so the products below are exact.
        const float inv_scale = e < 254 ? f32_from_bits(static_cast<uint32_t>(254 - e) << 23) : 0x1p-127f;
        for (int j = 0; j < kQK; ++j) {
            int magnitude = e2m1_magnitude_code(std::fabs(x[j]) * inv_scale);
            magnitude = magnitude < max_magnitude ? magnitude : max_magnitude;
            // Zero is always code 0, never 8 ("-0", which decodes to +0 anyway): keeps blocks canonical.
            codes[j] = magnitude | ((x[j] < 0.0f && magnitude != 0) ? 8 : 0);
        }
        for (int j = 0; j < kQK / 2; ++j) out[i].qs[j] = static_cast<uint8_t>(codes[j] | (codes[j + kQK / 2] << 4));
    }
}

void quantize_f32(const float* x, float* y, int64_t n) { std::memcpy(y, x, static_cast<size_t>(n) * sizeof(float)); }

// Adapters to one signature: (source, destination, elements n, blocks nb).
template <class Element, void (*F)(const float*, Element*, int64_t)>
void by_elements(const float* x, void* y, int64_t n, int64_t) { F(x, static_cast<Element*>(y), n); }
template <class Block, void (*F)(const float*, Block*, int64_t)>
void by_blocks(const float* x, void* y, int64_t, int64_t nb) { F(x, static_cast<Block*>(y), nb); }

// Each type's row encoder (ggml's from_float): the table quantize_row and can_quantize read.
struct FromFloat {
    TensorType type;
    void (*convert)(const float* x, void* y, int64_t n, int64_t nb);
};
constexpr FromFloat kFromFloat[] = {
    {TensorType::F32, by_elements<float, quantize_f32>},
    {TensorType::F16, by_elements<uint16_t, quantize_f16>},
    {TensorType::BF16, by_elements<uint16_t, quantize_bf16>},
    {TensorType::Q4_0, by_blocks<BlockQ4_0, quantize_q4_0>},
    {TensorType::Q4_1, by_blocks<BlockQ4_1, quantize_q4_1>},
    {TensorType::Q5_0, by_blocks<BlockQ5_0, quantize_q5_0>},
    {TensorType::Q5_1, by_blocks<BlockQ5_1, quantize_q5_1>},
    {TensorType::Q8_0, by_blocks<BlockQ8_0, quantize_q8_0>},
    {TensorType::Q2_K, by_blocks<BlockQ2_K, quantize_q2_k>},
    {TensorType::Q3_K, by_blocks<BlockQ3_K, quantize_q3_k>},
    {TensorType::Q4_K, by_blocks<BlockQ4_K, quantize_q4_k>},
    {TensorType::Q5_K, by_blocks<BlockQ5_K, quantize_q5_k>},
    {TensorType::Q6_K, by_blocks<BlockQ6_K, quantize_q6_k>},
    {TensorType::MXFP4, by_blocks<BlockMXFP4, quantize_mxfp4>},
};

const FromFloat* from_float(TensorType type) {
    for (const FromFloat& e : kFromFloat)
        if (e.type == type) return &e;
    return nullptr;
}

}  // namespace

uint16_t scale_to_fp16(float d) {
    constexpr float kMaxHalf = 65504.0f;
    if (d > kMaxHalf) d = kMaxHalf;
    if (d < -kMaxHalf) d = -kMaxHalf;
    return f32_to_fp16(d);
}

bool can_quantize(TensorType type) { return from_float(type) != nullptr; }

size_t quantized_bytes(TensorType type, int64_t n) {
    const auto traits = type_traits(static_cast<uint32_t>(type));
    if (!traits) throw Error("unknown tensor type id " + std::to_string(static_cast<uint32_t>(type)));
    check_whole_blocks(*traits, n);
    return row_bytes(*traits, n);
}

void quantize_row(TensorType type, const float* src, void* dst, int64_t n) {
    const auto traits = type_traits(static_cast<uint32_t>(type));
    const FromFloat* conversion = from_float(type);
    if (!traits || !conversion)
        throw Error("quantize: unsupported tensor type " +
                    (traits ? std::string(traits->name) : "id " + std::to_string(static_cast<uint32_t>(type))));
    check_whole_blocks(*traits, n, "quantize: ");
    conversion->convert(src, dst, n, n / traits->block_size);
}

}  // namespace silica
