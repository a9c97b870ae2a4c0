// MXFP4 element and scale values (OCP Microscaling FP4: E2M1 codes with an E8M0 block exponent).
#pragma once
#include <cstdint>

#include "quant/fp16.h"

namespace silica {

// E2M1 code -> value, doubled so it is an integer: code c is worth kMxfp4TwiceValue[c] / 2.
// Codes 0-7 are +{0, .5, 1, 1.5, 2, 3, 4, 6}; 8-15 the same with the sign bit set.
inline constexpr int8_t kMxfp4TwiceValue[16] = {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};

// 2^(e - 128), i.e. half the block scale 2^(e - 127), exactly, for every e in 0..255. Pairing it
// with the doubled codes gives value = code * 2^(e - 127) without ever forming 2^128 (e = 255),
// which float cannot hold; e = 0 and 1 give the subnormals 2^-128 and 2^-127.
inline float mxfp4_half_scale(uint8_t e) {
    if (e < 2) return f32_from_bits(0x00200000u << e);
    return f32_from_bits(static_cast<uint32_t>(e - 1) << 23);
}

}  // namespace silica
