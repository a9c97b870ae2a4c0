// IEEE half precision (fp16) and bfloat16 <-> float32 conversions, portable scalar code.
// Both narrowing conversions round to nearest, ties to even, like the hardware instructions
// (F16C vcvtps2ph with rounding mode 0, AVX512-BF16 vcvtneps2bf16); NaN stays NaN (quiet).
#pragma once
#include <cstdint>
#include <cstring>

namespace silica {

inline uint32_t f32_bits(float f) {
    uint32_t u;
    std::memcpy(&u, &f, sizeof u);
    return u;
}

inline float f32_from_bits(uint32_t u) {
    float f;
    std::memcpy(&f, &u, sizeof f);
    return f;
}

// Exact: every fp16 value is a float32 value.
inline float fp16_to_f32(uint16_t h) {
    const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
    const uint32_t exp = (h >> 10) & 0x1fu;
    const uint32_t mant = h & 0x3ffu;
    if (exp == 0) {
        // Zero or subnormal: mant * 2^-24 is exact in float32.
        return f32_from_bits(f32_bits(static_cast<float>(mant) * 0x1p-24f) | sign);
    }
    if (exp == 31) return f32_from_bits(sign | 0x7f800000u | (mant << 13));  // inf / NaN (payload kept)
    return f32_from_bits(sign | ((exp + 127 - 15) << 23) | (mant << 13));
}

inline uint16_t f32_to_fp16(float f) {
    const uint32_t u = f32_bits(f);
    const uint16_t sign = static_cast<uint16_t>((u >> 16) & 0x8000u);
    const uint32_t a = u & 0x7fffffffu;  // magnitude bits
    if (a > 0x7f800000u)                 // NaN: keep the top payload bits, force quiet
        return static_cast<uint16_t>(sign | 0x7e00u | ((a >> 13) & 0x3ffu));
    if (a >= 0x477ff000u)  // >= 65520 (halfway between 65504 and 2^16, ties to even go up): inf
        return static_cast<uint16_t>(sign | 0x7c00u);
    if (a >= 0x38800000u) {  // >= 2^-14: normal fp16
        uint32_t h = (a >> 13) - (112u << 10);  // rebias the exponent 127 -> 15
        const uint32_t rest = a & 0x1fffu;       // the 13 bits dropped
        if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) ++h;  // may carry into the exponent
        return static_cast<uint16_t>(sign | h);
    }
    if (a <= 0x33000000u) return sign;  // <= 2^-25 (half of the smallest subnormal): zero
    // Subnormal fp16: the value in units of 2^-24 is m >> shift, rounded to nearest even.
    const uint32_t e = a >> 23;                       // 102 ... 112
    const uint32_t m = (a & 0x7fffffu) | 0x800000u;  // with the implicit bit
    const uint32_t shift = 126 - e;                   // 14 ... 24
    uint32_t q = m >> shift;
    const uint32_t rest = m & ((1u << shift) - 1u);
    const uint32_t half = 1u << (shift - 1);
    if (rest > half || (rest == half && (q & 1u))) ++q;  // 1023 + 1 becomes the smallest normal
    return static_cast<uint16_t>(sign | q);
}

// Exact: bf16 is the top half of a float32.
inline float bf16_to_f32(uint16_t b) { return f32_from_bits(static_cast<uint32_t>(b) << 16); }

inline uint16_t f32_to_bf16(float f) {
    const uint32_t u = f32_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x0040u);  // quiet NaN
    const uint32_t rounding = 0x7fffu + ((u >> 16) & 1u);  // ties to even; overflow carries to inf
    return static_cast<uint16_t>((u + rounding) >> 16);
}

}  // namespace silica
