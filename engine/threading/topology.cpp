#include "engine/threading/topology.h"

#include <hwloc.h>

#include <map>
#include <mutex>
#include <algorithm>

#include "silica/error.h"

namespace silica {

struct Topology::Data {
    hwloc_topology_t handle = nullptr;
    bool synthetic = false;
    int n_packages = 0;
    int n_pus = 0;
    int n_l3_groups = 0;
    std::vector<TopologyCore> cores;
    std::vector<TopologyNode> nodes;

    ~Data() {
        if (handle) hwloc_topology_destroy(handle);
    }
};

namespace {

// Reads the loaded hwloc topology into plain tables.
void describe(Topology::Data& d) {
    hwloc_topology_t t = d.handle;

    const int n_nodes = hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_NUMANODE);
    std::vector<hwloc_obj_t> node_objs;
    for (int i = 0; i < n_nodes; ++i) {
        hwloc_obj_t n = hwloc_get_obj_by_type(t, HWLOC_OBJ_NUMANODE, static_cast<unsigned>(i));
        node_objs.push_back(n);
        d.nodes.push_back(TopologyNode{static_cast<int>(n->os_index), {}});
    }
    if (d.nodes.empty()) d.nodes.push_back(TopologyNode{0, {}});  // a machine always has memory somewhere

    // Cores; a machine that reports no core objects gets one "core" per PU.
    hwloc_obj_type_t core_type = hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_CORE) > 0 ? HWLOC_OBJ_CORE : HWLOC_OBJ_PU;
    const int n_cores = hwloc_get_nbobjs_by_type(t, core_type);
    std::map<unsigned, int> l3_ids, package_ids;  // hwloc logical index -> our dense index
    for (int i = 0; i < n_cores; ++i) {
        hwloc_obj_t c = hwloc_get_obj_by_type(t, core_type, static_cast<unsigned>(i));
        TopologyCore core;
        hwloc_obj_t pkg = hwloc_get_ancestor_obj_by_type(t, HWLOC_OBJ_PACKAGE, c);
        const unsigned pkg_key = pkg ? pkg->logical_index : 0;
        core.package = package_ids.emplace(pkg_key, static_cast<int>(package_ids.size())).first->second;
        // Cores without an L3 cache of their own are grouped by package.
        hwloc_obj_t l3 = hwloc_get_ancestor_obj_by_type(t, HWLOC_OBJ_L3CACHE, c);
        const unsigned l3_key = l3 ? l3->logical_index : (1u << 30) + pkg_key;
        core.l3_group = l3_ids.emplace(l3_key, static_cast<int>(l3_ids.size())).first->second;
        core.numa_node = 0;
        for (size_t n = 0; n < node_objs.size(); ++n) {
            if (hwloc_bitmap_isincluded(c->cpuset, node_objs[n]->cpuset)) {
                core.numa_node = static_cast<int>(n);
                break;
            }
        }
        for (hwloc_obj_t pu = hwloc_get_next_obj_inside_cpuset_by_type(t, c->cpuset, HWLOC_OBJ_PU, nullptr); pu;
             pu = hwloc_get_next_obj_inside_cpuset_by_type(t, c->cpuset, HWLOC_OBJ_PU, pu))
            core.pus.push_back(static_cast<int>(pu->os_index));
        d.n_pus += static_cast<int>(core.pus.size());
        d.nodes[static_cast<size_t>(core.numa_node)].cores.push_back(i);
        d.cores.push_back(std::move(core));
    }
    d.n_packages = std::max<int>(1, static_cast<int>(package_ids.size()));
    d.n_l3_groups = std::max<int>(1, static_cast<int>(l3_ids.size()));
    if (d.cores.empty()) throw Error("hwloc reports no processor cores");
}

std::shared_ptr<Topology::Data> load(const std::string* synthetic) {
    auto d = std::make_shared<Topology::Data>();
    if (hwloc_topology_init(&d->handle) != 0) {
        d->handle = nullptr;
        throw Error("hwloc: cannot initialise a topology");
    }
    if (synthetic) {
        d->synthetic = true;
        if (hwloc_topology_set_synthetic(d->handle, synthetic->c_str()) != 0)
            throw Error("invalid synthetic topology '" + *synthetic + "'");
    }
    if (hwloc_topology_load(d->handle) != 0) throw Error("hwloc: cannot read the machine topology");
    describe(*d);
    return d;
}

}  // namespace

Topology Topology::detect() {
    // Detection reads sysfs (milliseconds); every session asks, so do it once per process.
    static std::once_flag once;
    static std::shared_ptr<const Data> machine;
    std::call_once(once, [] { machine = load(nullptr); });
    return Topology(machine);
}

