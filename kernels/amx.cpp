#include "kernels/amx.h"

#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>

namespace silica::kernels {
namespace {

bool detect() {
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return false;
    const bool tile = (edx >> 24) & 1u, int8 = (edx >> 25) & 1u;
    if (!tile || !int8) return false;
    // Linux (5.16+) hands out the 8 KiB tile data state only to processes that ask for it.
    constexpr long kArchReqXcompPerm = 0x1023;
    constexpr long kXfeatureXtiledata = 18;
    return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
}

bool from_environment() {
    if (!detected_amx_int8()) return false;
    const char* v = std::getenv("SILICA_AMX");
    return !(v && std::strcmp(v, "0") == 0);
}

// -1: not decided yet (read the environment), 0 off, 1 on.
std::atomic<int> g_override{-1};

}  // namespace

bool detected_amx_int8() {
    static const bool detected = detect();
    return detected;
}

bool active_amx_int8() {
    const int o = g_override.load(std::memory_order_relaxed);
    if (o >= 0) return o == 1;
    static const bool from_env = from_environment();
    return from_env;
}

void set_amx_for_testing(bool enabled) { g_override.store(enabled && detected_amx_int8() ? 1 : 0); }

void reset_amx_for_testing() { g_override.store(-1); }

}  // namespace silica::kernels
