// silica::set_kernel_settings: the process-wide kernel switches the apps take from SILICA_*.
#include <catch2/catch.hpp>

#include "kernels/amx.h"
#include "kernels/isa.h"
#include "kernels/matmul_onednn.h"
#include "kernels/prefetch.h"
#include "silica/error.h"
#include "silica/kernel_settings.h"

using namespace silica;

TEST_CASE("kernel settings cap the ISA and switch AMX, oneDNN and prefetch", "[settings]") {
    const KernelSettings defaults;
    KernelSettings s;
    s.isa = "scalar";
    s.amx = false;
    s.onednn = false;
    s.software_prefetch = false;
    set_kernel_settings(s);
    CHECK(kernels::active_isa() == kernels::Isa::scalar);
    CHECK_FALSE(kernels::active_amx_int8());
    CHECK_FALSE(kernels::onednn_enabled());
    CHECK_FALSE(kernels::software_prefetch_enabled());
    CHECK(kernel_settings().isa == "scalar");

    set_kernel_settings(defaults);
    CHECK(kernels::active_isa() == kernels::detected_isa());
    CHECK(kernels::active_amx_int8() == kernels::detected_amx_int8());
    CHECK(kernels::onednn_enabled());
    CHECK(kernels::software_prefetch_enabled());
}

TEST_CASE("kernel settings refuse an unknown ISA or one the CPU lacks, changing nothing", "[settings]") {
    KernelSettings bad;
    bad.isa = "avx1024";
    bad.software_prefetch = false;
    CHECK_THROWS_WITH(set_kernel_settings(bad), Catch::Contains("unknown instruction set 'avx1024'"));
    CHECK(kernels::software_prefetch_enabled());
    if (kernels::detected_isa() < kernels::Isa::avx512) {
        KernelSettings more;
        more.isa = "avx512";
        CHECK_THROWS_AS(set_kernel_settings(more), Error);
    }
    CHECK(kernels::active_isa() == kernels::detected_isa());
}