Topology Topology::from_synthetic(const std::string& description) { return Topology(load(&description)); }

int Topology::n_packages() const { return data_->n_packages; }
int Topology::n_pus() const { return data_->n_pus; }
int Topology::n_l3_groups() const { return data_->n_l3_groups; }
const std::vector<TopologyCore>& Topology::cores() const { return data_->cores; }
const std::vector<TopologyNode>& Topology::nodes() const { return data_->nodes; }
bool Topology::is_synthetic() const { return data_->synthetic; }

int Topology::current_node() const {
    if (data_->synthetic) return 0;
    hwloc_bitmap_t set = hwloc_bitmap_alloc();
    int node = 0;
    if (set && hwloc_get_last_cpu_location(data_->handle, set, HWLOC_CPUBIND_THREAD) == 0) {
        const int pu = hwloc_bitmap_first(set);
        for (const TopologyCore& c : data_->cores)
            for (int p : c.pus)
                if (p == pu) node = c.numa_node;
    }
    hwloc_bitmap_free(set);
    return node;
}

bool Topology::bind_current_thread_to_core(int core) const {
    if (data_->synthetic || core < 0 || core >= physical_cores()) return false;
    hwloc_bitmap_t set = hwloc_bitmap_alloc();
    if (!set) return false;
    for (int pu : data_->cores[static_cast<size_t>(core)].pus) hwloc_bitmap_set(set, static_cast<unsigned>(pu));
    const bool ok = hwloc_set_cpubind(data_->handle, set, HWLOC_CPUBIND_THREAD) == 0;
    hwloc_bitmap_free(set);
    return ok;
}

namespace {

// The nodes() index whose hwloc node set equals `set`, or -1.
int node_of_nodeset(hwloc_topology_t t, hwloc_const_bitmap_t set) {
    const int n = hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_NUMANODE);
    for (int i = 0; i < n; ++i) {
        hwloc_obj_t node = hwloc_get_obj_by_type(t, HWLOC_OBJ_NUMANODE, static_cast<unsigned>(i));
        if (hwloc_bitmap_isequal(node->nodeset, set)) return i;
    }
    return -1;
}

}  // namespace

bool Topology::bind_memory_to_node(void* addr, size_t bytes, int node) const {
    if (data_->synthetic || node < 0 || node >= n_nodes() || bytes == 0) return false;
    hwloc_obj_t obj = hwloc_get_obj_by_type(data_->handle, HWLOC_OBJ_NUMANODE, static_cast<unsigned>(node));
    if (!obj) return false;  // a machine hwloc reports without nodes: nowhere else to go
    // Not HWLOC_MEMBIND_STRICT: hwloc then asks for MPOL_PREFERRED, so a model larger than one
    // node's memory still loads (the excess on other nodes) instead of failing.
    return hwloc_set_area_membind(data_->handle, addr, bytes, obj->nodeset, HWLOC_MEMBIND_BIND,
                                  HWLOC_MEMBIND_BYNODESET) == 0;
}

int Topology::memory_binding(const void* addr, size_t bytes) const {
    if (data_->synthetic || bytes == 0) return -1;
    hwloc_bitmap_t set = hwloc_bitmap_alloc();
    if (!set) return -1;
    hwloc_membind_policy_t policy = HWLOC_MEMBIND_DEFAULT;
    int node = -1;
    if (hwloc_get_area_membind(data_->handle, addr, bytes, set, &policy, HWLOC_MEMBIND_BYNODESET) == 0 &&
        policy == HWLOC_MEMBIND_BIND)
        node = node_of_nodeset(data_->handle, set);
    hwloc_bitmap_free(set);
    return node;
}

int Topology::memory_location(const void* addr, size_t bytes) const {
    if (data_->synthetic || bytes == 0) return -1;
    hwloc_bitmap_t set = hwloc_bitmap_alloc();
    if (!set) return -1;
    int node = -1;
    if (hwloc_get_area_memlocation(data_->handle, addr, bytes, set, HWLOC_MEMBIND_BYNODESET) == 0 &&
        hwloc_bitmap_weight(set) == 1)
        node = node_of_nodeset(data_->handle, set);
    hwloc_bitmap_free(set);
    return node;
}

std::string Topology::summary() const {
    auto plural = [](int n, const char* one, const char* many) {
        return std::to_string(n) + " " + (n == 1 ? one : many);
    };
    return plural(n_packages(), "package", "packages") + ", " + plural(n_nodes(), "NUMA node", "NUMA nodes") + ", " +
           plural(physical_cores(), "core", "cores") + ", " + plural(n_pus(), "PU", "PUs") + ", " +
           plural(n_l3_groups(), "L3 group", "L3 groups");
}

}  // namespace silica
