// Which instruction set the kernels use, chosen once at run time from CPUID.
//
// The library is compiled for baseline x86-64; only files named *_avx2.cpp / *_avx512.cpp use wider
// instructions, and they are called only when active_isa() says the CPU (and the OS, which must save
// the wider registers on context switches) supports them.
#pragma once
#include <string_view>

namespace silica::kernels {

// Ordered: a higher value implies every lower one.
enum class Isa {
    scalar = 0,  // plain C++ reference kernels
    avx2 = 1,    // AVX2 + FMA + F16C
    avx512 = 2,  // AVX-512 F + BW + VL + VNNI (AVX512-BF16 is reported separately)
};

// What the CPU and OS support, detected once.
Isa detected_isa();
bool detected_avx512_bf16();
bool detected_avx512_vbmi();

// The ISA the kernels use: detected_isa(), lowered by set_isa_cap(), or whatever
// set_isa_for_testing() chose last.
Isa active_isa();
// Caps the ISA for the whole process (silica::set_kernel_settings; the apps take it from
// SILICA_ISA). Asking for more than detected_isa() throws silica::Error.
void set_isa_cap(Isa cap);
// True when the active ISA is avx512 and the CPU has AVX512-BF16 (vdpbf16ps).
bool active_avx512_bf16();
// True when the active ISA is avx512 and the CPU has AVX512-VBMI (vpermb: the MXFP4 x16 kernels
// look codes up without masking nibbles first).
bool active_avx512_vbmi();

// Tests use this to run every kernel at every ISA the machine has. `isa` must not exceed
// detected_isa() (throws otherwise); `allow_bf16 = false` hides AVX512-BF16, `allow_vbmi = false`
// AVX512-VBMI, to test the fallbacks.
void set_isa_for_testing(Isa isa, bool allow_bf16 = true, bool allow_vbmi = true);
// Back to the detected / capped choice.
void reset_isa_for_testing();

std::string_view isa_name(Isa isa);
// "scalar" / "avx2" / "avx512" -> Isa; anything else throws silica::Error.
Isa isa_from_name(std::string_view name);

}  // namespace silica::kernels
