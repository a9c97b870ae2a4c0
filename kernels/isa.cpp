#include "kernels/isa.h"

#include <cpuid.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "silica/error.h"

namespace silica::kernels {
namespace {

// XCR0: which register states the OS saves on context switches. Reading it needs OSXSAVE.
uint64_t read_xcr0() {
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return 0;
    if (!(ecx & bit_OSXSAVE)) return 0;
    uint32_t lo = 0, hi = 0;
    // xgetbv via inline asm: the intrinsic would need -mxsave, and this file is baseline x86-64.
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (static_cast<uint64_t>(hi) << 32) | lo;
}

struct Detected {
    Isa isa = Isa::scalar;
    bool bf16 = false;
    bool vbmi = false;
};

Detected detect() {
    __builtin_cpu_init();
    const uint64_t xcr0 = read_xcr0();
    const bool os_avx = (xcr0 & 0x6) == 0x6;       // SSE + AVX (YMM) state
    const bool os_avx512 = (xcr0 & 0xe6) == 0xe6;  // + opmask, ZMM0-15 high halves, ZMM16-31
    Detected d;
    if (os_avx && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
        __builtin_cpu_supports("f16c"))
        d.isa = Isa::avx2;
    if (d.isa == Isa::avx2 && os_avx512 && __builtin_cpu_supports("avx512f") &&
        __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vnni"))
        d.isa = Isa::avx512;
    d.bf16 = d.isa == Isa::avx512 && __builtin_cpu_supports("avx512bf16");
    d.vbmi = d.isa == Isa::avx512 && __builtin_cpu_supports("avx512vbmi");
    return d;
}

const Detected& detected() {
    static const Detected d = detect();
    return d;
}

// -1: no cap (the detected ISA); otherwise the Isa value set_isa_cap() chose.
std::atomic<int> g_cap{-1};

// -1: no test override; otherwise the Isa value. bf16 / vbmi overrides: true allowed, false hidden.
std::atomic<int> g_test_isa{-1};
std::atomic<bool> g_test_bf16{true};
std::atomic<bool> g_test_vbmi{true};

}  // namespace

Isa detected_isa() { return detected().isa; }
bool detected_avx512_bf16() { return detected().bf16; }
bool detected_avx512_vbmi() { return detected().vbmi; }

void set_isa_cap(Isa cap) {
    if (cap > detected().isa)
        throw Error("the kernels cannot use " + std::string(isa_name(cap)) + ": this CPU only supports " +
                    std::string(isa_name(detected().isa)));
    g_cap.store(static_cast<int>(cap), std::memory_order_relaxed);
}

Isa active_isa() {
    const int forced = g_test_isa.load(std::memory_order_relaxed);
    if (forced >= 0) return static_cast<Isa>(forced);
    const int cap = g_cap.load(std::memory_order_relaxed);
    return cap >= 0 ? static_cast<Isa>(cap) : detected().isa;
}

bool active_avx512_bf16() {
    return active_isa() == Isa::avx512 && detected().bf16 && g_test_bf16.load(std::memory_order_relaxed);
}

bool active_avx512_vbmi() {
    return active_isa() == Isa::avx512 && detected().vbmi && g_test_vbmi.load(std::memory_order_relaxed);
}

void set_isa_for_testing(Isa isa, bool allow_bf16, bool allow_vbmi) {
    if (isa > detected().isa)
        throw Error("cannot use ISA " + std::string(isa_name(isa)) + ": this CPU only supports " +
                    std::string(isa_name(detected().isa)));
    g_test_isa.store(static_cast<int>(isa), std::memory_order_relaxed);
    g_test_bf16.store(allow_bf16, std::memory_order_relaxed);
    g_test_vbmi.store(allow_vbmi, std::memory_order_relaxed);
}

void reset_isa_for_testing() {
    g_test_isa.store(-1, std::memory_order_relaxed);
    g_test_bf16.store(true, std::memory_order_relaxed);
    g_test_vbmi.store(true, std::memory_order_relaxed);
}

Isa isa_from_name(std::string_view name) {
    if (name == "scalar") return Isa::scalar;
    if (name == "avx2") return Isa::avx2;
    if (name == "avx512") return Isa::avx512;
    throw Error("unknown instruction set '" + std::string(name) + "' (expected scalar, avx2 or avx512)");
}

std::string_view isa_name(Isa isa) {
    switch (isa) {
        case Isa::scalar: return "scalar";
        case Isa::avx2: return "avx2";
        case Isa::avx512: return "avx512";
    }
    return "unknown";
}

}  // namespace silica::kernels
