// What a Session and an Engine both set up from their options: the context size, the thread
// pool, each sequence's KV cache, and the checks on tokens before a forward pass.
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "cache/kv_cache.h"
#include "engine/threading/thread_pool.h"
#include "silica/engine.h"
#include "silica/model.h"
#include "silica/session.h"

namespace silica {

// The requested context (0: the model's, capped at 8192). Throws silica::Error when a GPT-2
// context would exceed its learned positions.
int64_t resolve_context_size(const ModelParams& params, int64_t requested);

// n_threads (0: one per physical core, shared out among the `processes` of a tensor-parallel job
// on this machine), placed by `numa` ("auto", "none", "distribute", "isolate"): the plan of the
// pool make_thread_pool makes, and the one Model::load places repacked weights by. "auto" with
// several processes is "none": each rank is meant to own a socket (mpirun --bind-to socket), and
// ranks that each spread over every node would pin their threads to the same cores.
NumaPlan thread_plan(const Topology& topology, int n_threads, const std::string& numa, int processes = 1);
NumaPlan thread_plan(int n_threads, const std::string& numa, int processes = 1);  // this machine
std::unique_ptr<ThreadPool> make_thread_pool(int n_threads, const std::string& numa, int processes = 1);

// The KV layout of one sequence of `model`.
cache::KvLayout kv_layout(const Model& model, int64_t n_ctx, KvType type, int64_t hot_tokens, uint64_t budget_bytes);

// The engine settings of a session's options (all but the prefix cache, which a Session keeps).
EngineOptions engine_options(const SessionOptions& options);

// Throws silica::Error when n_past + tokens exceed n_ctx or a token id is out of the vocabulary.
void check_tokens_fit(std::span<const int32_t> tokens, int64_t n_past, int64_t n_ctx, int64_t n_vocab);

}  // namespace silica
