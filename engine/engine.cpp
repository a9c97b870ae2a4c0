#include "silica/engine.h"

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "engine/engine_impl.h"
#include "engine/model_impl.h"
#include "engine/run_setup.h"
#include "engine/threading/topology.h"
#include "silica/error.h"

namespace silica {

Engine::Engine(std::shared_ptr<const Model> model, const EngineOptions& options) : impl_(std::make_unique<Impl>()) {
    impl_->model = model;
    impl_->n_ctx = resolve_context_size(model->params(), options.n_ctx);
    const std::shared_ptr<parallel::Communicator>& comm = model->impl().comm;
    impl_->pool = make_thread_pool(options.n_threads, options.numa, comm ? comm->local_size() : 1);
    arch::ForwardOptions fo;
    fo.pool = impl_->pool.get();
    fo.profile = options.profile;
    impl_->forward = model->impl().arch->make_forward(fo);
    impl_->kv_layout = kv_layout(*model, impl_->n_ctx, options.kv_type, options.kv_hot_tokens, options.kv_budget_bytes);
    if (options.kv_pool_bytes == 0 && options.kv_pool_sequences < 1)
        throw Error("the KV pool must have room for at least one sequence");
    const uint64_t pool_bytes =
        options.kv_pool_bytes > 0 ? options.kv_pool_bytes
                                  : static_cast<uint64_t>(options.kv_pool_sequences) * cache::kv_reserve_bytes(impl_->kv_layout);
    // One KV home per NUMA node the threads run on, for an engine of several sequences. A pool for
    // one sequence (a Session's) keeps a single unbound home: it can compact, and its pages go
    // where the threads that store each head first touch them.
    const NumaPlan& plan = impl_->pool->plan();
    std::vector<int> kv_nodes;
    if (plan.n_slots() > 1 && (options.kv_pool_bytes > 0 || options.kv_pool_sequences > 1)) {
        const Topology topology = Topology::detect();
        for (int node : plan.nodes) kv_nodes.push_back(topology.nodes().at(static_cast<size_t>(node)).os_index);
    }
    impl_->kv_pool = cache::make_kv_block_pool(impl_->kv_layout, pool_bytes, kv_nodes);
    if (options.prefix_cache_tokens > 0)
        impl_->prefix_cache = std::make_unique<cache::SharedPrefixIndex>(
            impl_->kv_pool, (options.prefix_cache_tokens + cache::kKvBlockTokens - 1) / cache::kKvBlockTokens);
    if (options.tp_followers && comm && comm->size() > 1) impl_->relay = std::make_unique<EngineRelay>(comm);
}

Engine::~Engine() {
    if (!impl_) return;  // moved from
    try {
        impl_->relay_call({static_cast<int64_t>(RelayedCall::stop)});
    } catch (...) {  // a destructor must not throw; a follower left waiting times out in its job
    }
}
Engine::Engine(Engine&&) noexcept = default;

Engine::SequenceId Engine::create_sequence() {
    Impl& I = *impl_;
    I.relay_call({static_cast<int64_t>(RelayedCall::create)});
    // Its KV blocks live on the node with the fewest sequences (their threads attend to it).
    std::vector<int> at_home(static_cast<size_t>(I.kv_pool->n_homes()), 0);
    for (const auto& [other, seq] : I.sequences) ++at_home[static_cast<size_t>(seq.kv->home())];
    const int home = static_cast<int>(std::min_element(at_home.begin(), at_home.end()) - at_home.begin());
    EngineSequence s;
    s.kv = std::make_unique<cache::KvCache>(I.kv_layout, I.kv_pool, home);
    const SequenceId id = I.next_id++;
    I.sequences.emplace(id, std::move(s));
    return id;
}

Engine::SequenceId Engine::fork_sequence(SequenceId parent) {
    Impl& I = *impl_;
    I.relay_call({static_cast<int64_t>(RelayedCall::fork), parent});
    const EngineSequence& p = I.at(parent);
    EngineSequence s;
    s.kv = p.kv->fork();
    s.history = p.history;
    s.blocks_offered = p.blocks_offered;
    const SequenceId id = I.next_id++;
    I.sequences.emplace(id, std::move(s));
    return id;
}

bool Engine::truncate_sequence(SequenceId id, int64_t n) {
    impl_->relay_call({static_cast<int64_t>(RelayedCall::truncate), id, n});
    EngineSequence& s = impl_->at(id);
    const int64_t n_past = static_cast<int64_t>(s.history.size());
    if (n < 0 || n > n_past)
        throw Error("cannot truncate sequence " + std::to_string(id) + " of " + std::to_string(n_past) +
                    " tokens to " + std::to_string(n));
    if (n == n_past) return true;
    if (!s.kv->can_truncate(n_past, n)) return false;
    s.kv->release_from(n);
    s.history.resize(static_cast<size_t>(n));
    s.blocks_offered = std::min(s.blocks_offered, n / cache::kKvBlockTokens);
    return true;
}

void Engine::free_sequence(SequenceId id) {
    impl_->relay_call({static_cast<int64_t>(RelayedCall::free), id});
    impl_->at(id);  // throws for an unknown id
    impl_->sequences.erase(id);
}

void Engine::reset_sequence(SequenceId id) {
    impl_->relay_call({static_cast<int64_t>(RelayedCall::reset), id});
    EngineSequence& s = impl_->at(id);
    s.kv->clear();
    s.history.clear();
    s.blocks_offered = s.reused = 0;
}

int64_t Engine::n_sequences() const { return static_cast<int64_t>(impl_->sequences.size()); }
int64_t Engine::n_past(SequenceId id) const { return static_cast<int64_t>(impl_->at(id).history.size()); }
std::span<const int32_t> Engine::tokens(SequenceId id) const { return impl_->at(id).history; }
int64_t Engine::reused_tokens(SequenceId id) const { return impl_->at(id).reused; }

int64_t Engine::adopt_prefix(SequenceId id, std::span<const int32_t> prompt) {
    Impl& I = *impl_;
    if (I.relay) {
        std::vector<int64_t> call{static_cast<int64_t>(RelayedCall::adopt_prefix), id};
        call.insert(call.end(), prompt.begin(), prompt.end());
        I.relay_call(std::move(call));
    }
    EngineSequence& s = I.at(id);
    if (!I.prefix_cache || !s.history.empty() || prompt.empty()) return 0;
    check_tokens_fit(prompt, 0, I.n_ctx, I.model->params().n_vocab);
    const int64_t max_blocks = (static_cast<int64_t>(prompt.size()) - 1) / cache::kKvBlockTokens;
    s.reused = I.prefix_cache->adopt(*s.kv, prompt, max_blocks);
    s.history.assign(prompt.begin(), prompt.begin() + s.reused);
    s.blocks_offered = s.reused / cache::kKvBlockTokens;
    return s.reused;
}

void Engine::decode(std::span<const Input> inputs) {
    Impl& I = *impl_;
    if (I.relay) {  // [decode, n, then per input: sequence, all_logits, n_tokens, tokens...]
        std::vector<int64_t> call{static_cast<int64_t>(RelayedCall::decode), static_cast<int64_t>(inputs.size())};
        for (const Input& in : inputs) {
            call.insert(call.end(), {in.sequence, in.all_logits ? 1 : 0, static_cast<int64_t>(in.tokens.size())});
            call.insert(call.end(), in.tokens.begin(), in.tokens.end());
        }
        I.relay_call(std::move(call));
    }
    std::set<SequenceId> seen;
    std::vector<EngineSequence*> seqs;  // per input
    for (const Input& in : inputs) {
        EngineSequence& s = I.at(in.sequence);
        seqs.push_back(&s);
        if (!seen.insert(in.sequence).second)
            throw Error("sequence " + std::to_string(in.sequence) + " appears twice in one decode step");
        if (in.tokens.empty()) throw Error("sequence " + std::to_string(in.sequence) + ": no tokens to decode");
        check_tokens_fit(in.tokens, static_cast<int64_t>(s.history.size()), I.n_ctx, I.model->params().n_vocab);
    }
    // A fresh sequence first takes the longest cached prefix of its tokens (keeping one to evaluate).
    std::vector<std::span<const int32_t>> todo;
    std::vector<uint8_t> adopted;  // per input: took a prefix in this step
    for (size_t i = 0; i < inputs.size(); ++i) {
        EngineSequence& s = *seqs[i];
        adopted.push_back(0);
        std::span<const int32_t> t = inputs[i].tokens;
        if (I.prefix_cache && s.history.empty() && !inputs[i].all_logits) {
            const int64_t max_blocks = (static_cast<int64_t>(t.size()) - 1) / cache::kKvBlockTokens;
            s.reused = I.prefix_cache->adopt(*s.kv, t, max_blocks);
            s.history.assign(t.begin(), t.begin() + s.reused);
            s.blocks_offered = s.reused / cache::kKvBlockTokens;
            t = t.subspan(static_cast<size_t>(s.reused));
            adopted.back() = s.reused > 0;
        }
        todo.push_back(t);
    }
    arch::Batch batch;
    I.first_logit_row.clear();
    I.n_logit_rows.clear();
    int64_t rows = 0;
    for (size_t i = 0; i < inputs.size(); ++i) {
        EngineSequence& s = *seqs[i];
        batch.add_run(s.kv.get(), static_cast<int64_t>(s.history.size()), todo[i], inputs[i].all_logits);
        const int64_t n = inputs[i].all_logits ? static_cast<int64_t>(todo[i].size()) : 1;
        I.first_logit_row.push_back(rows);
        I.n_logit_rows.push_back(n);
        rows += n;
    }
    if (I.prefix_cache)
        batch.after_chunk = [&](const arch::Batch& chunk) {
            for (const arch::SequenceRun& r : chunk.runs) {
                const size_t i = static_cast<size_t>(
                    std::find_if(batch.runs.begin(), batch.runs.end(),
                                 [&](const arch::SequenceRun& whole) { return whole.kv == r.kv; }) -
                    batch.runs.begin());
                EngineSequence& s = *seqs[i];
                std::vector<int32_t> stored = s.history;  // the sequence's tokens up to this chunk's end
                stored.insert(stored.end(), todo[i].begin(), todo[i].begin() + (r.pos0 + r.n_rows - batch.runs[i].pos0));
                s.blocks_offered = I.prefix_cache->offer(*s.kv, stored, s.blocks_offered);
            }
        };
    try {
        try {
            I.forward->eval(batch, I.logits);
        } catch (const OutOfMemory&) {
            // The prefix cache's blocks give way to the live sequences: drop them and try once more
            // (the failed pass stored only rows at positions the retry stores again).
            if (!I.prefix_cache || I.prefix_cache->blocks() == 0) throw;
            I.prefix_cache->clear();
            I.forward->eval(batch, I.logits);
        }
    } catch (const OutOfMemory&) {
        // Out of KV memory after all: the sequences keep the tokens they had before this step.
        for (size_t i = 0; i < inputs.size(); ++i) {
            EngineSequence& s = *seqs[i];
            if (adopted[i]) {
                s.kv->clear();
                s.history.clear();
                s.blocks_offered = s.reused = 0;
            }
        }
        I.first_logit_row.clear();
        I.n_logit_rows.clear();
        throw;
    }
    for (size_t i = 0; i < inputs.size(); ++i) seqs[i]->history.insert(seqs[i]->history.end(), todo[i].begin(), todo[i].end());
}

void Engine::follow() {
    Impl& I = *impl_;
    if (!I.relay || I.relay->leader())
        throw Error("Engine::follow: only ranks other than 0 of a tensor-parallel engine with tp_followers follow");
    for (;;) {
        const std::vector<int64_t> call = I.relay->receive();
        const int64_t* a = call.data() + 1;  // the arguments
        try {
            switch (static_cast<RelayedCall>(call.at(0))) {
                case RelayedCall::create: create_sequence(); break;
                case RelayedCall::fork: fork_sequence(a[0]); break;
                case RelayedCall::truncate: truncate_sequence(a[0], a[1]); break;
                case RelayedCall::free: free_sequence(a[0]); break;
                case RelayedCall::reset: reset_sequence(a[0]); break;
                case RelayedCall::adopt_prefix: {
                    const std::vector<int32_t> prompt(call.begin() + 2, call.end());
                    adopt_prefix(a[0], prompt);
                    break;
                }
                case RelayedCall::decode: {
                    std::vector<std::vector<int32_t>> tokens(static_cast<size_t>(a[0]));
                    std::vector<Input> inputs;
                    size_t at = 2;
                    for (auto& t : tokens) {
                        const int64_t seq = call.at(at), all = call.at(at + 1), n = call.at(at + 2);
                        t.assign(call.begin() + static_cast<int64_t>(at) + 3, call.begin() + static_cast<int64_t>(at) + 3 + n);
                        inputs.push_back({seq, t, all != 0});
                        at += 3 + static_cast<size_t>(n);
                    }
                    decode(inputs);
                    break;
                }
                case RelayedCall::stop: return;
            }
        } catch (const Error&) {
            // Rank 0 met the same error on the same state (the checks are the same): carry on.
        }
    }
}

std::span<const float> Engine::logits(size_t input, int64_t i) const {
    const Impl& I = *impl_;
    if (input >= I.n_logit_rows.size())
        throw Error("no logits for input " + std::to_string(input) + " of the last decode step");
    const int64_t n = I.n_logit_rows[input];
    if (i < 0) i = n - 1;
    if (i >= n) throw Error("logits row " + std::to_string(i) + " of input " + std::to_string(input) + " was not computed");
    const int64_t V = I.model->params().n_vocab;
    return {I.logits.data() + (I.first_logit_row[input] + i) * V, static_cast<size_t>(V)};
}

int64_t Engine::n_ctx() const { return impl_->n_ctx; }
int Engine::n_threads() const { return impl_->pool->n_threads(); }
const Model& Engine::model() const { return *impl_->model; }

uint64_t Engine::kv_cache_bytes() const {
    const cache::KvBlockPool& pool = *impl_->kv_pool;
    uint64_t bytes = pool.live_blocks(cache::KvTier::Hot) * pool.block_bytes(cache::KvTier::Hot);
    if (pool.has_warm_tier()) bytes += pool.live_blocks(cache::KvTier::Warm) * pool.block_bytes(cache::KvTier::Warm);
    return bytes;
}

int64_t Engine::expert_reads() const { return impl_->forward->expert_reads(); }

Engine::KvPoolUsage Engine::kv_pool_usage() const {
    const cache::KvBlockPool& pool = *impl_->kv_pool;
    KvPoolUsage u;
    u.hot_blocks = static_cast<int64_t>(pool.live_blocks(cache::KvTier::Hot));
    u.warm_blocks = static_cast<int64_t>(pool.live_blocks(cache::KvTier::Warm));
    u.shared_blocks = static_cast<int64_t>(pool.shared_blocks());
    u.committed_bytes = pool.committed_bytes();
    u.prefix_cache_blocks = impl_->prefix_cache ? impl_->prefix_cache->blocks() : 0;
    u.prefix_cache_only_blocks = impl_->prefix_cache ? impl_->prefix_cache->blocks_held_alone() : 0;
    u.capacity_bytes = pool.capacity_bytes();
    return u;
}

}  // namespace silica
