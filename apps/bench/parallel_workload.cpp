#include "apps/bench/parallel_workload.h"

#include <chrono>

#include "apps/bench/process_memory.h"
#include "apps/bench/workload_runner.h"
#include "silica/error.h"

namespace silica::bench {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point a) { return std::chrono::duration<double>(Clock::now() - a).count(); }

std::vector<int32_t> rotated(const std::vector<int32_t>& prompt, size_t by) {
    std::vector<int32_t> out(prompt.size());
    for (size_t i = 0; i < prompt.size(); ++i) out[i] = prompt[(i + by) % prompt.size()];
    return out;
}

// One iteration; returns with its N sequences (ids) still alive, so their RSS and KV bytes can be
// read; the caller frees them.
ParallelIteration run_iteration(Engine& engine, const ParallelOptions& o, std::vector<Engine::SequenceId>& ids) {
    const size_t N = static_cast<size_t>(o.n_sequences);
    ids.clear();
    std::vector<std::vector<int32_t>> prompts;
    for (size_t i = 0; i < N; ++i) {
        ids.push_back(engine.create_sequence());
        prompts.push_back(o.same_prompt ? o.prompt : rotated(o.prompt, i * 7919));
    }
    ParallelIteration it;
    std::vector<Engine::Input> inputs(N);
    for (size_t i = 0; i < N; ++i) inputs[i] = {ids[i], prompts[i], false};
    const auto start = Clock::now();
    engine.decode(inputs);
    std::vector<int32_t> next(N);
    for (size_t i = 0; i < N; ++i) next[i] = argmax_token(engine.logits(i));
    it.prefill_s = seconds_since(start);
    it.decode_step_s.reserve(static_cast<size_t>(o.gen_len));
    const int64_t reads_before = engine.expert_reads();
    for (int64_t step = 0; step < o.gen_len; ++step) {
        const auto step_start = Clock::now();
        for (size_t i = 0; i < N; ++i) inputs[i] = {ids[i], std::span<const int32_t>(&next[i], 1), false};
        engine.decode(inputs);
        for (size_t i = 0; i < N; ++i) next[i] = argmax_token(engine.logits(i));
        it.decode_step_s.push_back(seconds_since(step_start));
    }
    it.decode_expert_reads = engine.expert_reads() - reads_before;
    return it;
}

}  // namespace

ParallelResult run_parallel_workload(const std::shared_ptr<const Model>& model, const ParallelOptions& o) {
    if (o.prompt.empty()) throw Error("the prompt is empty");
    if (o.n_sequences < 1) throw Error("--parallel must be at least 1");
    Engine engine(model, o.engine);
    check_workload_fits(static_cast<int64_t>(o.prompt.size()), o.gen_len, engine.n_ctx());
    ParallelResult r;
    r.n_sequences = o.n_sequences;
    r.threads = engine.n_threads();
    r.n_layer = model->params().n_layer;
    std::vector<Engine::SequenceId> ids;
    const int total = o.warmup + o.iterations;
    for (int i = 0; i < total; ++i) {
        ParallelIteration it = run_iteration(engine, o, ids);
        if (i >= o.warmup) r.iterations.push_back(std::move(it));
        r.kv_cache_bytes = std::max(r.kv_cache_bytes, engine.kv_cache_bytes());
        if (i + 1 == total)
            if (auto m = read_process_memory()) r.rss_mib = m->rss_mib;
        for (auto id : ids) engine.free_sequence(id);
    }
    return r;
}

}  // namespace silica::bench
