#include <catch2/catch.hpp>

#include <algorithm>
#include <set>
#include <tuple>

#include "engine/run_setup.h"
#include "engine/threading/partition.h"
#include "engine/threading/topology.h"
#include "silica/error.h"

using namespace silica;

TEST_CASE("topology: the real machine has cores, PUs and a node", "[threading]") {
    const Topology t = Topology::detect();
    CHECK(t.physical_cores() >= 1);
    CHECK(t.n_pus() >= t.physical_cores());
    CHECK(t.n_nodes() >= 1);
    CHECK(t.n_packages() >= 1);
    CHECK_FALSE(t.is_synthetic());
    int cores_in_nodes = 0;
    for (const TopologyNode& n : t.nodes()) cores_in_nodes += static_cast<int>(n.cores.size());
    CHECK(cores_in_nodes == t.physical_cores());
    CHECK(t.current_node() >= 0);
    CHECK(t.current_node() < t.n_nodes());
}

TEST_CASE("topology: synthetic 2 packages x 8 cores x 2 PUs", "[threading]") {
    const Topology t = Topology::from_synthetic("package:2 core:8 pu:2");
    CHECK(t.is_synthetic());
    CHECK(t.n_packages() == 2);
    CHECK(t.physical_cores() == 16);
    CHECK(t.n_pus() == 32);
    CHECK(t.n_nodes() == 1);
    std::set<int> pus;
    for (size_t c = 0; c < t.cores().size(); ++c) {
        const TopologyCore& core = t.cores()[c];
        CHECK(core.pus.size() == 2);
        CHECK(core.package == (c < 8 ? 0 : 1));
        pus.insert(core.pus.begin(), core.pus.end());
    }
    CHECK(pus.size() == 32);  // no PU belongs to two cores
    CHECK_FALSE(t.bind_current_thread_to_core(0));  // a synthetic machine cannot be bound to
}

TEST_CASE("topology: synthetic NUMA nodes and L3 groups", "[threading]") {
    const Topology t = Topology::from_synthetic("package:2 numa:2 l3:1 core:4 pu:1");
    CHECK(t.n_nodes() == 4);
    CHECK(t.n_l3_groups() == 4);
    CHECK(t.physical_cores() == 16);
    for (int n = 0; n < 4; ++n) {
        REQUIRE(t.nodes()[static_cast<size_t>(n)].cores.size() == 4);
        for (int c : t.nodes()[static_cast<size_t>(n)].cores) {
            CHECK(t.cores()[static_cast<size_t>(c)].numa_node == n);
            CHECK(t.cores()[static_cast<size_t>(c)].l3_group == n);
            CHECK(t.cores()[static_cast<size_t>(c)].package == n / 2);
        }
    }
    CHECK(t.summary() == "2 packages, 4 NUMA nodes, 16 cores, 16 PUs, 4 L3 groups");
}

TEST_CASE("topology: a bad synthetic description is an error", "[threading]") {
    CHECK_THROWS_AS(Topology::from_synthetic("banana:3"), Error);
}

TEST_CASE("split_rows covers every row exactly once, in order", "[threading]") {
    for (int64_t n_rows : {0, 1, 2, 3, 7, 15, 16, 17, 63, 64, 100, 1000, 1001, 4096, 50257}) {
        for (int n_threads : {1, 2, 3, 4, 5, 7, 8, 16, 33}) {
            for (int64_t g : {1, 2, 4, 16, 32, 64, 1000}) {
                int64_t next = 0;
                int64_t min_units = INT64_MAX, max_units = 0;
                for (int t = 0; t < n_threads; ++t) {
                    const RowRange r = split_rows(n_rows, t, n_threads, g);
                    INFO("rows " << n_rows << " threads " << n_threads << " granularity " << g << " thread " << t);
                    REQUIRE(r.begin == next);  // contiguous, in thread order, no gap or overlap
                    REQUIRE(r.end >= r.begin);
                    if (r.end != n_rows) REQUIRE(r.end % g == 0);  // only the last piece may be partial
                    next = r.end;
                    const int64_t units = (r.size() + g - 1) / g;
                    min_units = std::min(min_units, units);
                    max_units = std::max(max_units, units);
                    // Deterministic: asking again gives the same range.
                    const RowRange again = split_rows(n_rows, t, n_threads, g);
                    REQUIRE(std::tie(again.begin, again.end) == std::tie(r.begin, r.end));
                }
                CHECK(next == n_rows);
                CHECK(max_units - min_units <= 1);  // balanced to within one unit
            }
        }
    }
    CHECK(split_rows(10, 5, 4, 1).size() == 0);  // out-of-range thread index: nothing
    CHECK(split_rows(10, 0, 1, 0).size() == 10);  // granularity < 1 is treated as 1
}

