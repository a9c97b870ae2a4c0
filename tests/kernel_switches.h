// Scoped switches of the process-wide kernel choices for tests. Both guards put back what they
// change in their destructors, also when an assertion throws in between, so later test cases in the
// same binary start from the defaults.
//
// KernelDefaultsOnExit: for tests that switch the ISA cap, AMX, oneDNN, the software prefetch or the
// CPU family tuning themselves; at the end of its scope every one returns to the library's default.
//
// ExceptionKernelsOff: model tests that must check a weight type bit for bit switch off the kernels
// that are documented exceptions to batch invariance (AMX-BF16's split-precision F16 GEMM, oneDNN's
// F32/BF16 GEMMs) for one scope; it switches back only those (AMX to the detected choice, oneDNN on),
// leaving any other switch the enclosing test set.
#pragma once
#include "kernels/amx.h"
#include "kernels/cpu_family.h"
#include "kernels/isa.h"
#include "kernels/matmul_onednn.h"
#include "kernels/prefetch.h"

namespace silica::test {

struct KernelDefaultsOnExit {
    KernelDefaultsOnExit() = default;
    KernelDefaultsOnExit(const KernelDefaultsOnExit&) = delete;
    KernelDefaultsOnExit& operator=(const KernelDefaultsOnExit&) = delete;
    ~KernelDefaultsOnExit() {
        kernels::reset_isa_for_testing();
        kernels::reset_amx_for_testing();
        kernels::set_onednn_enabled(true);
        kernels::set_software_prefetch(true);
        kernels::reset_family_tuning_for_testing();
    }
};

class ExceptionKernelsOff {
public:
    ExceptionKernelsOff(bool amx, bool onednn) : amx_(amx), onednn_(onednn) {
        if (amx_) kernels::set_amx_for_testing(false);
        if (onednn_) kernels::set_onednn_enabled(false);
    }
    ~ExceptionKernelsOff() {
        if (amx_) kernels::reset_amx_for_testing();
        if (onednn_) kernels::set_onednn_enabled(true);
    }
    ExceptionKernelsOff(const ExceptionKernelsOff&) = delete;
    ExceptionKernelsOff& operator=(const ExceptionKernelsOff&) = delete;

private:
    bool amx_, onednn_;
};

}  // namespace silica::test
