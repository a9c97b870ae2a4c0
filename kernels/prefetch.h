// Software prefetch of weights: one process-wide switch, and a helper that prefetches a byte range.
//
// The switch covers every software prefetch of the decoder: the GGUF-layout GEMV/GEMM kernels'
// prefetch of each row's next blocks (kernels/matmul_simd_body.h), and the engine's prefetches of
// weights it is about to read (selected GPT-OSS experts, the matrix after attention; see
// engine/arch/prefetch_plan.h). The engine sets it from SILICA_PREFETCH=0|1 each time a model is
// loaded (default on); `bench --ablate prefetch` measures what it is worth.
#pragma once
#include <cstddef>

namespace silica::kernels {

bool software_prefetch_enabled();
void set_software_prefetch(bool on);

// Prefetches [p, p + bytes) into L2, one cache line at a time (baseline x86-64 PREFETCHT1; a hint,
// never a fault). Does nothing when bytes == 0 or software prefetch is off.
void prefetch_to_l2(const void* p, size_t bytes);

}  // namespace silica::kernels
