#include "engine/arch/batch_attention.h"

#include "cache/kv_cache.h"
#include "engine/arch/linear.h"
#include "engine/threading/partition.h"

namespace silica::arch {

void attend_batch(ThreadPool& pool, OpProfiler& profiler, const Batch& batch, int64_t layer,
                  const AttentionShape& shape, const AttentionRows& rows,
                  std::vector<cache::AttentionScratch>& scratch, const Weight* prefetch_next, size_t prefetch_bytes) {
    const int64_t hd = shape.head_dim, G = shape.n_head_kv;
    const int64_t n_items = static_cast<int64_t>(batch.runs.size()) * G;
    // A decode step: every run is one token (prefill chunks keep the bandwidth busy themselves).
    const bool decode = batch.n_rows() == static_cast<int64_t>(batch.runs.size());
    run_profiled(pool, profiler, "attention", [&](int tid, int nth) {
        const RowRange items = split_rows(n_items, tid, nth, 1);
        for (int64_t item = items.begin; item < items.end; ++item) {
            const SequenceRun& run = batch.runs[item / G];
            const int64_t g = item % G;
            cache::KvCache& kv = *run.kv;
            if (decode && prefetch_next)
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
            if (run.n_rows == 1)
                cache::attend(kv, layer, g, run.pos0, q, shape.group, spec, out, scratch[tid]);
            else
                cache::attend_chunk(kv, layer, g, run.pos0, run.n_rows, q, rows.q_stride, shape.group, spec, out,
                                    rows.out_stride, scratch[tid]);
        }
    });
}

}  // namespace silica::arch
