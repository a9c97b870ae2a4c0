// NUMA placement of weights (engine/arch/weight_placement.h): on synthetic multi-node machines,
// every row's bytes belong to the node of the thread whose matmul share reads them (the split of
// Linear::thread_rows); pages are split by majority. On this machine, the kernel is asked where a
// bound repacked weight's pages are.
#include <catch2/catch.hpp>

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <span>
#include <vector>

#include "engine/arch/linear.h"
#include "engine/arch/weight.h"
#include "engine/arch/weight_placement.h"
#include "engine/threading/partition.h"
#include "engine/threading/topology.h"
#include "model_test_util.h"
#include "quant/repack.h"
#include "silica/error.h"
#include "silica/model.h"
#include "silica/session.h"

using namespace silica;
using arch::NodeBytes;
using arch::StorageLayout;

namespace {

constexpr size_t kPage = 4096, kHuge = size_t{2} << 20;

// The ranges cover [0, total) in order, without gaps, and neighbours are on different nodes.
void check_cover(const std::vector<NodeBytes>& ranges, size_t total) {
    REQUIRE(!ranges.empty());
    CHECK(ranges.front().begin == 0);
    CHECK(ranges.back().end == total);
    for (size_t i = 0; i < ranges.size(); ++i) {
        CHECK(ranges[i].begin < ranges[i].end);
        if (i > 0) {
            CHECK(ranges[i].begin == ranges[i - 1].end);
            CHECK(ranges[i].node != ranges[i - 1].node);
        }
    }
}

// Nodes of the ranges overlapping [begin, end), appended to `out`.
void nodes_overlapping(const std::vector<NodeBytes>& ranges, size_t begin, size_t end, std::vector<int>& out) {
    for (const NodeBytes& r : ranges)
        if (r.begin < end && r.end > begin) out.push_back(r.node);
}

// Every thread's rows of every expert, as the matmuls split them (Linear::thread_rows), lie in
// bytes that the exact plan gives to the thread's node.
void check_rows_on_reader_nodes(const NumaPlan& plan, const StorageLayout& layout) {
    const std::vector<NodeBytes> exact = arch::node_bytes(plan, layout, arch::kMatmulRowGranularity);
    check_cover(exact, layout.total_bytes());
    int64_t wrong = 0, rows_checked = 0;
    for (int64_t e = 0; e < layout.n_expert; ++e) {
        for (int t = 0; t < plan.n_threads; ++t) {
            const RowRange rows = arch::Linear::thread_rows(layout.rows, t, plan.n_threads);
            if (rows.size() <= 0) continue;
            const size_t base = static_cast<size_t>(e) * layout.expert_stride;
            const size_t begin = base + static_cast<size_t>(rows.begin / layout.rows_per_unit) * layout.unit_bytes;
            const size_t end = base + static_cast<size_t>((rows.end + layout.rows_per_unit - 1) / layout.rows_per_unit) *
                                          layout.unit_bytes;
            std::vector<int> nodes;
            nodes_overlapping(exact, begin, end, nodes);
            const int want = plan.nodes[static_cast<size_t>(plan.thread_slot[static_cast<size_t>(t)])];
            for (int n : nodes) wrong += n != want;
            rows_checked += rows.size();
        }
    }
    CHECK(wrong == 0);
    CHECK(rows_checked == layout.rows * layout.n_expert);
}

// After rounding to pages: boundaries on pages, and each page on a node that owns at least half of
// its bytes in the exact plan (the earlier one on a tie).
void check_pages_by_majority(const NumaPlan& plan, const StorageLayout& layout, size_t huge_page) {
    const std::vector<NodeBytes> exact = arch::node_bytes(plan, layout, arch::kMatmulRowGranularity);
    const arch::WeightPlacement placed =
        arch::place_weight(plan, layout, arch::kMatmulRowGranularity, kPage, huge_page);
    const size_t total = layout.total_bytes(), page = placed.page_bytes;
    check_cover(placed.ranges, total);
    for (size_t i = 0; i + 1 < placed.ranges.size(); ++i) CHECK(placed.ranges[i].end % page == 0);
    int64_t minority_pages = 0;
    size_t bytes_elsewhere = 0;
    for (const NodeBytes& r : placed.ranges) {
        for (size_t p = r.begin; p < r.end; p += page) {
            const size_t end = std::min(p + page, total);
            size_t own = 0, best_other = 0;
            for (const NodeBytes& x : exact) {
                const size_t lo = std::max(p, x.begin), hi = std::min(end, x.end);
                if (lo >= hi) continue;
                if (x.node == r.node) own += hi - lo;
                else best_other = std::max(best_other, hi - lo);
            }
            minority_pages += own < best_other;
            bytes_elsewhere += (end - p) - own;
        }
    }
    CHECK(minority_pages == 0);
    // At most half a page per boundary of the exact plan is read from another node.
    CHECK(bytes_elsewhere <= (exact.size() - 1) * (page / 2));
}

void check_layout(const NumaPlan& plan, const StorageLayout& layout, size_t huge_page) {
    check_rows_on_reader_nodes(plan, layout);
    check_pages_by_majority(plan, layout, huge_page);
}

// Weights of GPT-OSS-20B's and GPT-2's shapes, repacked and in GGUF layout.
std::vector<StorageLayout> model_layouts() {
    return {
        arch::repacked_layout(TensorType::MXFP4, 2880, 2880, 32),   // an expert stack (gate, up)
        arch::repacked_layout(TensorType::Q8_0, 4096, 2880),        // attention q
        arch::repacked_layout(TensorType::Q8_0, 201088, 2880),      // output matrix (vocabulary rows)
        arch::repacked_layout(TensorType::Q8_0, 50257, 768),        // GPT-2's tied embedding / output
        arch::repacked_layout(TensorType::Q4_0, 1000, 64, 3),       // rows not a multiple of 16
        arch::repacked_layout(TensorType::F16, 2304, 768),          // F16 panels
        arch::gguf_layout(TensorType::F32, 3072, 768),              // GGUF rows
        arch::gguf_layout(TensorType::Q8_0, 777, 96, 4),
    };
}

}  // namespace

