// Runs the bench workload on a model: warm-up iterations, then measured ones, each on a fresh
// (reset) session: prefill of the prompt, then greedy decode steps.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "apps/bench/run_record.h"
#include "silica/model.h"
#include "silica/session.h"

namespace silica::bench {

struct WorkloadOptions {
    std::vector<int32_t> prompt;  // exactly prompt_len ids
    int64_t gen_len = 0;
    int warmup = 0;
    int iterations = 1;
    SessionOptions session;
    // false: the O(n^2) no-cache baseline: every decode step resets the session and runs the
    // whole sequence so far (prompt + generated tokens) again.
    bool use_kv_cache = true;
    // Called with (0, total) first, then after each iteration (warm-up ones included), outside the
    // timed regions.
    std::function<void(int, int)> progress;
};

struct WorkloadResult {
    std::vector<IterationTiming> iterations;  // measured ones only
    std::optional<double> rss_after_first_iteration_mib;
    int threads = 0;
    int64_t n_ctx = 0;
    uint64_t kv_cache_bytes = 0;  // the most the KV cache's blocks held after an iteration
    KvCacheInfo kv;
};

WorkloadResult run_workload(const std::shared_ptr<const Model>& model, const WorkloadOptions& options);

// Throws silica::Error when prompt + generated tokens exceed the context.
void check_workload_fits(int64_t prompt_len, int64_t gen_len, int64_t n_ctx);

// The greedy choice: the index of the largest logit (the lowest index among equals; NaN never
// wins, +inf counts as the largest finite float: kernels::argmax). Throws when no logit is finite.
int32_t argmax_token(std::span<const float> logits);

}  // namespace silica::bench
