// The machine a bench run ran on: CPU model and topology (hwloc).
#pragma once
#include <string>
#include <string_view>

namespace silica::bench {

struct CpuTopology {
    int sockets = 0;       // hwloc packages
    int cores = 0;         // physical cores
    int logical_cpus = 0;  // hardware threads (PUs)
    int numa_nodes = 0;
};

// The first "model name" line of /proc/cpuinfo text; "unknown" if there is none.
std::string parse_cpu_model(std::string_view cpuinfo_text);
// Reads /proc/cpuinfo, and adds the CPUID family and model with the kernels' tuning for that family
// (kernels/cpu_family.h), e.g. "AMD EPYC (family 0x19 model 0x11, tuning amd-family-19h)".
std::string cpu_model_name();

// Counts from hwloc; zeros where hwloc cannot tell.
CpuTopology detect_cpu_topology();

}  // namespace silica::bench
