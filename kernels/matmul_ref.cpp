#include "kernels/matmul_ref.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "kernels/kernel_traits.h"
#include "quant/blocks.h"
#include "quant/kquant_scales.h"
// quant/dequantize.h is written concurrently by the quant room; until it lands the float reference
// cannot run (the int8 reference and the SIMD kernels do not need it).
#if __has_include("quant/dequantize.h")
#include "quant/dequantize.h"
#define SILICA_HAVE_DEQUANTIZE 1
#endif
#include "silica/error.h"

namespace silica::kernels {

float fp16_to_f32(uint16_t h) {
    const uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
    const int exp = (h >> 10) & 0x1f;
    const uint32_t mant = h & 0x3ff;
    float f;
    if (exp == 0) {
        f = std::ldexp(static_cast<float>(mant), -24);  // zero or subnormal
        uint32_t u;
        std::memcpy(&u, &f, 4);
        u |= sign;
        std::memcpy(&f, &u, 4);
        return f;
    }
    uint32_t u = exp == 31 ? (sign | 0x7f800000u | (mant << 13))
                           : (sign | (static_cast<uint32_t>(exp - 15 + 127) << 23) | (mant << 13));
    std::memcpy(&f, &u, 4);
    return f;
}

float bf16_to_f32(uint16_t h) {
    const uint32_t u = static_cast<uint32_t>(h) << 16;
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}

float mxfp4_half_scale(uint8_t e) { return std::ldexp(1.0f, static_cast<int>(e) - 128); }

namespace {

// E2M1 magnitudes {0, 0.5, 1, 1.5, 2, 3, 4, 6} doubled; bit 3 of the code is the sign.
constexpr int8_t kMxfp4Doubled[16] = {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};

uint32_t load_u32(const uint8_t* p) {
    uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
}

// Element j of a 32-block packed as ggml packs 4-bit codes: j < 16 in the low nibble of qs[j],
// j >= 16 in the high nibble of qs[j - 16].
int nibble(const uint8_t* qs, int j) { return j < 16 ? (qs[j] & 15) : (qs[j - 16] >> 4); }

// K-quant super-block b / 8 of a row and block c = b % 8 inside it.
const uint8_t* kquant_super_block(TensorType t, const uint8_t* row, int64_t b) {
    return row + (b / 8) * type_traits(t).block_bytes;
}

// Q4_K and Q5_K both start {d, dmin, scales[12]}; block c takes the low (c even) or high (c odd)
// nibbles of 32 bytes of qs; Q5_K's 5th bit of element l is bit c of qh[l].
void decode_scale_min_k(TensorType t, const uint8_t* row, int64_t block_index, DecodedBlockQ8& out) {
    const uint8_t* p = kquant_super_block(t, row, block_index);
    const int c = static_cast<int>(block_index % 8);
    BlockQ5_K b{};  // (Q4_K is a prefix of it up to scales)
    uint8_t scale, min;
    std::memcpy(&b, p, 16);
    unpack_scale_min_k4(c, b.scales, scale, min);
    out.d = fp16_to_f32(b.d) * scale;
    out.m = -fp16_to_f32(b.dmin) * min;
    out.sc[0] = out.sc[1] = 1;
    const uint8_t* qs = p + (t == TensorType::Q4_K ? 16 : 48) + 32 * (c / 2);
    const uint8_t* qh = p + 16;
    for (int l = 0; l < 32; ++l) {
        int q = (c % 2 == 0) ? (qs[l] & 15) : (qs[l] >> 4);
        if (t == TensorType::Q5_K) q |= ((qh[l] >> c) & 1) << 4;
        out.q[l] = static_cast<int8_t>(q);
    }
}

// A 32-element block of a simple type (Q8_0 ... MXFP4): block b of the row.
template <class Block>
Block load_block(const uint8_t* row, int64_t b) {
    Block block;
    std::memcpy(&block, row + b * static_cast<int64_t>(sizeof(Block)), sizeof(Block));
    return block;
}

}  // namespace

void decode_block_q8_0(const uint8_t* row, int64_t block_index, DecodedBlockQ8& out) {
    const auto b = load_block<BlockQ8_0>(row, block_index);
    out.d = fp16_to_f32(b.d);
    out.m = 0.0f;
    out.sc[0] = out.sc[1] = 1;
    std::memcpy(out.q, b.qs, 32);
}

void decode_block_q4_0(const uint8_t* row, int64_t block_index, DecodedBlockQ8& out) {
    const auto b = load_block<BlockQ4_0>(row, block_index);
    out.d = fp16_to_f32(b.d);
    out.m = 0.0f;
    out.sc[0] = out.sc[1] = 1;
    for (int j = 0; j < 32; ++j) out.q[j] = static_cast<int8_t>(nibble(b.qs, j) - 8);
}

void decode_block_q4_1(const uint8_t* row, int64_t block_index, DecodedBlockQ8& out) {
    const auto b = load_block<BlockQ4_1>(row, block_index);
    out.d = fp16_to_f32(b.d);
    out.m = fp16_to_f32(b.m);
    out.sc[0] = out.sc[1] = 1;
    for (int j = 0; j < 32; ++j) out.q[j] = static_cast<int8_t>(nibble(b.qs, j));
}

void decode_block_q5_0(const uint8_t* row, int64_t block_index, DecodedBlockQ8& out) {
    const auto b = load_block<BlockQ5_0>(row, block_index);
    out.d = fp16_to_f32(b.d);
    out.m = 0.0f;
    out.sc[0] = out.sc[1] = 1;
    const uint32_t qh = load_u32(b.qh);
    for (int j = 0; j < 32; ++j) out.q[j] = static_cast<int8_t>((nibble(b.qs, j) | (((qh >> j) & 1) << 4)) - 16);
}

void decode_block_q5_1(const uint8_t* row, int64_t block_index, DecodedBlockQ8& out) {
    const auto b = load_block<BlockQ5_1>(row, block_index);
    out.d = fp16_to_f32(b.d);
    out.m = fp16_to_f32(b.m);
    out.sc[0] = out.sc[1] = 1;
    const uint32_t qh = load_u32(b.qh);
    for (int j = 0; j < 32; ++j) out.q[j] = static_cast<int8_t>(nibble(b.qs, j) | (((qh >> j) & 1) << 4));
}

void decode_block_mxfp4(const uint8_t* row, int64_t block_index, DecodedBlockQ8& out) {
    const auto b = load_block<BlockMXFP4>(row, block_index);
    out.d = mxfp4_half_scale(b.e);
    out.m = 0.0f;
    out.sc[0] = out.sc[1] = 1;
    for (int j = 0; j < 32; ++j) out.q[j] = kMxfp4Doubled[nibble(b.qs, j)];
}

void decode_block_q4_k(const uint8_t* row, int64_t block_index, DecodedBlockQ8& out) {
    decode_scale_min_k(TensorType::Q4_K, row, block_index, out);
}

void decode_block_q5_k(const uint8_t* row, int64_t block_index, DecodedBlockQ8& out) {
    decode_scale_min_k(TensorType::Q5_K, row, block_index, out);
}

// Half n = c / 4 of the super-block (128 elements: ql[64n..], qh[32n..]); block j = c % 4 of that
// half takes the low (j < 2) or high nibbles of ql[64n + 32(j%2) + l] and bits 2j, 2j+1 of
// qh[32n + l]; its halves use scales[2c] and scales[2c + 1].
void decode_block_q6_k(const uint8_t* row, int64_t block_index, DecodedBlockQ8& out) {
    BlockQ6_K b;
    std::memcpy(&b, kquant_super_block(TensorType::Q6_K, row, block_index), sizeof b);
    const int c = static_cast<int>(block_index % 8);
    const int n = c / 4, j = c % 4;
    const uint8_t* ql = b.ql + 64 * n + 32 * (j % 2);
    const uint8_t* qh = b.qh + 32 * n;
    for (int l = 0; l < 32; ++l) {
        const int lo = (j < 2) ? (ql[l] & 15) : (ql[l] >> 4);
        const int hi = (qh[l] >> (2 * j)) & 3;
        out.q[l] = static_cast<int8_t>((lo | (hi << 4)) - 32);
    }
    out.sc[0] = b.scales[2 * c];
    out.sc[1] = b.scales[2 * c + 1];
    out.d = fp16_to_f32(b.d);
    out.m = 0.0f;
}

bool has_int8_kernel(TensorType t) {
    const KernelTraits* traits = find_kernel_traits(t, Isa::scalar);
    return traits != nullptr && traits->decode_block != nullptr;
}

void decode_block_int8(TensorType t, const uint8_t* row, int64_t block_index, DecodedBlockQ8& out) {
    const KernelTraits* traits = find_kernel_traits(t, Isa::scalar);
    if (traits == nullptr || traits->decode_block == nullptr)
        throw Error("matmul: no int8 kernel for weight type " + std::string(type_traits(t).name));
    traits->decode_block(row, block_index, out);
}

void matmul_reference(const Matrix& w, const Activations& x, float* y, int64_t ldy, int64_t r_begin,
                      int64_t r_end) {
#ifndef SILICA_HAVE_DEQUANTIZE
    (void)w, (void)x, (void)y, (void)ldy, (void)r_begin, (void)r_end;
    throw Error("matmul_reference: quant/dequantize.h is not available in this build");
#else
    const TypeTraits traits = type_traits(w.type);
    const int64_t k = w.cols;
    // Dequantize in chunks of 256 elements (a whole number of blocks of every type) into a stack
    // buffer: no allocation per call.
    constexpr int64_t kChunk = 256;
    float wf[kChunk];
    for (int64_t r = r_begin; r < r_end; ++r) {
        const uint8_t* row = w.data + static_cast<size_t>(r) * w.row_stride;
        for (int64_t i = 0; i < x.rows(); ++i) {
            const float* xi = x.f32() + i * k;
            double sum = 0.0;
            for (int64_t j = 0; j < k; j += kChunk) {
                const int64_t n = std::min(kChunk, k - j);
                dequantize_row(w.type, row + row_bytes(traits, j), wf, n);
                for (int64_t e = 0; e < n; ++e) sum += static_cast<double>(wf[e]) * xi[j + e];
            }
            y[i * ldy + r] = static_cast<float>(sum);
        }
    }
#endif
}

void matmul_reference_int8(const Matrix& w, const Activations& x, float* y, int64_t ldy,
                           int64_t r_begin, int64_t r_end) {
    const int64_t nb = w.cols / kQK;
    const KernelTraits* traits = find_kernel_traits(w.type, Isa::scalar);
    if (traits == nullptr || traits->decode_block == nullptr)
        throw Error("matmul: no int8 kernel for weight type " + std::string(type_traits(w.type).name));
    const DecodeBlockFn decode_block = traits->decode_block;
    DecodedBlockQ8 wb;
    for (int64_t r = r_begin; r < r_end; ++r) {
        const uint8_t* row = w.data + static_cast<size_t>(r) * w.row_stride;
        for (int64_t i = 0; i < x.rows(); ++i) {
            const ActBlockQ8* xb = x.q8() + i * nb;
            double sum = 0.0;
            for (int64_t b = 0; b < nb; ++b) {
                decode_block(row, b, wb);
                int32_t half[2] = {0, 0};
                for (int j = 0; j < 32; ++j) half[j / 16] += wb.q[j] * xb[b].qs[j];
                const int32_t isum = wb.sc[0] * half[0] + wb.sc[1] * half[1];
                sum += static_cast<double>(wb.d * xb[b].d) * isum + static_cast<double>(wb.m) * xb[b].s;
            }
            y[i * ldy + r] = static_cast<float>(sum);
        }
    }
}

}  // namespace silica::kernels
