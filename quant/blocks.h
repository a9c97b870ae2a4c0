// Block layouts of the quantized types, byte-for-byte as ggml stores them in GGUF files.
// Half-precision scales are stored as raw IEEE fp16 bits (uint16_t); see quant/fp16.h.
#pragma once
#include <cstdint>

namespace silica {

constexpr int kQK = 32;    // elements per block of the "simple" types (Q4_0 … Q8_0, MXFP4)
constexpr int kQKK = 256;  // elements per super-block of the K-quants

// x[i] = d * qs[i]
struct BlockQ8_0 { uint16_t d; int8_t qs[kQK]; };
// x[j] = d * ((qs[j] & 15) - 8), x[j+16] = d * ((qs[j] >> 4) - 8), j < 16
struct BlockQ4_0 { uint16_t d; uint8_t qs[kQK / 2]; };
// as Q4_0 without the -8, plus m
struct BlockQ4_1 { uint16_t d; uint16_t m; uint8_t qs[kQK / 2]; };
// 5th bit of element i is bit i of qh (little-endian uint32); x = d * (q - 16)
struct BlockQ5_0 { uint16_t d; uint8_t qh[4]; uint8_t qs[kQK / 2]; };
// x = d * q + m
struct BlockQ5_1 { uint16_t d; uint16_t m; uint8_t qh[4]; uint8_t qs[kQK / 2]; };
// 8 sub-blocks of 32 with 6-bit scales and mins packed in `scales`
struct BlockQ4_K { uint16_t d; uint16_t dmin; uint8_t scales[12]; uint8_t qs[kQKK / 2]; };
struct BlockQ5_K { uint16_t d; uint16_t dmin; uint8_t scales[12]; uint8_t qh[kQKK / 8]; uint8_t qs[kQKK / 2]; };
// 16 sub-blocks of 16 with int8 scales; 6-bit quants split into low 4 (ql) and high 2 (qh) bits
struct BlockQ6_K { uint8_t ql[kQKK / 2]; uint8_t qh[kQKK / 4]; int8_t scales[kQKK / 16]; uint16_t d; };
// 16 sub-blocks of 16 with 4-bit scale (low nibble) and 4-bit min (high nibble) in `scales`;
// 2-bit quants: x = d * (sc & 15) * q - dmin * (sc >> 4)
struct BlockQ2_K { uint8_t scales[kQKK / 16]; uint8_t qs[kQKK / 4]; uint16_t d; uint16_t dmin; };
// 16 sub-blocks of 16 with 6-bit scales (biased by 32) packed in `scales`; 3-bit quants: low 2 bits
// in qs, the high bit in hmask (a set bit means "no -4"): x = d * (sc - 32) * (q - (hbit ? 0 : 4))
struct BlockQ3_K { uint8_t hmask[kQKK / 8]; uint8_t qs[kQKK / 4]; uint8_t scales[12]; uint16_t d; };
// OCP MX FP4: e is an E8M0 shared exponent (2^(e-127)); codes are E2M1, laid out as Q4_0
struct BlockMXFP4 { uint8_t e; uint8_t qs[kQK / 2]; };

static_assert(sizeof(BlockQ8_0) == 34);
static_assert(sizeof(BlockQ4_0) == 18);
static_assert(sizeof(BlockQ4_1) == 20);
static_assert(sizeof(BlockQ5_0) == 22);
static_assert(sizeof(BlockQ5_1) == 24);
static_assert(sizeof(BlockQ2_K) == 84);
static_assert(sizeof(BlockQ3_K) == 110);
static_assert(sizeof(BlockQ4_K) == 144);
static_assert(sizeof(BlockQ5_K) == 176);
static_assert(sizeof(BlockQ6_K) == 210);
static_assert(sizeof(BlockMXFP4) == 17);

}  // namespace silica
