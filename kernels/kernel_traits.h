// What the kernels know about each weight type: one table per instruction set, one entry per type
// (in the style of ggml's type_traits_cpu). An entry holds the type's facts (block size, the form
// its activations take, its int8 block decoder) and its kernels at that ISA (the GGUF-layout
// matmul, the x16 repacked matmul, the scalar reference they must agree with).
//
// The tables are in kernels/kernel_traits.cpp, side by side. Adding a weight type means writing
// its kernels and filling its entry in each table; adding an ISA means adding a table. Nothing
// else switches on the weight type to pick a kernel: matmul() looks its entry up once per call
// and calls through the entry's pointer, so the per-block loops never dispatch.
//
// Sub-features of an ISA are chosen inside an entry's kernel, once per call: the AVX-512 BF16
// matmul uses vdpbf16ps when active_avx512_bf16(), the AVX-512 MXFP4 repacked matmul the VBMI
// build when active_avx512_vbmi(), and the AVX-512 repacked Q8_0 / Q4_0 / MXFP4 (amx_int8) and
// F16 matmuls hand large batches to AMX when the CPU has it (kernels/amx.h).
#pragma once
#include <cstdint>
#include <span>

#include "kernels/isa.h"
#include "kernels/matmul.h"
#include "kernels/matmul_ref.h"
#include "kernels/matmul_repacked.h"
#include "quant/types.h"

namespace silica::kernels {

// y[i * ldy + r] = W[r] . x[i] for rows [r_begin, r_end): the contract of matmul() (kernels/matmul.h).
using MatmulFn = void (*)(const Matrix& w, const Activations& x, float* y, int64_t ldy, int64_t r_begin,
                          int64_t r_end);
using RepackedMatmulFn = void (*)(const RepackedMatrix& w, const Activations& x, float* y, int64_t ldy,
                                  int64_t r_begin, int64_t r_end);
// Decodes the 32-element block number b of a weight row for the int8 reference (kernels/matmul_ref.h).
using DecodeBlockFn = void (*)(const uint8_t* row, int64_t b, DecodedBlockQ8& out);

struct KernelTraits {
    TensorType type;
    Isa isa;                        // the table this entry is in
    int64_t block_size;             // activation widths must be a multiple: 32, 256 (K-quants), 1 (float)
    ActivationForm activations;     // what Activations prepares (kernels/activations.h)
    DecodeBlockFn decode_block;     // q8_blocks types: one block as int8 codes and scales; else null
    MatmulFn reference;             // the scalar arithmetic the SIMD kernels follow (up to float
                                    // summation order): matmul_reference_int8 for q8_blocks types,
                                    // else matmul_reference
    MatmulFn matmul;                // GGUF layout at this ISA (the scalar table: matmul_reference,
                                    // float weights times float activations, for every type)
    RepackedMatmulFn matmul_repacked;  // x16 layout (quant/repack.h) at this ISA; null: no kernel
                                       // here, so weights stay in GGUF layout
    bool amx_int8;                  // matmul_repacked hands batches of kAmxMinRows or more to the AMX
                                    // int8 GEMM when active_amx_int8(): Activations then prepares tiles
    bool int16_batches;             // matmul_repacked multiplies batches of kInt16MinRows to
                                    // kInt16MaxRows rows in int16: Activations then also prepares
                                    // the int8 blocks widened to int16 (Activations::q8_wide)
};

// The batch sizes that the int16_batches kernels (AVX2 Q8_0, kernels/matmul_repacked_avx2.cpp)
// multiply in int16: decode batches and verify passes; prefill keeps int8 products.
constexpr int64_t kInt16MinRows = 4;
constexpr int64_t kInt16MaxRows = 32;

// The entry of `type` in the table of `isa`; null when no kernel multiplies this type.
const KernelTraits* find_kernel_traits(TensorType type, Isa isa);
// The entry of `type` at active_isa(); throws silica::Error naming the type when there is none.
const KernelTraits& kernel_traits(TensorType type);

// The weight types that have an entry (the same in every table).
std::span<const TensorType> matmul_types();

}  // namespace silica::kernels
