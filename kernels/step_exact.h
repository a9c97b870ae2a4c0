// How many rows a pass may have and still give every row the bits it gets alone.
//
// A speculative verify pass (the pending token and up to 64 proposals of one sequence) must give
// each row exactly the logits of single-token decode steps, and a decode batch of many sequences
// each sequence's logits alone. Up to this many rows (per matmul, and per sequence run in
// attention) the kernels used are the row-count-invariant ones: Silica's own matmuls (not
// oneDNN), and attention computed token by token as decode computes it. Longer passes (prefill)
// may take faster kernels that sum in another order.
// One exception below this: F16 weights on CPUs with AMX-BF16 take the split-precision GEMM from
// kF16AmxMinRows (20) rows (kernels/matmul_f16_amx.h), which rounds differently; there a verify
// pass of 19+ proposals or a decode batch of 20+ sequences is exact only to rounding.
#pragma once
#include <cstdint>

namespace silica::kernels {

constexpr int64_t kStepExactRows = 65;

}  // namespace silica::kernels
