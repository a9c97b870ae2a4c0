#include "apps/bench/workload_runner.h"

#include <chrono>

#include "apps/bench/process_memory.h"
#include "kernels/ops.h"
#include "silica/error.h"

namespace silica::bench {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_between(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

IterationTiming run_iteration(Session& session, const WorkloadOptions& o) {
    IterationTiming timing;
    session.reset();
    const auto start = Clock::now();
    session.decode(o.prompt);
    timing.prefill_s = seconds_between(start, Clock::now());
    int32_t next = argmax_token(session.logits());
    timing.ttft_s = seconds_between(start, Clock::now());

    std::vector<int32_t> sequence;  // only used without the KV cache
    if (!o.use_kv_cache) sequence = o.prompt;
    timing.decode_step_s.reserve(static_cast<size_t>(o.gen_len));
    for (int64_t step = 0; step < o.gen_len; ++step) {
        const auto step_start = Clock::now();
        if (o.use_kv_cache) {
            session.decode(std::span<const int32_t>(&next, 1));
        } else {
            sequence.push_back(next);
            session.reset();
            session.decode(sequence);
        }
        next = argmax_token(session.logits());
        timing.decode_step_s.push_back(seconds_between(step_start, Clock::now()));
    }
    return timing;
}

}  // namespace

void check_workload_fits(int64_t prompt_len, int64_t gen_len, int64_t n_ctx) {
    if (prompt_len + gen_len > n_ctx)
        throw Error("prompt-len + gen-len = " + std::to_string(prompt_len + gen_len) +
                    " tokens do not fit in the context of " + std::to_string(n_ctx) + " tokens");
}

int32_t argmax_token(std::span<const float> logits) {
    if (logits.empty()) throw Error("the model returned no logits");
    // The engine's argmax kernel, as greedy sampling uses (a scalar scan of GPT-2's 50257 logits
    // per sequence was ~3% of a step with 8 sequences).
    const int64_t best = kernels::argmax(logits.data(), static_cast<int64_t>(logits.size()));
    if (best < 0) throw Error("the model returned no finite logit (all -inf or NaN)");
    return static_cast<int32_t>(best);
}

WorkloadResult run_workload(const std::shared_ptr<const Model>& model, const WorkloadOptions& o) {
    if (o.prompt.empty()) throw Error("the prompt is empty");
    Session session(model, o.session);
    check_workload_fits(static_cast<int64_t>(o.prompt.size()), o.gen_len, session.n_ctx());
    WorkloadResult result;
    result.threads = session.n_threads();
    result.n_ctx = session.n_ctx();
    const int total = o.warmup + o.iterations;
    if (o.progress) o.progress(0, total);
    for (int i = 0; i < total; ++i) {
        IterationTiming timing = run_iteration(session, o);
        if (i == 0)
            if (auto m = read_process_memory()) result.rss_after_first_iteration_mib = m->rss_mib;
        if (i >= o.warmup) result.iterations.push_back(std::move(timing));
        result.kv_cache_bytes = std::max(result.kv_cache_bytes, session.kv_cache_bytes());
        result.kv = session.kv_info();
        if (o.progress) o.progress(i + 1, total);
    }
    return result;
}

}  // namespace silica::bench