namespace {

// Checks the invariants every plan must hold.
void check_plan(const Topology& topo, const NumaPlan& plan, int n_threads) {
    REQUIRE(plan.n_threads == n_threads);
    REQUIRE(plan.thread_core.size() == static_cast<size_t>(n_threads));
    REQUIRE(plan.thread_slot.size() == static_cast<size_t>(n_threads));
    int sum = 0;
    for (int s = 0; s < plan.n_slots(); ++s) {
        CHECK(plan.first_thread[static_cast<size_t>(s)] == sum);
        for (int i = 0; i < plan.threads_per_node[static_cast<size_t>(s)]; ++i) {
            const int t = sum + i;
            CHECK(plan.thread_slot[static_cast<size_t>(t)] == s);
            const int core = plan.thread_core[static_cast<size_t>(t)];
            if (plan.mode == NumaMode::none) {
                CHECK(core == -1);
            } else {
                REQUIRE(core >= 0);
                CHECK(topo.cores()[static_cast<size_t>(core)].numa_node == plan.nodes[static_cast<size_t>(s)]);
            }
        }
        sum += plan.threads_per_node[static_cast<size_t>(s)];
    }
    CHECK(sum == n_threads);
    // The slots' rows tile the matrix, and every thread's rows lie inside its slot's rows.
    for (int64_t rows : {int64_t{0}, int64_t{5}, int64_t{1000}, int64_t{201088}}) {
        int64_t next = 0;
        for (int s = 0; s < plan.n_slots(); ++s) {
            const RowRange r = plan.slot_rows(rows, s, 16);
            CHECK(r.begin == next);
            next = r.end;
        }
        CHECK(next == rows);
        for (int t = 0; t < n_threads; ++t) {
            const RowRange tr = plan.thread_rows(rows, t, 16);
            const RowRange sr = plan.slot_rows(rows, plan.thread_slot[static_cast<size_t>(t)], 16);
            if (tr.size() > 0) CHECK((tr.begin >= sr.begin && tr.end <= sr.end));
        }
    }
}

}  // namespace

TEST_CASE("NUMA plan: 2 packages x 8 cores (one node)", "[threading]") {
    const Topology topo = Topology::from_synthetic("package:2 core:8 pu:2");
    for (int n : {1, 2, 8, 16, 20}) {
        const NumaPlan plan = make_numa_plan(topo, n, NumaMode::distribute);
        check_plan(topo, plan, n);
        CHECK(plan.n_slots() == 1);
        if (n <= 16) {
            std::set<int> cores(plan.thread_core.begin(), plan.thread_core.end());
            CHECK(cores.size() == static_cast<size_t>(n));  // one thread per physical core
        }
    }
    // 20 threads on 16 cores: cores are reused in order.
    const NumaPlan over = make_numa_plan(topo, 20, NumaMode::distribute);
    CHECK(over.thread_core[16] == over.thread_core[0]);
}

