// The machine's processor layout, read with hwloc: packages, NUMA nodes, physical cores with their
// hardware threads (PUs), and groups of cores sharing an L3 cache. The thread pool uses it to
// pin one thread per physical core and the NUMA plan (partition.h) to keep threads next to the
// memory they read. Synthetic topologies (an hwloc description string) let tests model machines
// we do not have.
#pragma once
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace silica {

struct TopologyCore {
    int package = 0;    // index into Topology::packages() order (0-based, logical)
    int numa_node = 0;  // index into Topology::nodes()
    int l3_group = 0;   // cores with the same value share an L3 cache
    std::vector<int> pus;  // operating-system indices of this core's hardware threads
};

struct TopologyNode {
    int os_index = 0;        // the kernel's NUMA node number
    std::vector<int> cores;  // indices into Topology::cores()
};

class Topology {
public:
    // The machine this process runs on (restricted to the CPUs it may use). Detected once, then
    // shared: copies are cheap.
    static Topology detect();
    // A made-up machine, e.g. "package:2 core:8 pu:2" or "package:2 numa:2 core:4 pu:1" (hwloc's
    // synthetic syntax). Threads cannot be bound to it.
    static Topology from_synthetic(const std::string& description);

    int n_packages() const;
    int n_nodes() const { return static_cast<int>(nodes().size()); }
    int physical_cores() const { return static_cast<int>(cores().size()); }
    int n_pus() const;
    int n_l3_groups() const;
    const std::vector<TopologyCore>& cores() const;
    const std::vector<TopologyNode>& nodes() const;
    bool is_synthetic() const;

    // Index into nodes() of the node whose CPU runs the calling thread (0 when unknown or synthetic).
    int current_node() const;
    // Binds the calling thread to the hardware threads of one core. Returns false if the system
    // refuses (or the topology is synthetic); the thread then keeps running unpinned.
    bool bind_current_thread_to_core(int core) const;

    // Memory placement of [addr, addr + bytes) (addr page-aligned), for weights that should live
    // next to the threads that read them. Binds the range to node `node` (an index into nodes())
    // before its pages are first touched: the kernel then takes them from that node while it has
    // free memory, and from others after that (mbind MPOL_PREFERRED, through hwloc). Returns false
    // (errno set) when the system refuses, e.g. a container without the permission, or when the
    // topology is synthetic; the pages then go where they are first touched.
    bool bind_memory_to_node(void* addr, size_t bytes, int node) const;
    // The node (nodes() index) the range is bound to; -1 when it has no binding of its own (or
    // several nodes, or the system cannot say).
    int memory_binding(const void* addr, size_t bytes) const;
    // The node (nodes() index) holding the range's pages (the kernel's answer, move_pages); -1
    // when none is resident, they are on several nodes, or the system cannot say.
    int memory_location(const void* addr, size_t bytes) const;

    // One line, e.g. "1 package, 1 NUMA node, 2 cores, 2 PUs, 1 L3 group".
    std::string summary() const;

    struct Data;

private:
    explicit Topology(std::shared_ptr<const Data> data) : data_(std::move(data)) {}
    std::shared_ptr<const Data> data_;
};

}  // namespace silica
