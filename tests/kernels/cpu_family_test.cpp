#include <catch2/catch.hpp>

#include <fstream>
#include <string>

#include "kernels/cpu_family.h"

using namespace silica::kernels;

TEST_CASE("the family table: AMD family 19h drops the F16 GEMV prefetch and prefetches the int8 x16 streams into L2, "
          "other CPUs keep the defaults",
          "[cpu_family]") {
    const FamilyTuning zen4 = tuning_for({CpuVendor::amd, 0x19, 0x11});
    CHECK_FALSE(zen4.f16_gemv_prefetch);
    CHECK(zen4.x16_prefetch_l2);
    CHECK(zen4.name == "amd-family-19h");
    for (const CpuId& other : {CpuId{CpuVendor::intel, 6, 0x8F}, CpuId{CpuVendor::amd, 0x1A, 0x02},
                               CpuId{CpuVendor::amd, 0x17, 0x31}, CpuId{CpuVendor::other, 0x19, 0}}) {
        const FamilyTuning t = tuning_for(other);
        CHECK(t.f16_gemv_prefetch);
        CHECK_FALSE(t.x16_prefetch_l2);
        CHECK(t.name == "default");
    }
}

// /proc/cpuinfo's "vendor_id", "cpu family" and "model" are the kernel's reading of the same CPUID
// fields, decoded the same way.
TEST_CASE("the detected CPU matches /proc/cpuinfo", "[cpu_family]") {
    std::ifstream info("/proc/cpuinfo");
    REQUIRE(info);
    std::string line, vendor;
    int family = -1, model = -1;
    while (std::getline(info, line) && (vendor.empty() || family < 0 || model < 0)) {
        const auto colon = line.find(':');
        if (colon == std::string::npos || colon + 2 > line.size()) continue;
        const std::string key = line.substr(0, line.find_last_not_of(" \t", colon - 1) + 1);
        const std::string value = line.substr(colon + 2);
        if (key == "vendor_id") vendor = value;
        if (key == "cpu family") family = std::stoi(value);
        if (key == "model") model = std::stoi(value);
    }
    const CpuId cpu = detected_cpu();
    CHECK(cpu.vendor == (vendor == "GenuineIntel"   ? CpuVendor::intel
                         : vendor == "AuthenticAMD" ? CpuVendor::amd
                                                    : CpuVendor::other));
    CHECK(static_cast<int>(cpu.family) == family);
    CHECK(static_cast<int>(cpu.model) == model);
}

TEST_CASE("tests can switch the family tuning and return to the detected one", "[cpu_family]") {
    const FamilyTuning detected = tuning_for(detected_cpu());
    CHECK(family_tuning().f16_gemv_prefetch == detected.f16_gemv_prefetch);
    FamilyTuning flipped = detected;
    flipped.f16_gemv_prefetch = !detected.f16_gemv_prefetch;
    set_family_tuning_for_testing(flipped);
    CHECK(family_tuning().f16_gemv_prefetch == flipped.f16_gemv_prefetch);
    reset_family_tuning_for_testing();
    CHECK(family_tuning().f16_gemv_prefetch == detected.f16_gemv_prefetch);
    CHECK(family_tuning().name == detected.name);
}