TEST_CASE("NUMA plan: 1 package x 2 cores", "[threading]") {
    const Topology topo = Topology::from_synthetic("package:1 core:2 pu:1");
    for (NumaMode mode : {NumaMode::distribute, NumaMode::isolate, NumaMode::none}) {
        const NumaPlan plan = make_numa_plan(topo, 2, mode, 0);
        check_plan(topo, plan, 2);
        if (mode != NumaMode::none) {
            CHECK(plan.thread_core[0] == 0);
            CHECK(plan.thread_core[1] == 1);
        }
    }
}

TEST_CASE("NUMA plan: 4 nodes, distribute spreads and isolate keeps to one node", "[threading]") {
    const Topology topo = Topology::from_synthetic("package:2 numa:2 core:4 pu:1");
    REQUIRE(topo.n_nodes() == 4);

    const NumaPlan spread = make_numa_plan(topo, 8, NumaMode::distribute);
    check_plan(topo, spread, 8);
    REQUIRE(spread.n_slots() == 4);
    for (int s = 0; s < 4; ++s) {
        CHECK(spread.nodes[static_cast<size_t>(s)] == s);
        CHECK(spread.threads_per_node[static_cast<size_t>(s)] == 2);
    }
    // 1000 rows, granularity 1, 2 threads of 8 per node: each node holds a quarter.
    for (int s = 0; s < 4; ++s) CHECK(spread.slot_rows(1000, s, 1).size() == 250);

    // 6 threads on 4 nodes: 2, 2, 1, 1.
    const NumaPlan six = make_numa_plan(topo, 6, NumaMode::distribute);
    check_plan(topo, six, 6);
    CHECK(six.threads_per_node == std::vector<int>{2, 2, 1, 1});
    CHECK(six.slot_rows(600, 0, 1).size() == 200);
    CHECK(six.slot_rows(600, 3, 1).size() == 100);

    // Fewer threads than nodes: only the first nodes get a slot.
    const NumaPlan two = make_numa_plan(topo, 2, NumaMode::distribute);
    check_plan(topo, two, 2);
    CHECK(two.nodes == std::vector<int>{0, 1});

    for (int home = 0; home < 4; ++home) {
        const NumaPlan iso = make_numa_plan(topo, 4, NumaMode::isolate, home);
        check_plan(topo, iso, 4);
        REQUIRE(iso.n_slots() == 1);
        CHECK(iso.nodes[0] == home);
        std::set<int> cores(iso.thread_core.begin(), iso.thread_core.end());
        CHECK(cores.size() == 4);
    }
    CHECK_THROWS_AS(make_numa_plan(topo, 4, NumaMode::isolate, 7), Error);

    const NumaPlan none = make_numa_plan(topo, 5, NumaMode::none);
    check_plan(topo, none, 5);
    CHECK(none.n_slots() == 1);
}

TEST_CASE("NUMA plan: 2 packages x 8 cores, one node per package", "[threading]") {
    const Topology topo = Topology::from_synthetic("package:2 [numa] core:8 pu:2");
    REQUIRE(topo.n_nodes() == 2);
    REQUIRE(topo.physical_cores() == 16);

    const NumaPlan spread = make_numa_plan(topo, 16, NumaMode::distribute);
    check_plan(topo, spread, 16);
    CHECK(spread.threads_per_node == std::vector<int>{8, 8});
    std::set<int> cores(spread.thread_core.begin(), spread.thread_core.end());
    CHECK(cores.size() == 16);
    // Each node holds (and its threads read) half of a matrix's rows.
    CHECK(spread.slot_rows(4096, 0, 16).size() == 2048);
    CHECK(spread.slot_rows(4096, 1, 16).begin == 2048);

    const NumaPlan three = make_numa_plan(topo, 3, NumaMode::distribute);
    check_plan(topo, three, 3);
    CHECK(three.threads_per_node == std::vector<int>{2, 1});

    const NumaPlan iso = make_numa_plan(topo, 8, NumaMode::isolate, 1);
    check_plan(topo, iso, 8);
    CHECK(iso.nodes == std::vector<int>{1});
    for (int c : iso.thread_core) CHECK(topo.cores()[static_cast<size_t>(c)].package == 1);
    // More threads than the node has cores: its cores are reused, never the other node's.
    const NumaPlan iso_over = make_numa_plan(topo, 12, NumaMode::isolate, 0);
    check_plan(topo, iso_over, 12);
    for (int c : iso_over.thread_core) CHECK(topo.cores()[static_cast<size_t>(c)].numa_node == 0);
}

