// How work is split over the threads of a pool: contiguous, static, deterministic row ranges
// (split_rows), and the NUMA plan that places threads on nodes and gives each node the rows its
// own threads will read, so weights can live in the memory next to the cores that use them.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "engine/threading/topology.h"

namespace silica {

struct RowRange {
    int64_t begin = 0;
    int64_t end = 0;  // one past the last row; begin == end means no rows
    int64_t size() const { return end - begin; }
};

// The rows of [0, n_rows) that thread `thread_index` of `n_threads` handles. Rows are dealt out in
// units of `granularity` rows (the last unit may be shorter) as evenly as possible, in thread
// order, so the ranges of threads 0..n-1 are contiguous and cover every row exactly once. A thread
// may get no rows when there are fewer units than threads. Same inputs, same answer.
inline RowRange split_rows(int64_t n_rows, int thread_index, int n_threads, int64_t granularity) {
    if (n_rows <= 0 || n_threads <= 0 || thread_index < 0 || thread_index >= n_threads) return {};
    if (granularity < 1) granularity = 1;
    const int64_t units = (n_rows + granularity - 1) / granularity;
    const int64_t per_thread = units / n_threads;
    const int64_t extra = units % n_threads;  // the first `extra` threads get one more unit
    const int64_t t = thread_index;
    const int64_t first_unit = t * per_thread + (t < extra ? t : extra);
    const int64_t n_units = per_thread + (t < extra ? 1 : 0);
    const int64_t begin = first_unit * granularity;
    const int64_t end = (first_unit + n_units) * granularity;
    return {begin < n_rows ? begin : n_rows, end < n_rows ? end : n_rows};
}

// --numa distribute|isolate|none.
enum class NumaMode {
    distribute,  // threads spread over all nodes (in proportion to their cores); each node reads its own rows
    isolate,     // all threads on the caller's node
    none,        // no pinning; the operating system places threads
};

NumaMode parse_numa_mode(const std::string& name);  // throws silica::Error on an unknown name
const char* numa_mode_name(NumaMode mode);
// --numa auto, the default: distribute on a machine with more than one NUMA node that has cores
// (threads and weights spread over the nodes, each node reading its own memory), none on one node
// (nothing to place; unpinned threads then leave the scheduler free to share cores).
NumaMode default_numa_mode(const Topology& topology);
// A --numa name: "auto" (default_numa_mode) or one that parse_numa_mode takes.
NumaMode resolve_numa_mode(const std::string& name, const Topology& topology);

// Where each thread of a pool runs and which rows of a matrix each node holds. Threads of one node
// are consecutive (thread indices first_thread[k] .. first_thread[k] + threads_per_node[k] - 1 run on
// nodes[k]), so a node's rows are exactly the union of its threads' split_rows ranges.
struct NumaPlan {
    NumaMode mode = NumaMode::none;
    int n_threads = 0;
    std::vector<int> nodes;             // Topology::nodes() indices used, one slot each
    std::vector<int> threads_per_node;  // per slot
    std::vector<int> first_thread;      // per slot
    std::vector<int> thread_slot;       // per thread: its slot in `nodes`
    std::vector<int> thread_core;       // per thread: Topology::cores() index to pin to, or -1 (no pin)

    int n_slots() const { return static_cast<int>(nodes.size()); }
    // The rows of an n_rows matrix that the threads of slot `slot` use (granularity as split_rows).
    RowRange slot_rows(int64_t n_rows, int slot, int64_t granularity) const;
    // The rows thread `thread_index` uses; always inside its slot's rows.
    RowRange thread_rows(int64_t n_rows, int thread_index, int64_t granularity) const {
        return split_rows(n_rows, thread_index, n_threads, granularity);
    }
};

// n_threads (>= 1) threads, no pinning, one slot (what NumaMode::none plans on any topology).
NumaPlan unpinned_plan(int n_threads);

// Plans n_threads (>= 1) threads on `topology`. `home_node` is the Topology::nodes() index that
// isolate keeps to; -1 means the node the calling thread runs on. When there are more threads than
// cores in the chosen nodes, cores are reused in the same order (two threads then share a core).
NumaPlan make_numa_plan(const Topology& topology, int n_threads, NumaMode mode, int home_node = -1);

}  // namespace silica
