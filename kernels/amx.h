// Intel AMX (tile registers + TDPBSSD int8 dot products), used by the Q8_0 x16 GEMM of prefill
// (kernels/matmul_amx.h) when the CPU has it and Linux lets the process use it; and AMX-BF16
// (TDPBF16PS), used by the split-precision F16 GEMM of prefill (kernels/matmul_f16_amx.h).
//
// AMX is not a step of the Isa ladder (kernels/isa.h): it only ever runs where active_isa() is
// avx512 (the CPUs that have AMX have AVX-512), as a faster way to compute the same integer block
// sums, so results are bit-identical with it on or off (the F16 GEMM on AMX-BF16 is not: it
// rounds differently, see kernels/matmul_f16_amx.h).
#pragma once

#include <cstdint>

namespace silica::kernels {

// Batches from this many activation rows go to the AMX GEMM when it is usable (measured in
// kernels/matmul_repacked_avx512.cpp); Activations then also prepares them as AMX tiles.
constexpr int64_t kAmxMinRows = 12;

// True when CPUID reports AMX-TILE and AMX-INT8 and the kernel granted this process the tile data
// state (arch_prctl ARCH_REQ_XCOMP_PERM, asked once).
bool detected_amx_int8();

// detected_amx_int8(), unless switched off by set_amx_allowed(false) (silica::set_kernel_settings;
// the apps take it from SILICA_AMX=0) or set_amx_for_testing(false). Kernels also check
// active_isa() == avx512.
bool active_amx_int8();
void set_amx_allowed(bool allowed);

// True when CPUID reports AMX-TILE and AMX-BF16 and the tile data state was granted.
bool detected_amx_bf16();

// detected_amx_bf16(), unless switched off like active_amx_int8() (the same switch turns off both).
bool active_amx_bf16();

// The LDTILECFG operand (palette 1): bytes per row (colsb) and rows of each of the 8 tile
// registers. Each AMX kernel gives its own tile shapes.
struct alignas(64) AmxTileConfig {
    uint8_t palette = 1;
    uint8_t start_row = 0;
    uint8_t reserved[14] = {};
    uint16_t colsb[16] = {};
    uint8_t rows[16] = {};
};

// Tests and benchmarks: force AMX (INT8 and BF16) off (false) or back on (true: what is detected).
void set_amx_for_testing(bool enabled);
// Back to the detected / environment choice.
void reset_amx_for_testing();

}  // namespace silica::kernels
