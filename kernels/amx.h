// Intel AMX (tile registers + TDPBSSD int8 dot products), used by the Q8_0 x16 GEMM of prefill
// (kernels/matmul_amx.h) when the CPU has it and Linux lets the process use it.
//
// AMX is not a step of the Isa ladder (kernels/isa.h): it only ever runs where active_isa() is
// avx512 (the CPUs that have AMX have AVX-512), as a faster way to compute the same integer block
// sums, so results are bit-identical with it on or off.
#pragma once

#include <cstdint>

namespace silica::kernels {

// Batches from this many activation rows go to the AMX GEMM when it is usable (measured in
// kernels/matmul_repacked_avx512.cpp); Activations then also prepares them as AMX tiles.
constexpr int64_t kAmxMinRows = 12;

// True when CPUID reports AMX-TILE and AMX-INT8 and the kernel granted this process the tile data
// state (arch_prctl ARCH_REQ_XCOMP_PERM, asked once).
bool detected_amx_int8();

// detected_amx_int8(), unless switched off by the environment (SILICA_AMX=0) or by
// set_amx_for_testing(false). Kernels also check active_isa() == avx512.
bool active_amx_int8();

// Tests and benchmarks: force AMX off (false) or back on (true: only if detected).
void set_amx_for_testing(bool enabled);
// Back to the detected / environment choice.
void reset_amx_for_testing();

}  // namespace silica::kernels
