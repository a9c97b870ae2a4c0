// bench --parallel: N sequences decoding together in one silica::Engine. Each iteration creates N
// sequences with prompts of their own (the bench prompt rotated by a different offset for each),
// prefills them all in one step, then runs gen_len decode steps in which every sequence advances
// by one greedy token, and frees them. Decode figures are over the decode steps only.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "silica/engine.h"
#include "silica/model.h"

namespace silica::bench {

struct ParallelOptions {
    std::vector<int32_t> prompt;  // each sequence gets it rotated by its index * 7919 ...
    bool same_prompt = false;     // ... or, with this, every sequence gets it as it is
    int64_t gen_len = 0;
    int warmup = 0;
    int iterations = 1;
    int n_sequences = 1;
    EngineOptions engine;  // n_ctx: per sequence
};

struct ParallelIteration {
    double prefill_s = 0.0;             // the one step that prefills every prompt
    std::vector<double> decode_step_s;  // one per decode step (all sequences advance)
    int64_t decode_expert_reads = 0;    // (layer, expert) weight sets the decode steps read (MoE)
};

struct ParallelResult {
    int n_sequences = 0;
    int threads = 0;
    int64_t n_layer = 0;
    std::vector<ParallelIteration> iterations;  // measured ones
    std::optional<double> rss_mib;              // after the measured iterations, sequences still live
    uint64_t kv_cache_bytes = 0;                // all sequences' KV blocks at the end of an iteration
};

ParallelResult run_parallel_workload(const std::shared_ptr<const Model>& model, const ParallelOptions& options);

}  // namespace silica::bench
