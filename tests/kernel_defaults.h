// Tests that switch the process-wide kernel choices (ISA cap, AMX, oneDNN, software prefetch, CPU
// family tuning) hold a KernelDefaultsOnExit for the scope: its destructor puts every one back to
// the library's default, also when an assertion throws in between, so later test cases in the same
// binary start from the defaults.
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

}  // namespace silica::test
