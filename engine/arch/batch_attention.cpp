#include "engine/arch/batch_attention.h"

#include <algorithm>

#include "cache/kv_cache.h"
#include "kernels/attention.h"
#include "engine/arch/linear.h"
#include "engine/threading/partition.h"

namespace silica::arch {

AttentionSplit split_attention(const NumaPlan& plan, std::span<const int> run_homes, int64_t G) {
    const int n_runs = static_cast<int>(run_homes.size()), nth = plan.n_threads, slots = plan.n_slots();
    AttentionSplit s;
    s.order.resize(static_cast<size_t>(n_runs));
    s.thread_items.resize(static_cast<size_t>(nth));
    std::vector<int> runs_at(static_cast<size_t>(std::max(slots, 1)), 0);
    bool by_home = slots > 1;
    for (int h : run_homes) {
        if (h < 0 || h >= slots) by_home = false;
        else ++runs_at[static_cast<size_t>(h)];
    }
    for (int k = 0; by_home && k < slots; ++k) by_home = runs_at[static_cast<size_t>(k)] > 0 && plan.threads_per_node[k] > 0;
    if (!by_home) {
        for (int r = 0; r < n_runs; ++r) s.order[static_cast<size_t>(r)] = r;
        for (int t = 0; t < nth; ++t) s.thread_items[static_cast<size_t>(t)] = split_rows(int64_t{n_runs} * G, t, nth, 1);
        return s;
    }
    int64_t first_run = 0;  // slot k's runs: order[first_run, first_run + runs_at[k])
    for (int k = 0; k < slots; ++k) {
        int at = static_cast<int>(first_run);
        for (int r = 0; r < n_runs; ++r)
            if (run_homes[static_cast<size_t>(r)] == k) s.order[static_cast<size_t>(at++)] = r;
        const int64_t items = int64_t{runs_at[static_cast<size_t>(k)]} * G;
        for (int i = 0; i < plan.threads_per_node[k]; ++i) {
            const RowRange mine = split_rows(items, i, plan.threads_per_node[k], 1);
            s.thread_items[static_cast<size_t>(plan.first_thread[k] + i)] = {first_run * G + mine.begin, first_run * G + mine.end};
        }
        first_run += runs_at[static_cast<size_t>(k)];
    }
    return s;
}

void attend_batch(ThreadPool& pool, OpProfiler& profiler, const Batch& batch, int64_t layer,
                  const AttentionShape& shape, const AttentionRows& rows,
                  std::vector<cache::AttentionScratch>& scratch, const Weight* prefetch_next, size_t prefetch_bytes) {
    const int64_t hd = shape.head_dim, G = shape.n_head_kv;
    // A decode step: every run is one token (prefill chunks keep the bandwidth busy themselves).
    const bool decode = batch.n_rows() == static_cast<int64_t>(batch.runs.size());
    // One sequence's attention reads little and leaves the bandwidth idle: fill it with the next
    // matrix. Several sequences' attention reads their K/V from memory itself, and the extra
    // stream only competed with it: GPT-2 124M Q8_0 at 8 sequences, Zen 5, 2 threads, 10
    // alternating rounds: 1270 -> 1315 tok/s without it (10 of 10 pairs), 1 sequence 351 vs 343
    // (noise).
    const bool fill_bandwidth = decode && batch.runs.size() == 1 && prefetch_next;
    std::vector<int> homes;
    for (const SequenceRun& run : batch.runs) homes.push_back(run.kv->home());
    const AttentionSplit split = split_attention(pool.plan(), homes, G);
    run_profiled(pool, profiler, "attention", [&](int tid, int nth) {
        const RowRange items = nth == static_cast<int>(split.thread_items.size())
                                   ? split.thread_items[static_cast<size_t>(tid)]
                                   : split_rows(static_cast<int64_t>(batch.runs.size()) * G, tid, nth, 1);
        for (int64_t item = items.begin; item < items.end; ++item) {
            const SequenceRun& run = batch.runs[static_cast<size_t>(split.order[static_cast<size_t>(item / G)])];
            const int64_t g = item % G;
            cache::KvCache& kv = *run.kv;
            if (fill_bandwidth)
                Linear::prefetch_share(*prefetch_next, tid, nth, item - items.begin, items.size(), prefetch_bytes);
            cache::AttentionSpec spec = shape.spec;
            spec.sinks = shape.sinks ? shape.sinks + g * shape.group : nullptr;
            for (int64_t i = 0; i < run.n_rows; ++i) {
                const int64_t r = run.first_row + i;
                kv.store(layer, run.pos0 + i, g, rows.k + r * rows.kv_stride + g * hd,
                         rows.v + r * rows.kv_stride + g * hd);
            }
            const float* q = rows.q + run.first_row * rows.q_stride + g * shape.group * hd;
            float* out = rows.out + run.first_row * rows.out_stride + g * shape.group * hd;
            // A decode step reads every KV head from memory: fetch this thread's next one (its rows
            // already cached) while this one computes.
            std::vector<kernels::KvRowSpan>& later = scratch[tid].later_spans;
            later.clear();
            if (decode && item + 1 < items.end) {
                const SequenceRun& next = batch.runs[static_cast<size_t>(split.order[static_cast<size_t>((item + 1) / G)])];
                if (next.pos0 > 0)
                    next.kv->visible_spans(layer, (item + 1) % G, kernels::first_visible_key(next.pos0, spec.window),
                                           next.pos0 - 1, later);
            }
            if (run.n_rows == 1)
                cache::attend(kv, layer, g, run.pos0, q, shape.group, spec, out, scratch[tid], later);
            else
                cache::attend_chunk(kv, layer, g, run.pos0, run.n_rows, q, rows.q_stride, shape.group, spec, out,
                                    rows.out_stride, scratch[tid]);
        }
    });
}

}  // namespace silica::arch
