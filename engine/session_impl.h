// What a Session holds. Internal: engine/session.cpp and engine/session_file.cpp use it.
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "cache/kv_cache.h"
#include "engine/arch/architecture.h"
#include "engine/threading/thread_pool.h"
#include "silica/prefix_cache.h"
#include "silica/session.h"

namespace silica {

struct Session::Impl {
    std::shared_ptr<const Model> model;
    int64_t n_ctx = 0;
    int64_t n_past = 0;
    int64_t n_logit_rows = 0;
    std::unique_ptr<ThreadPool> pool;
    std::unique_ptr<arch::Forward> forward;
    std::unique_ptr<cache::KvCache> kv;
    std::vector<float> logits;
    std::vector<int32_t> history;  // the n_past tokens in the KV cache
    std::shared_ptr<PrefixCache> prefix_cache;
    int64_t blocks_cached = 0;  // leading blocks of history already offered to the prefix cache
    int64_t last_reused = 0;    // tokens the last decode() took from the prefix cache

    // Runs the forward over tokens at n_past and appends them (history, n_past, logits).
    void eval(std::span<const int32_t> tokens, bool all_logits);
    int64_t block_tokens() const;
    // Restores the longest cached prefix of `tokens` (leaving at least one token); returns its length.
    size_t reuse_cached_prefix(std::span<const int32_t> tokens);
    // Offers every newly completed block of history to the prefix cache.
    void cache_full_blocks();
};

}  // namespace silica
