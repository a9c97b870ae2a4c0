// Per-ISA versions of kernels/activations.h functions; call only when active_isa() allows the ISA
// (Activations::prepare dispatches).
#pragma once
#include <cstdint>

#include "kernels/activations.h"

namespace silica::kernels::avx512 {

// quantize_activations_q8, bit-identical; also writes each block's sum of qs to sums (if not null).
void quantize_activations_q8(const float* x, ActBlockQ8* out, int32_t* sums, int64_t k);

}  // namespace silica::kernels::avx512

namespace silica::kernels::avx2 {

// The same, with AVX2.
void quantize_activations_q8(const float* x, ActBlockQ8* out, int32_t* sums, int64_t k);

}  // namespace silica::kernels::avx2
