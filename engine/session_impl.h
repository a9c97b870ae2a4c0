// What a Session holds: an Engine with one sequence. Internal: engine/session.cpp and
// engine/session_file.cpp use it.
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "cache/kv_cache.h"
#include "engine/engine_impl.h"
#include "silica/engine.h"
#include "silica/prefix_cache.h"
#include "silica/session.h"

namespace silica {

struct Session::Impl {
    std::shared_ptr<const Model> model;
    std::unique_ptr<Engine> engine;
    Engine::SequenceId seq = 0;
    // Logits rows of the last decode() (in the engine), or the one row a session file restored.
    int64_t n_logit_rows = 0;
    std::vector<float> restored_logits;  // non-empty: logits() reads this row
    std::shared_ptr<PrefixCache> prefix_cache;
    int64_t blocks_cached = 0;  // leading blocks of history already offered to the prefix cache
    int64_t last_reused = 0;    // tokens the last decode() took from the prefix cache

    cache::KvCache& kv() { return *engine->impl().at(seq).kv; }
    const cache::KvCache& kv() const { return *engine->impl().at(seq).kv; }
    std::span<const int32_t> history() const { return engine->tokens(seq); }
    int64_t n_past() const { return engine->n_past(seq); }
    int64_t n_ctx() const { return engine->n_ctx(); }
    // After rows were restored straight into kv() (a session file, prefix snapshots): the tokens
    // they hold.
    void set_restored_tokens(std::vector<int32_t> tokens) { engine->impl().at(seq).history = std::move(tokens); }

    // Runs the forward over tokens at n_past and appends them.
    void eval(std::span<const int32_t> tokens, bool all_logits);
    int64_t block_tokens() const;
    // Restores the longest cached prefix of `tokens` (leaving at least one token); returns its length.
    size_t reuse_cached_prefix(std::span<const int32_t> tokens);
    // Offers every newly completed block of history to the prefix cache.
    void cache_full_blocks();
};

}  // namespace silica
