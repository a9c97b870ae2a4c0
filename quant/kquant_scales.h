// How the K-quants pack their per-sub-block 6-bit scales (and mins) into 12 bytes. Shared by
// dequantize.cpp and quantize.cpp so the two sides cannot disagree.
#pragma once
#include <cstdint>

namespace silica {

// Q4_K / Q5_K: 8 scales and 8 mins of 6 bits each. Sub-blocks 0-3 keep their 6 bits in the low
// bits of bytes 0-3 (scales) and 4-7 (mins); sub-blocks 4-7 keep their low 4 bits in the nibbles
// of bytes 8-11 and their top 2 bits in the top 2 bits of bytes 0-3 (scales) and 4-7 (mins).
inline void unpack_scale_min_k4(int j, const uint8_t* packed, uint8_t& scale, uint8_t& min) {
    if (j < 4) {
        scale = packed[j] & 63;
        min = packed[j + 4] & 63;
    } else {
        scale = static_cast<uint8_t>((packed[j + 4] & 0x0f) | ((packed[j - 4] >> 6) << 4));
        min = static_cast<uint8_t>((packed[j + 4] >> 4) | ((packed[j] >> 6) << 4));
    }
}

// Inverse of unpack_scale_min_k4; scale[j], min[j] < 64.
inline void pack_scales_mins_k4(const uint8_t scale[8], const uint8_t min[8], uint8_t packed[12]) {
    for (int j = 0; j < 4; ++j) {
        packed[j] = static_cast<uint8_t>(scale[j] | ((scale[j + 4] >> 4) << 6));
        packed[j + 4] = static_cast<uint8_t>(min[j] | ((min[j + 4] >> 4) << 6));
        packed[j + 8] = static_cast<uint8_t>((scale[j + 4] & 0x0f) | ((min[j + 4] & 0x0f) << 4));
    }
}

// Q3_K: 16 scales of 6 bits (stored biased by 32). Low 4 bits: nibbles of bytes 0-7 (sub-blocks
// 0-7 in the low nibbles, 8-15 in the high ones); top 2 bits: byte 8 + j % 4, bit pair j / 4.
inline int unpack_scale_q3k(int j, const uint8_t* packed) {
    const int low = j < 8 ? (packed[j] & 0x0f) : (packed[j - 8] >> 4);
    const int high = (packed[8 + j % 4] >> (2 * (j / 4))) & 3;
    return low | (high << 4);
}

// Inverse of unpack_scale_q3k; scale[j] < 64 (already biased).
inline void pack_scales_q3k(const uint8_t scale[16], uint8_t packed[12]) {
    for (int i = 0; i < 12; ++i) packed[i] = 0;
    for (int j = 0; j < 16; ++j) {
        const uint8_t low = scale[j] & 0x0f;
        if (j < 8)
            packed[j] |= low;
        else
            packed[j - 8] |= static_cast<uint8_t>(low << 4);
        packed[8 + j % 4] |= static_cast<uint8_t>((scale[j] >> 4) << (2 * (j / 4)));
    }
}

}  // namespace silica
