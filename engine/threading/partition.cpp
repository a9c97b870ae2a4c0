#include "engine/threading/partition.h"

#include "silica/error.h"

namespace silica {

NumaMode parse_numa_mode(const std::string& name) {
    if (name == "distribute") return NumaMode::distribute;
    if (name == "isolate") return NumaMode::isolate;
    if (name == "none") return NumaMode::none;
    throw Error("unknown NUMA mode '" + name + "' (expected auto, distribute, isolate or none)");
}

const char* numa_mode_name(NumaMode mode) {
    switch (mode) {
        case NumaMode::distribute: return "distribute";
        case NumaMode::isolate: return "isolate";
        case NumaMode::none: return "none";
    }
    return "?";
}

NumaMode default_numa_mode(const Topology& topology) {
    int nodes_with_cores = 0;
    for (const TopologyNode& node : topology.nodes()) nodes_with_cores += !node.cores.empty();
    return nodes_with_cores > 1 ? NumaMode::distribute : NumaMode::none;
}

NumaMode resolve_numa_mode(const std::string& name, const Topology& topology) {
    return name == "auto" ? default_numa_mode(topology) : parse_numa_mode(name);
}

RowRange NumaPlan::slot_rows(int64_t n_rows, int slot, int64_t granularity) const {
    if (slot < 0 || slot >= n_slots() || threads_per_node[static_cast<size_t>(slot)] == 0) return {};
    const int first = first_thread[static_cast<size_t>(slot)];
    const int last = first + threads_per_node[static_cast<size_t>(slot)] - 1;
    return {split_rows(n_rows, first, n_threads, granularity).begin, split_rows(n_rows, last, n_threads, granularity).end};
}

NumaPlan unpinned_plan(int n_threads) {
    if (n_threads < 1) throw Error("a thread pool needs at least one thread (got " + std::to_string(n_threads) + ")");
    NumaPlan plan;
    plan.mode = NumaMode::none;
    plan.n_threads = n_threads;
    plan.nodes = {0};
    plan.threads_per_node = {n_threads};
    plan.first_thread = {0};
    plan.thread_slot.assign(static_cast<size_t>(n_threads), 0);
    plan.thread_core.assign(static_cast<size_t>(n_threads), -1);
    return plan;
}

NumaPlan make_numa_plan(const Topology& topology, int n_threads, NumaMode mode, int home_node) {
    if (mode == NumaMode::none) return unpinned_plan(n_threads);
    if (n_threads < 1) throw Error("a thread pool needs at least one thread (got " + std::to_string(n_threads) + ")");
    NumaPlan plan;
    plan.mode = mode;
    plan.n_threads = n_threads;

    // The nodes we use, each with its cores in topology order. Nodes without cores (memory-only)
    // cannot run threads and are left out.
    std::vector<int> used;
    if (mode == NumaMode::isolate) {
        int home = home_node >= 0 ? home_node : topology.current_node();
        if (home >= topology.n_nodes())
            throw Error("NUMA node " + std::to_string(home) + " does not exist (the machine has " +
                        std::to_string(topology.n_nodes()) + ")");
        if (topology.nodes()[static_cast<size_t>(home)].cores.empty())
            throw Error("NUMA node " + std::to_string(home) + " has no cores to run threads on");
        used = {home};
    } else {
        for (int n = 0; n < topology.n_nodes(); ++n)
            if (!topology.nodes()[static_cast<size_t>(n)].cores.empty()) used.push_back(n);
    }

    // Deal threads out one at a time, each to the node whose cores are least filled (fewest
    // threads per core; ties go to the lower node). Equal nodes are served round robin, unequal
    // ones in proportion to their cores; past one thread per core, cores are reused in order.
    std::vector<int> count(used.size(), 0);
    std::vector<std::vector<int>> cores_of(used.size());
    for (int t = 0; t < n_threads; ++t) {
        size_t best = 0;
        for (size_t s = 1; s < used.size(); ++s) {
            const int64_t cores_s = static_cast<int64_t>(topology.nodes()[static_cast<size_t>(used[s])].cores.size());
            const int64_t cores_b = static_cast<int64_t>(topology.nodes()[static_cast<size_t>(used[best])].cores.size());
            if (count[s] * cores_b < count[best] * cores_s) best = s;  // count/cores, compared exactly
        }
        const std::vector<int>& node_cores = topology.nodes()[static_cast<size_t>(used[best])].cores;
        cores_of[best].push_back(node_cores[static_cast<size_t>(count[best]) % node_cores.size()]);
        ++count[best];
    }

    int next = 0;
    for (size_t s = 0; s < used.size(); ++s) {
        if (count[s] == 0) continue;
        plan.nodes.push_back(used[s]);
        plan.threads_per_node.push_back(count[s]);
        plan.first_thread.push_back(next);
        for (int c : cores_of[s]) {
            plan.thread_slot.push_back(plan.n_slots() - 1);
            plan.thread_core.push_back(c);
        }
        next += count[s];
    }
    return plan;
}

}  // namespace silica