TEST_CASE("NUMA mode names", "[threading]") {
    for (NumaMode m : {NumaMode::distribute, NumaMode::isolate, NumaMode::none})
        CHECK(parse_numa_mode(numa_mode_name(m)) == m);
    CHECK_THROWS_AS(parse_numa_mode("spread"), Error);
    CHECK_THROWS_AS(make_numa_plan(Topology::from_synthetic("core:2"), 0, NumaMode::distribute), Error);
}

TEST_CASE("topology: memory cannot be bound on a synthetic machine", "[threading]") {
    const Topology topo = Topology::from_synthetic("package:2 [numa] core:8 pu:1");
    std::vector<uint8_t> bytes(8192);
    CHECK_FALSE(topo.bind_memory_to_node(bytes.data(), bytes.size(), 1));
    CHECK(topo.memory_binding(bytes.data(), bytes.size()) == -1);
    CHECK(topo.memory_location(bytes.data(), bytes.size()) == -1);
    // A node that does not exist, on the real machine.
    const Topology machine = Topology::detect();
    CHECK_FALSE(machine.bind_memory_to_node(bytes.data(), bytes.size(), machine.n_nodes()));
}

TEST_CASE("NUMA mode auto: distribute with several nodes, none on one", "[threading]") {
    CHECK(default_numa_mode(Topology::from_synthetic("package:2 [numa] core:8 pu:1")) == NumaMode::distribute);
    CHECK(default_numa_mode(Topology::from_synthetic("package:2 numa:2 core:4 pu:1")) == NumaMode::distribute);
    CHECK(default_numa_mode(Topology::from_synthetic("package:2 core:8 pu:2")) == NumaMode::none);
    CHECK(default_numa_mode(Topology::from_synthetic("package:1 core:2 pu:1")) == NumaMode::none);
    const Topology two = Topology::from_synthetic("package:2 [numa] core:8 pu:1");
    CHECK(resolve_numa_mode("auto", two) == NumaMode::distribute);
    CHECK(resolve_numa_mode("none", two) == NumaMode::none);
    CHECK(resolve_numa_mode("isolate", two) == NumaMode::isolate);
    CHECK_THROWS_AS(resolve_numa_mode("spread", two), Error);
    // This machine: whatever it has, auto picks by its node count.
    const Topology machine = Topology::detect();
    CHECK(resolve_numa_mode("auto", machine) == (machine.n_nodes() > 1 ? NumaMode::distribute : NumaMode::none));
}

TEST_CASE("thread plan: auto distributes one process, not the ranks of a job sharing the machine", "[threading]") {
    const Topology two = Topology::from_synthetic("package:2 [numa] core:8 pu:1");
    const NumaPlan one = thread_plan(two, 0, "auto", 1);
    CHECK(one.mode == NumaMode::distribute);
    CHECK(one.n_threads == 16);
    CHECK(one.threads_per_node == std::vector<int>{8, 8});
    // Two tensor-parallel ranks: half the cores each, unpinned (both spread over both nodes would
    // pin to the same cores); asked for explicitly, distribute still applies.
    const NumaPlan rank = thread_plan(two, 0, "auto", 2);
    CHECK(rank.mode == NumaMode::none);
    CHECK(rank.n_threads == 8);
    CHECK(thread_plan(two, 0, "distribute", 2).mode == NumaMode::distribute);
    CHECK(thread_plan(two, 4, "none", 1).n_threads == 4);
}
