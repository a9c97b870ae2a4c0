// Process-wide switches of the kernels. The library never reads the environment: the apps read
// the SILICA_* variables (apps/common/environment_settings.h; the table is in README.md) and pass
// them here and in LoadOptions / SessionOptions / EngineOptions.
#pragma once
#include <string>

namespace silica {

struct KernelSettings {
    // Highest instruction set the kernels may use: "" (the best this CPU has), "scalar", "avx2"
    // or "avx512".
    std::string isa;
    bool amx = true;                // Intel AMX tiles for the int8 / BF16 GEMMs of prefill, where present
    bool onednn = true;             // oneDNN for the F32 / BF16 GEMMs of prefill
    bool software_prefetch = true;  // prefetch instructions ahead of the weight streams of decode
};

// Applies the settings to every model and session of the process; call it before loading models
// (not while a forward pass runs). Throws silica::Error for an unknown ISA name or one this CPU
// does not have.
void set_kernel_settings(const KernelSettings& settings);
KernelSettings kernel_settings();

}  // namespace silica
