// float32 row -> quantized blocks (scalar, deterministic: the same input always gives the same bytes).
// Round-to-nearest quantizers in the spirit of ggml's reference ones; the byte layouts are exactly
// ggml's (quant/blocks.h), so the output is a valid GGUF tensor row.
#pragma once
#include <cstddef>
#include <cstdint>

#include "quant/types.h"

namespace silica {

// How each type is chosen (all scales are rounded to fp16 first, and codes are computed against the
// rounded scale):
//   Q8_0        d = amax / 127, q = round(x / d) (ties away from zero)
//   Q4_0, Q5_0  the element of largest magnitude gets code 0: d = max / -8 (-16), q = floor(x/d + 8.5)
//   Q4_1, Q5_1  m = min, d = (max - min) / 15 (31), q = floor((x - m) / d + 0.5)
//   K-quants    per sub-block: a search over 21 (asymmetric) / 19 (symmetric) candidate scales, each
//               refined by least squares; sub-scales quantized against one fp16 super scale, then
//               the best of the rounded integer sub-scale and its neighbours, codes recomputed
//   MXFP4       e = the smallest exponent with amax < 7 * 2^(e-127) (so nothing clips by more than
//               half a step and the block is canonical), codes rounded to the nearest E2M1 value,
//               ties to even; ggml's reference uses e = floor(log2 amax) - 2 + 127 instead.
// Quantizes n floats (a multiple of the block size) from src into whole blocks at dst
// (quantized_bytes(type, n) bytes). Supported: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1,
// Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, MXFP4. Throws silica::Error for other types, negative n, or n not
// a multiple of the block size. Finite inputs never crash or produce NaN; scales that overflow
// fp16 saturate at 65504.
void quantize_row(TensorType type, const float* src, void* dst, int64_t n);

// True when quantize_row supports `type`.
bool can_quantize(TensorType type);

// Bytes of n elements of `type`; throws silica::Error when n is negative or not a whole number of
// blocks, or the type is unknown.
size_t quantized_bytes(TensorType type, int64_t n);

}  // namespace silica
