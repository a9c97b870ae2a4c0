// K-quant quantizers (Q2_K ... Q6_K), internal to quant/: quantize_row dispatches here.
#pragma once
#include <cstdint>

#include "quant/blocks.h"

namespace silica {

void quantize_q2_k(const float* x, BlockQ2_K* out, int64_t n_blocks);
void quantize_q3_k(const float* x, BlockQ3_K* out, int64_t n_blocks);
void quantize_q4_k(const float* x, BlockQ4_K* out, int64_t n_blocks);
void quantize_q5_k(const float* x, BlockQ5_K* out, int64_t n_blocks);
void quantize_q6_k(const float* x, BlockQ6_K* out, int64_t n_blocks);

// fp16 bits of a block scale: round to nearest, saturating at +-65504 instead of becoming inf, so
// a huge but finite block still dequantizes to finite values.
uint16_t scale_to_fp16(float d);

}  // namespace silica
