#include "quant/dequantize.h"

#include <cstring>
#include <string>

#include "quant/blocks.h"
#include "quant/fp16.h"
#include "quant/kquant_scales.h"
#include "quant/mxfp4.h"
#include "silica/error.h"

// Each function follows ggml's reference arithmetic step by step (same operations, same order,
// in float), so the results are bit-identical to ggml's dequantize_row_* on any IEEE machine
// that does not contract a*b+c into an FMA (baseline x86-64 has no FMA).

namespace silica {
namespace {

void dequantize_f32(const float* x, float* y, int64_t n) { std::memcpy(y, x, static_cast<size_t>(n) * sizeof(float)); }

void dequantize_f16(const uint16_t* x, float* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] = fp16_to_f32(x[i]);
}

void dequantize_bf16(const uint16_t* x, float* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] = bf16_to_f32(x[i]);
}

void dequantize_q8_0(const BlockQ8_0* b, float* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i, y += kQK) {
        const float d = fp16_to_f32(b[i].d);
        for (int j = 0; j < kQK; ++j) y[j] = static_cast<float>(b[i].qs[j]) * d;
    }
}

void dequantize_q4_0(const BlockQ4_0* b, float* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i, y += kQK) {
        const float d = fp16_to_f32(b[i].d);
        for (int j = 0; j < kQK / 2; ++j) {
            y[j] = static_cast<float>((b[i].qs[j] & 0x0f) - 8) * d;
            y[j + kQK / 2] = static_cast<float>((b[i].qs[j] >> 4) - 8) * d;
        }
    }
}

void dequantize_q4_1(const BlockQ4_1* b, float* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i, y += kQK) {
        const float d = fp16_to_f32(b[i].d);
        const float m = fp16_to_f32(b[i].m);
        for (int j = 0; j < kQK / 2; ++j) {
            y[j] = static_cast<float>(b[i].qs[j] & 0x0f) * d + m;
            y[j + kQK / 2] = static_cast<float>(b[i].qs[j] >> 4) * d + m;
        }
    }
}

// Q5: the 5th bit of element j (0..31) is bit j of qh read as a little-endian uint32.
inline uint32_t load_qh(const uint8_t qh[4]) {
    return static_cast<uint32_t>(qh[0]) | (static_cast<uint32_t>(qh[1]) << 8) |
           (static_cast<uint32_t>(qh[2]) << 16) | (static_cast<uint32_t>(qh[3]) << 24);
}

void dequantize_q5_0(const BlockQ5_0* b, float* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i, y += kQK) {
        const float d = fp16_to_f32(b[i].d);
        const uint32_t qh = load_qh(b[i].qh);
        for (int j = 0; j < kQK / 2; ++j) {
            const int lo = (b[i].qs[j] & 0x0f) | static_cast<int>(((qh >> j) & 1u) << 4);
            const int hi = (b[i].qs[j] >> 4) | static_cast<int>(((qh >> (j + 16)) & 1u) << 4);
            y[j] = static_cast<float>(lo - 16) * d;
            y[j + kQK / 2] = static_cast<float>(hi - 16) * d;
        }
    }
}

void dequantize_q5_1(const BlockQ5_1* b, float* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i, y += kQK) {
        const float d = fp16_to_f32(b[i].d);
        const float m = fp16_to_f32(b[i].m);
        const uint32_t qh = load_qh(b[i].qh);
        for (int j = 0; j < kQK / 2; ++j) {
            const int lo = (b[i].qs[j] & 0x0f) | static_cast<int>(((qh >> j) & 1u) << 4);
            const int hi = (b[i].qs[j] >> 4) | static_cast<int>(((qh >> (j + 16)) & 1u) << 4);
            y[j] = static_cast<float>(lo) * d + m;
            y[j + kQK / 2] = static_cast<float>(hi) * d + m;
        }
    }
}

void dequantize_mxfp4(const BlockMXFP4* b, float* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i, y += kQK) {
        const float half_scale = mxfp4_half_scale(b[i].e);
        for (int j = 0; j < kQK / 2; ++j) {
            y[j] = static_cast<float>(kMxfp4TwiceValue[b[i].qs[j] & 0x0f]) * half_scale;
            y[j + kQK / 2] = static_cast<float>(kMxfp4TwiceValue[b[i].qs[j] >> 4]) * half_scale;
        }
    }
}