TEST_CASE("weight placement: 2 nodes x 8 cores, every row on its reader's node", "[numa]") {
    const Topology topo = Topology::from_synthetic("package:2 [numa] core:8 pu:1");
    REQUIRE(topo.n_nodes() == 2);
    for (int threads : {16, 3, 12, 20}) {
        const NumaPlan plan = make_numa_plan(topo, threads, NumaMode::distribute);
        REQUIRE(plan.n_slots() == 2);
        for (const StorageLayout& layout : model_layouts()) {
            INFO(threads << " threads, " << layout.rows << " rows x " << layout.n_expert << " experts");
            check_layout(plan, layout, kHuge);
            check_layout(plan, layout, 0);
        }
    }
}

TEST_CASE("weight placement: 4 nodes, every row on its reader's node", "[numa]") {
    const Topology topo = Topology::from_synthetic("package:2 numa:2 core:4 pu:1");
    REQUIRE(topo.n_nodes() == 4);
    for (int threads : {8, 6, 4}) {
        const NumaPlan plan = make_numa_plan(topo, threads, NumaMode::distribute);
        REQUIRE(plan.n_slots() == 4);
        for (const StorageLayout& layout : model_layouts()) {
            INFO(threads << " threads, " << layout.rows << " rows x " << layout.n_expert << " experts");
            check_layout(plan, layout, kHuge);
        }
    }
}

