// Which NUMA node holds which bytes of a weight's storage, so that each node's threads read their
// rows of every matrix from their own node's memory (docs/DESIGN.md §5). Pure: no system calls;
// engine/arch/weight.cpp binds the ranges before the repack first touches them.
//
// Why the ranges are simple: the matmuls split a matrix's output rows over the pool's threads
// with split_rows at kMatmulRowGranularity (Linear::thread_rows), each expert of a stack the same
// way, and the NUMA plan (engine/threading/partition.h) numbers the threads of one node
// consecutively. So a node's rows are one contiguous range per matrix (NumaPlan::slot_rows), and
// its bytes one contiguous range per expert.
//
// Pages: the kernel places memory by pages, and a row boundary rarely falls on one. A page holding
// bytes of two nodes goes to the node with more of its bytes (the earlier node on a tie): each
// boundary moves to the nearest page boundary, so at most half a page per boundary is read from the
// other node. Huge pages (2 MiB) are the unit only when every node's range is at least
// kHugePagesPerRange of them (the error then stays under 1/32 of a range); otherwise ranges are cut
// at base pages and the huge pages that straddle a cut fall back to 4 KiB ones.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "engine/threading/partition.h"
#include "quant/types.h"

namespace silica::arch {

constexpr size_t kHugePagesPerRange = 16;

// How a weight's bytes map to its rows: units of rows_per_unit rows, unit_bytes each, one expert
// after the other.
struct StorageLayout {
    int64_t rows = 0;           // rows of one matrix (one expert)
    int64_t rows_per_unit = 1;  // 16 (kRepackRows) for repacked groups, 1 for GGUF rows
    size_t unit_bytes = 0;      // bytes of one unit
    int64_t n_expert = 1;
    size_t expert_stride = 0;   // bytes from one expert to the next (>= the expert's units)
    size_t total_bytes() const { return static_cast<size_t>(n_expert) * expert_stride; }
};
// The repacked x16 layout (quant/repack.h) and the GGUF layout of n_expert stacked matrices.
StorageLayout repacked_layout(TensorType type, int64_t rows, int64_t cols, int64_t n_expert = 1);
StorageLayout gguf_layout(TensorType type, int64_t rows, int64_t cols, int64_t n_expert = 1);

// Bytes [begin, end) of a weight's storage on one node (a Topology::nodes() index).
struct NodeBytes {
    size_t begin = 0, end = 0;
    int node = 0;
    bool operator==(const NodeBytes&) const = default;
};

// In address order, contiguous, covering [0, layout.total_bytes()); neighbours are on different
// nodes. The exact ranges the threads of each node read when rows are split over plan's threads
// in units of `granularity` rows (a multiple of layout.rows_per_unit; throws silica::Error
// otherwise). Bytes after an expert's last unit (none for the layouts above) go with that unit.
std::vector<NodeBytes> node_bytes(const NumaPlan& plan, const StorageLayout& layout, int64_t granularity);

struct WeightPlacement {
    size_t page_bytes = 0;          // the unit the ranges' boundaries were rounded to
    std::vector<NodeBytes> ranges;  // as node_bytes, with every inner boundary on a page boundary
};

// What a model's loader hands its weights (WeightOptions::placement): the plan of the threads that
// will run the matmuls, and what binding achieved (Model::describe reports it).
struct NumaPlacement {
    NumaPlan plan;
    uint64_t bytes_bound = 0;  // repacked bytes bound to their readers' nodes
    int64_t refusals = 0;      // weights whose binding the system refused (their pages go to first touch)
};

// node_bytes rounded to pages as described above. base_page: the system's page size; huge_page:
// 2 MiB when the storage is advised for transparent huge pages (and starts 2 MiB-aligned), else 0.
WeightPlacement place_weight(const NumaPlan& plan, const StorageLayout& layout, int64_t granularity,
                             size_t base_page, size_t huge_page);

}  // namespace silica::arch
