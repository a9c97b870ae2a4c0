// A run of consecutive cached positions of one KV head, as the attention kernel reads them
// straight from the KV cache's storage (no dequantized copy). The cache hands out one span per
// contiguous piece of memory: a flat cache gives one or two (a ring that wraps), a paged cache
// one per block. K and V of a span share the storage type and the row stride.
#pragma once
#include <cstdint>

#include "quant/types.h"

namespace silica::kernels {

struct KvRowSpan {
    const uint8_t* k = nullptr;  // K row of position first_pos for this head (head_dim values)
    const uint8_t* v = nullptr;  // V row, same position
    int64_t n_rows = 0;          // consecutive positions first_pos .. first_pos + n_rows - 1
    int64_t stride = 0;          // bytes from one position's row to the next
    TensorType type = TensorType::F32;  // F32, F16, BF16 or Q8_0 (blocks of 32 with an f16 scale)
    int64_t first_pos = 0;
};

}  // namespace silica::kernels
