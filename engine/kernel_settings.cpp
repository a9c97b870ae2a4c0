#include "silica/kernel_settings.h"

#include "kernels/amx.h"
#include "kernels/isa.h"
#include "kernels/matmul_onednn.h"
#include "kernels/prefetch.h"

namespace silica {

namespace {
KernelSettings g_settings;  // what set_kernel_settings() applied last
}  // namespace

void set_kernel_settings(const KernelSettings& s) {
    const kernels::Isa cap = s.isa.empty() ? kernels::detected_isa() : kernels::isa_from_name(s.isa);
    kernels::set_isa_cap(cap);  // throws before anything changed when the CPU lacks it
    kernels::set_amx_allowed(s.amx);
    kernels::set_onednn_enabled(s.onednn);
    kernels::set_software_prefetch(s.software_prefetch);
    g_settings = s;
}

KernelSettings kernel_settings() { return g_settings; }

}  // namespace silica
