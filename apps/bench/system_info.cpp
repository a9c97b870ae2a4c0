#include "apps/bench/system_info.h"

#include <hwloc.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "kernels/cpu_family.h"

namespace silica::bench {

std::string parse_cpu_model(std::string_view text) {
    size_t pos = 0;
    while (pos < text.size()) {
        const size_t end = std::min(text.find('\n', pos), text.size());
        std::string_view line = text.substr(pos, end - pos);
        pos = end + 1;
        if (line.substr(0, 10) != "model name") continue;
        const size_t colon = line.find(':');
        if (colon == std::string_view::npos) continue;
        std::string_view value = line.substr(colon + 1);
        while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
        while (!value.empty() && (value.back() == ' ' || value.back() == '\t' || value.back() == '\r'))
            value.remove_suffix(1);
        if (!value.empty()) return std::string(value);
    }
    return "unknown";
}

std::string cpu_model_name() {
    std::string name = "unknown";
    if (std::ifstream in("/proc/cpuinfo"); in) {
        std::ostringstream text;
        text << in.rdbuf();
        name = parse_cpu_model(text.str());
    }
    // Virtual machines often hide the model ("AMD EPYC"); the family says which kernel tuning ran.
    const kernels::CpuId cpu = kernels::detected_cpu();
    return fmt::format("{} (family {:#x} model {:#x}, tuning {})", name, cpu.family, cpu.model,
                       kernels::family_tuning().name);
}

CpuTopology detect_cpu_topology() {
    CpuTopology t;
    hwloc_topology_t topology = nullptr;
    if (hwloc_topology_init(&topology) != 0) return t;
    if (hwloc_topology_load(topology) == 0) {
        auto count = [&](hwloc_obj_type_t type) {
            const int n = hwloc_get_nbobjs_by_type(topology, type);
            return n > 0 ? n : 0;
        };
        t.sockets = count(HWLOC_OBJ_PACKAGE);
        t.cores = count(HWLOC_OBJ_CORE);
        t.logical_cpus = count(HWLOC_OBJ_PU);
        t.numa_nodes = count(HWLOC_OBJ_NUMANODE);
    }
    hwloc_topology_destroy(topology);
    return t;
}

}  // namespace silica::bench