TEST_CASE("weight placement: each node holds its share of every expert", "[numa]") {
    const Topology topo = Topology::from_synthetic("package:2 [numa] core:8 pu:1");
    const NumaPlan plan = make_numa_plan(topo, 16, NumaMode::distribute);
    // 2880 rows = 180 groups over 16 threads: threads 0-3 get 12, the others 11, so node 0 (threads
    // 0-7) reads 92 groups of every expert and node 1 the other 88.
    const StorageLayout layout = arch::repacked_layout(TensorType::MXFP4, 2880, 2880, 4);
    const std::vector<NodeBytes> exact = arch::node_bytes(plan, layout, arch::kMatmulRowGranularity);
    REQUIRE(exact.size() == 8);
    for (size_t i = 0; i < exact.size(); ++i) {
        CHECK(exact[i].node == static_cast<int>(i % 2));
        CHECK(exact[i].begin == (i / 2) * layout.expert_stride + (i % 2) * 92 * layout.unit_bytes);
        CHECK(exact[i].end - exact[i].begin == (i % 2 ? 88 : 92) * layout.unit_bytes);
    }
    // Half an expert is ~2.2 MB, under 16 huge pages: cut at 4 KiB pages.
    CHECK(arch::place_weight(plan, layout, arch::kMatmulRowGranularity, kPage, kHuge).page_bytes == kPage);
    // The 201088-row output matrix (~300 MB per node) is cut at huge pages.
    const StorageLayout output = arch::repacked_layout(TensorType::Q8_0, 201088, 2880);
    const arch::WeightPlacement big = arch::place_weight(plan, output, arch::kMatmulRowGranularity, kPage, kHuge);
    CHECK(big.page_bytes == kHuge);
    REQUIRE(big.ranges.size() == 2);
    CHECK(big.ranges[0].end % kHuge == 0);
}

TEST_CASE("weight placement: one node, isolate, few rows", "[numa]") {
    const Topology two = Topology::from_synthetic("package:2 [numa] core:8 pu:1");
    const StorageLayout layout = arch::repacked_layout(TensorType::Q8_0, 4096, 2880, 2);
    const std::vector<NodeBytes> whole1 = {{0, layout.total_bytes(), 1}};
    // isolate on node 1: everything there.
    CHECK(arch::node_bytes(make_numa_plan(two, 8, NumaMode::isolate, 1), layout, 16) == whole1);
    // One node (and the unpinned plan): one range on node 0.
    const std::vector<NodeBytes> whole0 = {{0, layout.total_bytes(), 0}};
    CHECK(arch::node_bytes(make_numa_plan(Topology::from_synthetic("package:1 core:2 pu:1"), 2, NumaMode::distribute),
                           layout, 16) == whole0);
    CHECK(arch::node_bytes(unpinned_plan(4), layout, 16) == whole0);
    // 20 rows (2 groups) over 16 threads: threads 0 and 1 read them, both on node 0.
    const StorageLayout tiny = arch::repacked_layout(TensorType::Q8_0, 20, 64);
    const std::vector<NodeBytes> tiny0 = {{0, tiny.total_bytes(), 0}};
    CHECK(arch::node_bytes(make_numa_plan(two, 16, NumaMode::distribute), tiny, 16) == tiny0);
    // A split that cuts 16-row groups cannot be placed.
    CHECK_THROWS_AS(arch::node_bytes(unpinned_plan(2), layout, 8), Error);
}

