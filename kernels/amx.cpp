#include "kernels/amx.h"

#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>

namespace silica::kernels {
namespace {

struct AmxFeatures {
    bool int8 = false;
    bool bf16 = false;
};

AmxFeatures detect() {
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return {};
    const bool tile = (edx >> 24) & 1u, int8 = (edx >> 25) & 1u, bf16 = (edx >> 22) & 1u;
    if (!tile || (!int8 && !bf16)) return {};
    // Linux (5.16+) hands out the 8 KiB tile data state only to processes that ask for it.
    constexpr long kArchReqXcompPerm = 0x1023;
    constexpr long kXfeatureXtiledata = 18;
    if (syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) != 0) return {};
    return {int8, bf16};
}

const AmxFeatures& detected() {
    static const AmxFeatures features = detect();
    return features;
}

// set_amx_allowed(): the process's setting.
std::atomic<bool> g_allowed{true};
// -1: no test override (g_allowed decides), 0 off, 1 on.
std::atomic<int> g_override{-1};

bool active(bool detected_feature) {
    const int o = g_override.load(std::memory_order_relaxed);
    if (o >= 0) return o == 1 && detected_feature;
    return g_allowed.load(std::memory_order_relaxed) && detected_feature;
}

}  // namespace

void set_amx_allowed(bool allowed) { g_allowed.store(allowed, std::memory_order_relaxed); }

bool detected_amx_int8() { return detected().int8; }

bool detected_amx_bf16() { return detected().bf16; }

bool active_amx_int8() { return active(detected_amx_int8()); }

bool active_amx_bf16() { return active(detected_amx_bf16()); }

void set_amx_for_testing(bool enabled) {
    g_override.store(enabled && (detected_amx_int8() || detected_amx_bf16()) ? 1 : 0);
}

void reset_amx_for_testing() { g_override.store(-1); }

}  // namespace silica::kernels
