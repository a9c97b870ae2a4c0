// The SILICA_* environment variables the apps honour, read in this one place and passed to the
// library as options (the library itself never reads the environment). README.md lists them.
//   SILICA_ISA=scalar|avx2|avx512   cap the kernels' instruction set     KernelSettings::isa
//   SILICA_AMX=0                    no AMX tiles                         KernelSettings::amx
//   SILICA_ONEDNN=0                 no oneDNN GEMMs                      KernelSettings::onednn
//   SILICA_PREFETCH=0               no software prefetch                 KernelSettings::software_prefetch
//   SILICA_REPACK=0                 weights stay in GGUF layout          LoadOptions::repack
//   SILICA_HUGEPAGES=0              no huge pages for repacked weights   LoadOptions::huge_pages
//   SILICA_PROFILE=1|prefill|batch  per-op timing of decode / prefill / batch decode   SessionOptions/EngineOptions::profile
#pragma once
#include <cstdlib>
#include <cstring>

#include "silica/kernel_settings.h"
#include "silica/model.h"
#include "silica/session.h"

namespace silica::app {

// True unless the variable is set to "0".
inline bool environment_switch(const char* name) {
    const char* v = std::getenv(name);
    return !(v && std::strcmp(v, "0") == 0);
}

inline KernelSettings kernel_settings_from_environment() {
    KernelSettings s;
    if (const char* isa = std::getenv("SILICA_ISA")) s.isa = isa;
    s.amx = environment_switch("SILICA_AMX");
    s.onednn = environment_switch("SILICA_ONEDNN");
    s.software_prefetch = environment_switch("SILICA_PREFETCH");
    return s;
}

inline LoadOptions load_options_from_environment() {
    LoadOptions o;
    o.repack = environment_switch("SILICA_REPACK");
    o.huge_pages = environment_switch("SILICA_HUGEPAGES");
    return o;
}

inline OpProfile profile_from_environment() {
    const char* v = std::getenv("SILICA_PROFILE");
    if (v && std::strcmp(v, "1") == 0) return OpProfile::decode;
    if (v && std::strcmp(v, "prefill") == 0) return OpProfile::prefill;
    if (v && std::strcmp(v, "batch") == 0) return OpProfile::batch;
    return OpProfile::off;
}

}  // namespace silica::app
