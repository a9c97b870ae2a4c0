#include "kernels/kernel_traits.h"

#include <array>
#include <iterator>
#include <string>

#include "kernels/matmul_isa.h"
#include "silica/error.h"

namespace silica::kernels {
namespace {

using enum TensorType;

// The weight types with kernels, in the order every table lists them.
constexpr TensorType kTypes[] = {F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, MXFP4, Q4_K, Q5_K, Q6_K};
constexpr size_t kTypeCount = std::size(kTypes);
using Table = std::array<KernelTraits, kTypeCount>;

// Short names for the columns below.
constexpr ActivationForm f32 = ActivationForm::f32;
constexpr ActivationForm bf16 = ActivationForm::f32_bf16;
constexpr ActivationForm q8 = ActivationForm::q8_blocks;
constexpr MatmulFn ref = matmul_reference;
constexpr MatmulFn ref8 = matmul_reference_int8;
constexpr int64_t kK = kQKK;  // K-quant super-blocks

// Scalar: the references themselves; no repacked kernel, so weights stay in GGUF layout.
constexpr Table kScalar = {{
    // type, isa, block size, activations, decode_block, reference, matmul, matmul_repacked, amx_int8, int16_batches
    {F32,   Isa::scalar, 1,   f32,  nullptr,            ref,  ref, nullptr, false, false},
    {F16,   Isa::scalar, 1,   f32,  nullptr,            ref,  ref, nullptr, false, false},
    {BF16,  Isa::scalar, 1,   bf16, nullptr,            ref,  ref, nullptr, false, false},
    {Q8_0,  Isa::scalar, kQK, q8,   decode_block_q8_0,  ref8, ref, nullptr, false, false},
    {Q4_0,  Isa::scalar, kQK, q8,   decode_block_q4_0,  ref8, ref, nullptr, false, false},
    {Q4_1,  Isa::scalar, kQK, q8,   decode_block_q4_1,  ref8, ref, nullptr, false, false},
    {Q5_0,  Isa::scalar, kQK, q8,   decode_block_q5_0,  ref8, ref, nullptr, false, false},
    {Q5_1,  Isa::scalar, kQK, q8,   decode_block_q5_1,  ref8, ref, nullptr, false, false},
    {MXFP4, Isa::scalar, kQK, q8,   decode_block_mxfp4, ref8, ref, nullptr, false, false},
    {Q4_K,  Isa::scalar, kK,  q8,   decode_block_q4_k,  ref8, ref, nullptr, false, false},
    {Q5_K,  Isa::scalar, kK,  q8,   decode_block_q5_k,  ref8, ref, nullptr, false, false},
    {Q6_K,  Isa::scalar, kK,  q8,   decode_block_q6_k,  ref8, ref, nullptr, false, false},
}};

// AVX2 + FMA + F16C. Q4_K, Q5_K and Q6_K keep GGUF order here.
constexpr Table kAvx2 = {{
    // type, isa, block size, activations, decode_block, reference, matmul, matmul_repacked, amx_int8, int16_batches
    {F32,   Isa::avx2, 1,   f32,  nullptr,            ref,  avx2::matmul_f32,   nullptr,                     false, false},
    {F16,   Isa::avx2, 1,   f32,  nullptr,            ref,  avx2::matmul_f16,   avx2::matmul_repacked_f16,   false, false},
    {BF16,  Isa::avx2, 1,   bf16, nullptr,            ref,  avx2::matmul_bf16,  nullptr,                     false, false},
    {Q8_0,  Isa::avx2, kQK, q8,   decode_block_q8_0,  ref8, avx2::matmul_q8_0,  avx2::matmul_repacked_q8_0,  false, true},
    {Q4_0,  Isa::avx2, kQK, q8,   decode_block_q4_0,  ref8, avx2::matmul_q4_0,  avx2::matmul_repacked_q4_0,  false, false},
    {Q4_1,  Isa::avx2, kQK, q8,   decode_block_q4_1,  ref8, avx2::matmul_q4_1,  nullptr,                     false, false},
    {Q5_0,  Isa::avx2, kQK, q8,   decode_block_q5_0,  ref8, avx2::matmul_q5_0,  nullptr,                     false, false},
    {Q5_1,  Isa::avx2, kQK, q8,   decode_block_q5_1,  ref8, avx2::matmul_q5_1,  nullptr,                     false, false},
    {MXFP4, Isa::avx2, kQK, q8,   decode_block_mxfp4, ref8, avx2::matmul_mxfp4, avx2::matmul_repacked_mxfp4, false, false},
    {Q4_K,  Isa::avx2, kK,  q8,   decode_block_q4_k,  ref8, avx2::matmul_q4_k,  nullptr,                     false, false},
    {Q5_K,  Isa::avx2, kK,  q8,   decode_block_q5_k,  ref8, avx2::matmul_q5_k,  nullptr,                     false, false},
    {Q6_K,  Isa::avx2, kK,  q8,   decode_block_q6_k,  ref8, avx2::matmul_q6_k,  nullptr,                     false, false},
}};

// AVX-512 F/BW/VL/VNNI. Q4_K and Q6_K have x16 kernels here only (AVX2 keeps them in GGUF
// order). The repacked Q8_0, Q4_0 and MXFP4 kernels take AMX-INT8 for large batches
// and the F16 panels AMX-BF16, where the CPU has them (kernels/amx.h).
constexpr Table kAvx512 = {{
    // type, isa, block size, activations, decode_block, reference, matmul, matmul_repacked, amx_int8, int16_batches
    {F32,   Isa::avx512, 1,   f32,  nullptr,            ref,  avx512::matmul_f32,   nullptr,                       false, false},
    {F16,   Isa::avx512, 1,   f32,  nullptr,            ref,  avx512::matmul_f16,   avx512::matmul_repacked_f16,   false, false},
    {BF16,  Isa::avx512, 1,   bf16, nullptr,            ref,  avx512::matmul_bf16,  nullptr,                       false, false},
    {Q8_0,  Isa::avx512, kQK, q8,   decode_block_q8_0,  ref8, avx512::matmul_q8_0,  avx512::matmul_repacked_q8_0,  true, false},
    {Q4_0,  Isa::avx512, kQK, q8,   decode_block_q4_0,  ref8, avx512::matmul_q4_0,  avx512::matmul_repacked_q4_0,  true, false},
    {Q4_1,  Isa::avx512, kQK, q8,   decode_block_q4_1,  ref8, avx512::matmul_q4_1,  nullptr,                       false, false},
    {Q5_0,  Isa::avx512, kQK, q8,   decode_block_q5_0,  ref8, avx512::matmul_q5_0,  nullptr,                       false, false},
    {Q5_1,  Isa::avx512, kQK, q8,   decode_block_q5_1,  ref8, avx512::matmul_q5_1,  nullptr,                       false, false},
    {MXFP4, Isa::avx512, kQK, q8,   decode_block_mxfp4, ref8, avx512::matmul_mxfp4, avx512::matmul_repacked_mxfp4, true, false},
    {Q4_K,  Isa::avx512, kK,  q8,   decode_block_q4_k,  ref8, avx512::matmul_q4_k,  avx512::matmul_repacked_q4_k,  false, false},
    {Q5_K,  Isa::avx512, kK,  q8,   decode_block_q5_k,  ref8, avx512::matmul_q5_k,  nullptr,                       false, false},
    {Q6_K,  Isa::avx512, kK,  q8,   decode_block_q6_k,  ref8, avx512::matmul_q6_k,  avx512::matmul_repacked_q6_k,  false, false},
}};

// Indexed by Isa (isa.h orders them scalar, avx2, avx512).
constexpr const Table* kTables[] = {&kScalar, &kAvx2, &kAvx512};

// Every table lists kTypes in order and only holds entries of its own ISA.
constexpr bool tables_in_order() {
    for (size_t t = 0; t < std::size(kTables); ++t)
        for (size_t i = 0; i < kTypeCount; ++i)
            if ((*kTables[t])[i].type != kTypes[i] || (*kTables[t])[i].isa != static_cast<Isa>(t)) return false;
    return true;
}
static_assert(tables_in_order(), "each table lists kTypes in order, entries of its own ISA");

// The position of each raw type id in kTypes (-1: none), so that a lookup is one array read.
constexpr uint32_t kRawIds = 64;
constexpr std::array<int8_t, kRawIds> slots() {
    std::array<int8_t, kRawIds> s{};
    for (auto& v : s) v = -1;
    for (size_t i = 0; i < kTypeCount; ++i) s[static_cast<uint32_t>(kTypes[i])] = static_cast<int8_t>(i);
    return s;
}
constexpr std::array<int8_t, kRawIds> kSlots = slots();

}  // namespace

const KernelTraits* find_kernel_traits(TensorType type, Isa isa) {
    const auto raw = static_cast<uint32_t>(type);
    const auto table = static_cast<size_t>(isa);
    if (raw >= kRawIds || kSlots[raw] < 0 || table >= std::size(kTables)) return nullptr;
    return &(*kTables[table])[static_cast<size_t>(kSlots[raw])];
}

const KernelTraits& kernel_traits(TensorType type) {
    const KernelTraits* traits = find_kernel_traits(type, active_isa());
    if (traits == nullptr) throw Error("matmul: unsupported weight type " + std::string(type_traits(type).name));
    return *traits;
}

std::span<const TensorType> matmul_types() { return kTypes; }

}  // namespace silica::kernels