// Q2_K: 256 = 2 halves of 128; each half reads 32 bytes of qs four times (bit pairs 0-1, 2-3,
// 4-5, 6-7), each pass covering two sub-blocks of 16 (bytes 0-15 and 16-31).
void dequantize_q2_k(const BlockQ2_K* b, float* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i) {
        const float d = fp16_to_f32(b[i].d);
        const float dmin = fp16_to_f32(b[i].dmin);
        const uint8_t* q = b[i].qs;
        int sub = 0;
        for (int half = 0; half < 2; ++half, q += 32) {
            for (int shift = 0; shift < 8; shift += 2) {
                for (int part = 0; part < 2; ++part, ++sub) {
                    const uint8_t sc = b[i].scales[sub];
                    const float dl = d * static_cast<float>(sc & 0x0f);
                    const float ml = dmin * static_cast<float>(sc >> 4);
                    for (int l = 0; l < 16; ++l)
                        *y++ = dl * static_cast<float>((q[16 * part + l] >> shift) & 3) - ml;
                }
            }
        }
    }
}

// Q3_K: same walk as Q2_K; the high bit of element (half, shift, l) is bit (4*half + shift/2)
// of hmask[l], l = 0..31.
void dequantize_q3_k(const BlockQ3_K* b, float* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i) {
        const float d = fp16_to_f32(b[i].d);
        const uint8_t* q = b[i].qs;
        int sub = 0;
        uint8_t mask = 1;
        for (int half = 0; half < 2; ++half, q += 32) {
            for (int shift = 0; shift < 8; shift += 2, mask = static_cast<uint8_t>(mask << 1)) {
                for (int part = 0; part < 2; ++part, ++sub) {
                    const float dl = d * static_cast<float>(unpack_scale_q3k(sub, b[i].scales) - 32);
                    for (int l = 0; l < 16; ++l) {
                        const int k = 16 * part + l;
                        const int v = ((q[k] >> shift) & 3) - ((b[i].hmask[k] & mask) ? 0 : 4);
                        *y++ = dl * static_cast<float>(v);
                    }
                }
            }
        }
    }
}

// Q4_K: 4 chunks of 64 elements; chunk c uses qs[32c .. 32c+31]: low nibbles are sub-block 2c,
// high nibbles sub-block 2c+1.
void dequantize_q4_k(const BlockQ4_K* b, float* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i) {
        const float d = fp16_to_f32(b[i].d);
        const float dmin = fp16_to_f32(b[i].dmin);
        const uint8_t* q = b[i].qs;
        for (int c = 0; c < 4; ++c, q += 32) {
            uint8_t sc, m;
            unpack_scale_min_k4(2 * c, b[i].scales, sc, m);
            const float d1 = d * static_cast<float>(sc), m1 = dmin * static_cast<float>(m);
            unpack_scale_min_k4(2 * c + 1, b[i].scales, sc, m);
            const float d2 = d * static_cast<float>(sc), m2 = dmin * static_cast<float>(m);
            for (int l = 0; l < 32; ++l) *y++ = d1 * static_cast<float>(q[l] & 0x0f) - m1;
            for (int l = 0; l < 32; ++l) *y++ = d2 * static_cast<float>(q[l] >> 4) - m2;
        }
    }
}

// Q5_K: as Q4_K plus a 5th bit: for chunk c, bit 2c of qh[l] (low nibbles) and bit 2c+1 (high).
void dequantize_q5_k(const BlockQ5_K* b, float* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i) {
        const float d = fp16_to_f32(b[i].d);
        const float dmin = fp16_to_f32(b[i].dmin);
        const uint8_t* q = b[i].qs;
        const uint8_t* qh = b[i].qh;
        for (int c = 0; c < 4; ++c, q += 32) {
            uint8_t sc, m;
            unpack_scale_min_k4(2 * c, b[i].scales, sc, m);
            const float d1 = d * static_cast<float>(sc), m1 = dmin * static_cast<float>(m);
            unpack_scale_min_k4(2 * c + 1, b[i].scales, sc, m);
            const float d2 = d * static_cast<float>(sc), m2 = dmin * static_cast<float>(m);
            const int lo_bit = 2 * c, hi_bit = 2 * c + 1;
            for (int l = 0; l < 32; ++l)
                *y++ = d1 * static_cast<float>((q[l] & 0x0f) + (((qh[l] >> lo_bit) & 1) << 4)) - m1;
            for (int l = 0; l < 32; ++l)
                *y++ = d2 * static_cast<float>((q[l] >> 4) + (((qh[l] >> hi_bit) & 1) << 4)) - m2;
        }
    }
}