TEST_CASE("weight placement: this machine's kernel puts a bound repacked weight on its node", "[numa]") {
    const Topology topo = Topology::detect();
    const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    // Can this process bind memory at all? (Containers often forbid mbind without CAP_SYS_NICE.)
    {
        void* probe = mmap(nullptr, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        REQUIRE(probe != MAP_FAILED);
        errno = 0;
        const bool ok = topo.bind_memory_to_node(probe, page, 0);
        const int err = errno;
        munmap(probe, page);
        if (!ok) {
            WARN("binding memory to a NUMA node is refused here (" << std::strerror(err) << "): skipped");
            return;
        }
    }
    // Threads distributed over this machine's nodes; a 4 MiB Q8_0 matrix (a mapping of its own).
    arch::NumaPlacement placement;
    placement.plan = make_numa_plan(topo, topo.physical_cores(), NumaMode::distribute);
    const int64_t rows = 4096, cols = 1024;
    const size_t row_stride = row_bytes(type_traits(TensorType::Q8_0), cols);
    std::vector<uint8_t> src(row_stride * static_cast<size_t>(rows), 0);  // zero scales: valid blocks
    const arch::Weight w = arch::Weight::repacked(kernels::Matrix{TensorType::Q8_0, rows, cols, src.data(), row_stride},
                                                  1, true, &placement);
    REQUIRE(w.is_repacked());
    CHECK(placement.refusals == 0);
    CHECK(placement.bytes_bound == repacked_bytes(TensorType::Q8_0, rows, cols));

    // Each thread's rows: bound to, and resident on, its node (on a one-node machine: node 0).
    const std::vector<NodeBytes> exact =
        arch::node_bytes(placement.plan, arch::repacked_layout(TensorType::Q8_0, rows, cols), 16);
    for (int t = 0; t < placement.plan.n_threads; ++t) {
        const RowRange r = arch::Linear::thread_rows(rows, t, placement.plan.n_threads);
        if (r.size() <= 0) continue;
        const std::span<const uint8_t> bytes = w.storage_of_rows(r.begin, r.end);
        // Whole pages inside the thread's share (a page at a boundary may belong to another node).
        const auto first = (reinterpret_cast<uintptr_t>(bytes.data()) + page - 1) / page * page;
        const auto last = (reinterpret_cast<uintptr_t>(bytes.data()) + bytes.size()) / page * page;
        if (first >= last) continue;
        const int want = placement.plan.nodes[static_cast<size_t>(placement.plan.thread_slot[static_cast<size_t>(t)])];
        INFO("thread " << t << ", rows " << r.begin << ".." << r.end);
        const int bound = topo.memory_binding(reinterpret_cast<const void*>(first), last - first);
        CHECK(bound == want);
        const int resident = topo.memory_location(reinterpret_cast<const void*>(first), last - first);
        if (resident == -1)
            WARN("the kernel does not say where the pages are (move_pages refused?): residency not checked");
        else
            CHECK(resident == want);
    }
    if (topo.n_nodes() == 1) CHECK(exact.size() == 1);

    // A small weight (under one huge page) whose plan has two slots gets pages of its own, bound
    // range by range (both slots on node 0 here, so the ranges merge into one).
    arch::NumaPlacement two_slots;
    two_slots.plan = unpinned_plan(2);
    two_slots.plan.nodes = {0, 0};
    two_slots.plan.threads_per_node = {1, 1};
    two_slots.plan.first_thread = {0, 1};
    two_slots.plan.thread_slot = {0, 1};
    const int64_t small_rows = 256;
    const arch::Weight small = arch::Weight::repacked(
        kernels::Matrix{TensorType::Q8_0, small_rows, cols, src.data(), row_stride}, 1, true, &two_slots);
    const std::span<const uint8_t> small_bytes = small.storage_of_rows(0, small_rows);
    CHECK(reinterpret_cast<uintptr_t>(small_bytes.data()) % page == 0);
    CHECK(two_slots.bytes_bound == small_bytes.size());
    CHECK(topo.memory_binding(small_bytes.data(), small_bytes.size()) == 0);
}

TEST_CASE("weight placement: a model loaded for distributed threads says so and computes the same logits", "[numa]") {
    const std::string path = test::synthetic_model("gpt-oss", "q8_0");
    const std::vector<int32_t> tokens = test::token_sequence(12, 3, 1000);
    auto logits = [&](const std::string& numa, std::string& info) {
        LoadOptions lo;
        lo.n_threads = 2;
        lo.numa = numa;
        auto model = Model::load(path, lo);
        info = model->describe();
        SessionOptions so;
        so.n_threads = 2;
        so.numa = numa;
        so.n_ctx = 64;
        Session s(model, so);
        return test::decode_all_logits(s, tokens);
    };
    std::string placed_info, unplaced_info;
    const std::vector<float> placed = logits("distribute", placed_info);
    const std::vector<float> unplaced = logits("none", unplaced_info);
    CHECK(placed_info.find("NUMA placement: distribute, 2 threads") != std::string::npos);
    CHECK(unplaced_info.find("NUMA placement: none") != std::string::npos);
    // Same weights, same row split: where the pages live changes nothing in the arithmetic.
    REQUIRE(placed.size() == unplaced.size());
    CHECK(std::memcmp(placed.data(), unplaced.data(), placed.size() * sizeof(float)) == 0);
}
