#include "kernels/cpu_family.h"

#include <cpuid.h>

#include <atomic>
#include <cstring>

namespace silica::kernels {
namespace {

CpuId detect() {
    CpuId id;
    unsigned max_leaf = 0, ebx = 0, ecx = 0, edx = 0;
    if (!__get_cpuid(0, &max_leaf, &ebx, &ecx, &edx)) return id;
    char vendor[13] = {};
    std::memcpy(vendor, &ebx, 4);
    std::memcpy(vendor + 4, &edx, 4);
    std::memcpy(vendor + 8, &ecx, 4);
    if (std::strcmp(vendor, "GenuineIntel") == 0) id.vendor = CpuVendor::intel;
    if (std::strcmp(vendor, "AuthenticAMD") == 0) id.vendor = CpuVendor::amd;
    unsigned eax = 0;
    if (max_leaf < 1 || !__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return id;
    const uint32_t base_family = (eax >> 8) & 0xF, base_model = (eax >> 4) & 0xF;
    const uint32_t ext_family = (eax >> 20) & 0xFF, ext_model = (eax >> 16) & 0xF;
    // The extended fields count only from base family 0xF (both vendors; Intel also extends the
    // model of family 6).
    id.family = base_family == 0xF ? base_family + ext_family : base_family;
    id.model = base_family == 0xF || base_family == 0x6 ? (ext_model << 4) | base_model : base_model;
    return id;
}

// Test override: used when g_has_override is set (tests set it from one thread, between kernel calls).
FamilyTuning g_override;
std::atomic<bool> g_has_override{false};

}  // namespace

CpuId detected_cpu() {
    static const CpuId id = detect();
    return id;
}

FamilyTuning tuning_for(const CpuId& cpu) {
    FamilyTuning t;
    // AMD family 19h (Zen 3, Zen 4; only Zen 4 has the AVX-512 kernels): the F16 GEMV runs faster
    // without its software prefetch. On a Zen 4 (EPYC, 2 cores under KVM), GPT-2 355M F16 decode
    // from an empty context, 4 interleaved rounds, median tok/s: prefetch 2 KiB ahead 37.9, 4 KiB
    // 40.4, none 43.4 (llama.cpp 35.2 in other interleaved rounds of the same hour). F16 decode
    // batches keep it (8 rows: 216 / 220 tok/s with it, 196 / 198 without), and so do the Q8_0 and
    // MXFP4 GEMVs (no gain seen without). On Sapphire Rapids the prefetch was worth ~7%
    // (kernels/matmul_repacked_f16_avx512.cpp). docs/PERFORMANCE.md, session 31, has the runs.
    //
    // Also on family 19h: the x16 int8 kernels prefetch their weight streams into L2, not into L1.
    // - The GEMV. Zen 4, 2 threads, 2880x2880 from memory (64 copies), calls alternating 64 at a
    //   time between variants over 400 rounds; median per-round ratio to Q8_0's GEMV without
    //   software prefetch, over all rounds (and over the rounds where that read over 42 GB/s), 3 runs:
    //     MXFP4 without prefetch  0.82 / 0.83 / 0.94  (0.80 / 0.82 / 0.84)
    //     MXFP4 into L2           0.94 / 0.96 / 1.00  (0.92 / 0.94 / 0.95)
    //     Q8_0 into L2            1.00 / 1.00 / 1.03  (0.98 / 0.98 / 0.99)
    //   and in 3 runs of slower rounds only: MXFP4 into L1 0.87 / 0.88 / 0.88 (without 0.95 / 0.95
    //   / 0.96), Q8_0 into L1 0.84. The AVX2 kernel on the same Zen 4 (matmul_bench, 2 threads, from
    //   memory, GB/s, 4 interleaved rounds): before session 32 (its 4-group GEMV had lost its
    //   prefetch too) Q8_0 17.8-26.2, MXFP4 20.0-25.2; into L2 24.1-29.3 and 25.8-30.6.
    // - Decode batches: GPT-2 124M Q8_0, 8 sequences, bench --parallel 1,8, 4 interleaved rounds,
    //   aggregate tok/s: into L1 600 / 689 / 725 / 682, into L2 875 / 886 / 944 / 899.
    // Zen 3 (AVX2 only) is not measured. docs/PERFORMANCE.md, session 32, has the models' figures.
    if (cpu.vendor == CpuVendor::amd && cpu.family == 0x19) {
        t.name = "amd-family-19h";
        t.f16_gemv_prefetch = false;
        t.x16_prefetch_l2 = true;
    }
    return t;
}

const FamilyTuning& family_tuning() {
    static const FamilyTuning detected = tuning_for(detected_cpu());
    return g_has_override.load(std::memory_order_acquire) ? g_override : detected;
}

void set_family_tuning_for_testing(const FamilyTuning& tuning) {
    g_override = tuning;
    g_has_override.store(true, std::memory_order_release);
}

void reset_family_tuning_for_testing() { g_has_override.store(false, std::memory_order_release); }

}  // namespace silica::kernels