// Q6_K: 2 halves of 128; in half h, for l = 0..31, ql[64h + l], ql[64h + l + 32] and qh[32h + l]
// hold elements l, l+32, l+64, l+96: low nibbles -> l, l+32; high nibbles -> l+64, l+96; the 2-bit
// pairs of qh (bits 0-1, 2-3, 4-5, 6-7) are the top bits of l, l+32, l+64, l+96. Scale of element
// e is scales[e / 16]. value = d * scale * (q - 32), computed as (d * scale) * q like ggml.
void dequantize_q6_k(const BlockQ6_K* b, float* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i) {
        const float d = fp16_to_f32(b[i].d);
        for (int h = 0; h < 2; ++h, y += 128) {
            const uint8_t* ql = b[i].ql + 64 * h;
            const uint8_t* qh = b[i].qh + 32 * h;
            const int8_t* sc = b[i].scales + 8 * h;
            for (int l = 0; l < 32; ++l) {
                const int s = l / 16;
                const int q1 = ((ql[l] & 0x0f) | (((qh[l] >> 0) & 3) << 4)) - 32;
                const int q2 = ((ql[l + 32] & 0x0f) | (((qh[l] >> 2) & 3) << 4)) - 32;
                const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                y[l] = d * static_cast<float>(sc[s]) * static_cast<float>(q1);
                y[l + 32] = d * static_cast<float>(sc[s + 2]) * static_cast<float>(q2);
                y[l + 64] = d * static_cast<float>(sc[s + 4]) * static_cast<float>(q3);
                y[l + 96] = d * static_cast<float>(sc[s + 6]) * static_cast<float>(q4);
            }
        }
    }
}

// Adapters to one signature: (source, destination, elements n, blocks nb).
template <class Element, void (*F)(const Element*, float*, int64_t)>
void by_elements(const void* x, float* y, int64_t n, int64_t) { F(static_cast<const Element*>(x), y, n); }
template <class Block, void (*F)(const Block*, float*, int64_t)>
void by_blocks(const void* x, float* y, int64_t, int64_t nb) { F(static_cast<const Block*>(x), y, nb); }

// Each type's row decoder (ggml's to_float): the table dequantize_row and can_dequantize read.
struct ToFloat {
    TensorType type;
    void (*convert)(const void* x, float* y, int64_t n, int64_t nb);
};
constexpr ToFloat kToFloat[] = {
    {TensorType::F32, by_elements<float, dequantize_f32>},
    {TensorType::F16, by_elements<uint16_t, dequantize_f16>},
    {TensorType::BF16, by_elements<uint16_t, dequantize_bf16>},
    {TensorType::Q4_0, by_blocks<BlockQ4_0, dequantize_q4_0>},
    {TensorType::Q4_1, by_blocks<BlockQ4_1, dequantize_q4_1>},
    {TensorType::Q5_0, by_blocks<BlockQ5_0, dequantize_q5_0>},
    {TensorType::Q5_1, by_blocks<BlockQ5_1, dequantize_q5_1>},
    {TensorType::Q8_0, by_blocks<BlockQ8_0, dequantize_q8_0>},
    {TensorType::Q2_K, by_blocks<BlockQ2_K, dequantize_q2_k>},
    {TensorType::Q3_K, by_blocks<BlockQ3_K, dequantize_q3_k>},
    {TensorType::Q4_K, by_blocks<BlockQ4_K, dequantize_q4_k>},
    {TensorType::Q5_K, by_blocks<BlockQ5_K, dequantize_q5_k>},
    {TensorType::Q6_K, by_blocks<BlockQ6_K, dequantize_q6_k>},
    {TensorType::MXFP4, by_blocks<BlockMXFP4, dequantize_mxfp4>},
};

const ToFloat* to_float(TensorType type) {
    for (const ToFloat& e : kToFloat)
        if (e.type == type) return &e;
    return nullptr;
}

}  // namespace

bool can_dequantize(TensorType type) { return to_float(type) != nullptr; }

void dequantize_row(TensorType type, const void* src, float* dst, int64_t n) {
    const auto traits = type_traits(static_cast<uint32_t>(type));
    const ToFloat* conversion = to_float(type);
    if (!traits || !conversion)
        throw Error("dequantize: unsupported tensor type " +
                    (traits ? std::string(traits->name) : "id " + std::to_string(static_cast<uint32_t>(type))));
    check_whole_blocks(*traits, n, "dequantize: ");
    conversion->convert(src, dst, n, n / traits->block_size);
}

}  // namespace silica
