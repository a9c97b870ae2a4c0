#include "engine/run_setup.h"

#include <algorithm>

#include "engine/model_impl.h"
#include "engine/threading/topology.h"
#include "silica/error.h"

namespace silica {

namespace {
constexpr int64_t kDefaultMaxCtx = 8192;

TensorType kv_storage(KvType t) {
    switch (t) {
        case KvType::F32: return TensorType::F32;
        case KvType::F16: return TensorType::F16;
        case KvType::BF16: return TensorType::BF16;
        case KvType::Q8_0: return TensorType::Q8_0;
    }
    return TensorType::F16;
}
}  // namespace

int64_t resolve_context_size(const ModelParams& p, int64_t requested) {
    const int64_t n_ctx = requested > 0 ? requested : std::min(p.n_ctx_train, kDefaultMaxCtx);
    // GPT-2 has learned position embeddings: no position past the trained context exists.
    if (p.architecture == "gpt2" && n_ctx > p.n_ctx_train)
        throw Error("context size " + std::to_string(n_ctx) + " exceeds the model's trained context of " +
                    std::to_string(p.n_ctx_train) + " tokens (gpt2 has learned positions)");
    return n_ctx;
}

NumaPlan thread_plan(const Topology& topology, int n_threads, const std::string& numa_name, int processes) {
    const int n = n_threads > 0 ? n_threads : std::max(1, topology.physical_cores() / std::max(1, processes));
    const NumaMode mode =
        numa_name == "auto" && processes > 1 ? NumaMode::none : resolve_numa_mode(numa_name, topology);
    return make_numa_plan(topology, n, mode);
}

NumaPlan thread_plan(int n_threads, const std::string& numa_name, int processes) {
    return thread_plan(Topology::detect(), n_threads, numa_name, processes);
}

std::unique_ptr<ThreadPool> make_thread_pool(int n_threads, const std::string& numa_name, int processes) {
    const NumaPlan plan = thread_plan(n_threads, numa_name, processes);
    return plan.mode == NumaMode::none ? std::make_unique<ThreadPool>(plan.n_threads)
                                       : std::make_unique<ThreadPool>(Topology::detect(), plan);
}

cache::KvLayout kv_layout(const Model& model, int64_t n_ctx, KvType type, int64_t hot_tokens, uint64_t budget_bytes) {
    arch::KvOptions o;
    o.n_ctx = n_ctx;
    o.storage = kv_storage(type);
    o.hot_tokens = hot_tokens;
    o.budget_bytes = budget_bytes;
    return model.impl().arch->kv_layout(o);
}

EngineOptions engine_options(const SessionOptions& s) {
    EngineOptions e;
    e.n_ctx = s.n_ctx;
    e.n_threads = s.n_threads;
    e.kv_type = s.kv_type;
    e.kv_hot_tokens = s.kv_hot_tokens;
    e.kv_budget_bytes = s.kv_budget_bytes;
    e.numa = s.numa;
    e.profile = s.profile;
    return e;
}

void check_tokens_fit(std::span<const int32_t> tokens, int64_t n_past, int64_t n_ctx, int64_t n_vocab) {
    const int64_t n = static_cast<int64_t>(tokens.size());
    if (n_past + n > n_ctx)
        throw Error("context is full: " + std::to_string(n_past) + " cached + " + std::to_string(n) +
                    " new tokens exceed the context size of " + std::to_string(n_ctx));
    for (int32_t t : tokens)
        if (t < 0 || t >= n_vocab)
            throw Error("token id " + std::to_string(t) + " is out of range (vocabulary has " +
                        std::to_string(n_vocab) + " tokens)");
}

}  // namespace silica
