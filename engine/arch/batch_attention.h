// The attention step of a batch, shared by the architectures: for every run (one sequence's
// rows) and KV head, store the rows' K/V in the sequence's cache, then let each query attend to
// exactly the keys at or before its own position in that sequence. Threads take (run, KV head)
// items in order, so a single sequence is split by heads as before, and N decoding sequences give
// N x n_head_kv items to share.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "cache/attention.h"
#include "engine/arch/batch.h"
#include "engine/arch/op_profiler.h"
#include "engine/arch/weight.h"
#include "engine/threading/partition.h"
#include "engine/threading/thread_pool.h"

namespace silica::arch {

// Where a batch's rows are: row r's query heads start at q + r * q_stride (KV head g's group of
// query heads at + g * group * head_dim), its K and V heads at k/v + r * kv_stride (+ g *
// head_dim), its output at out + r * out_stride (laid out like q).
struct AttentionRows {
    const float* q = nullptr;
    int64_t q_stride = 0;
    const float* k = nullptr;
    const float* v = nullptr;
    int64_t kv_stride = 0;
    float* out = nullptr;
    int64_t out_stride = 0;
};

struct AttentionShape {
    int64_t n_head_kv = 0;
    int64_t head_dim = 0;
    int64_t group = 1;               // query heads per KV head
    cache::AttentionSpec spec;       // scale and window (sinks are per head: below)
    const float* sinks = nullptr;    // per query head of the layer, or null
};

// Which (run, KV head) items each thread attends to. Items are numbered run by run in `order` (item
// i is run order[i / G], head i % G); thread t takes items thread_items[t]. run_homes[r] is run r's
// home: the plan slot (NUMA node) its KV blocks live on. When every slot of the plan has runs at
// home, runs are grouped by home and each slot's threads split only their own runs' items, so
// attention reads the node's own memory. Otherwise (one node, one sequence, or sequences on fewer
// nodes than the plan has) every thread takes an even share of all items in batch order, as
// split_rows would: keeping all threads busy matters more there than where the reads come from.
struct AttentionSplit {
    std::vector<int32_t> order;          // indices into the batch's runs
    std::vector<RowRange> thread_items;  // per thread of the plan
};
AttentionSplit split_attention(const NumaPlan& plan, std::span<const int> run_homes, int64_t G);

// While the decode step of a single sequence attends (leaving memory bandwidth idle), each thread
// loads its share of `prefetch_next` (the matrix that runs next) into L2, one piece per item, up
// to prefetch_bytes.
void attend_batch(ThreadPool& pool, OpProfiler& profiler, const Batch& batch, int64_t layer,
                  const AttentionShape& shape, const AttentionRows& rows,
                  std::vector<cache::AttentionScratch>& scratch, const Weight* prefetch_next, size_t prefetch_bytes);

}  // namespace silica::arch
