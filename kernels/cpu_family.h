// Kernel choices that depend on the CPU family rather than on its instruction set, chosen once at
// run time from CPUID (vendor and family), so one build runs tuned on each family.
//
// The ISA (kernels/isa.h) says which instructions exist; this says how to use them where the same
// instructions behave differently. Each field of FamilyTuning has one measured reason, written next
// to the table in cpu_family.cpp; families without a row get the defaults. Every setting stays
// tested on every machine (tests switch the tuning with set_family_tuning_for_testing).
#pragma once
#include <cstdint>
#include <string_view>

namespace silica::kernels {

enum class CpuVendor { other, intel, amd };

struct CpuId {
    CpuVendor vendor = CpuVendor::other;
    uint32_t family = 0;  // CPUID leaf 1 with the extended family added (AMD Zen 3 and Zen 4: 0x19)
    uint32_t model = 0;   // with the extended model
};

struct FamilyTuning {
    std::string_view name = "default";  // shown by bench next to the ISA
    // Software prefetch in the AVX-512 F16 GEMV (decode, one activation row) when the global
    // switch (kernels/prefetch.h) is on. Decode batches and the other weight types keep theirs.
    bool f16_gemv_prefetch = true;
    // The x16 int8 kernels that stream their weights from memory (the GEMV and the decode batches;
    // AVX-512 and AVX2) prefetch them into L2 (_MM_HINT_T1) instead of into every level.
    bool x16_prefetch_l2 = false;
};

// This CPU, read once.
CpuId detected_cpu();
// The table: the tuning of a family (pure, so tests can ask for any CPU).
FamilyTuning tuning_for(const CpuId& cpu);
// What the kernels use: tuning_for(detected_cpu()), or the last set_family_tuning_for_testing().
const FamilyTuning& family_tuning();
// Tests run kernels under every tuning the table can choose; reset returns to the detected one.
void set_family_tuning_for_testing(const FamilyTuning& tuning);
void reset_family_tuning_for_testing();

}  // namespace silica::kernels
