// The forms activations take before a matmul (see Activations in kernels/matmul.h).
//
// Quantized weights (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, MXFP4 and the K-quants) are multiplied by
// activations quantized to int8 in blocks of 32 with one float scale each, so the inner loop is an
// int8 dot product (vpdpbusd / vpmaddubsw). One block format serves every weight type: the K-quants'
// sub-blocks are 32 (Q4_K, Q5_K) or 16 (Q6_K) wide, so a 32-wide activation scale lines up with
// them; it costs one float multiply-add per 32 elements more than ggml's per-256 Q8_K, which is
// nothing next to the memory traffic, and keeps activation quantization error per 32 elements.
//
// Float weights (F32, F16) use the float activations as they are; BF16 weights also get a bf16
// copy for vdpbf16ps.
#pragma once
#include <cstdint>

#include "quant/blocks.h"
#include "quant/types.h"

namespace silica::kernels {

// x[j] ~= d * qs[j], |qs[j]| <= 127; s = d * sum(qs), used by weight types with a min/offset term.
struct ActBlockQ8 {
    float d;
    float s;
    int8_t qs[kQK];
};
static_assert(sizeof(ActBlockQ8) == 40);

// What Activations (kernels/matmul.h) prepares for a weight type: the `activations` of its entry
// in the type table (kernels/kernel_traits.h).
enum class ActivationForm {
    f32,        // the float rows as given (F32, F16 weights)
    f32_bf16,   // the float rows plus a bf16 copy (BF16 weights: vdpbf16ps)
    q8_blocks,  // ActBlockQ8 blocks (every quantized type)
};

// True when matmuls with this weight type consume ActBlockQ8 activations.
bool uses_q8_activations(TensorType weight_type);

// Quantize k floats (k a multiple of 32) into k/32 blocks: d = max|x| / 127, qs = round(x / d).
void quantize_activations_q8(const float* x, ActBlockQ8* out, int64_t k);

// float -> bf16 bits, round to nearest even (NaN stays NaN).
uint16_t f32_to_bf16(float x);

}  // namespace silica::kernels
