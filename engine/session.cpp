#include "silica/session.h"

#include <algorithm>
#include <string>

#include "cache/kv_snapshot.h"
#include "cache/prefix_store.h"
#include "engine/model_impl.h"
#include "engine/run_setup.h"
#include "engine/session_impl.h"
#include "engine/threading/thread_pool.h"
#include "silica/error.h"

namespace silica {

KvType parse_kv_type(const std::string& name) {
    if (name == "f32") return KvType::F32;
    if (name == "f16") return KvType::F16;
    if (name == "bf16") return KvType::BF16;
    if (name == "q8_0") return KvType::Q8_0;
    throw Error("unknown KV cache type '" + name + "' (expected f32, f16, bf16 or q8_0)");
}

const char* kv_type_name(KvType type) {
    switch (type) {
        case KvType::F32: return "f32";
        case KvType::F16: return "f16";
        case KvType::BF16: return "bf16";
        case KvType::Q8_0: return "q8_0";
    }
    return "?";
}

Session::Session(std::shared_ptr<const Model> model, const SessionOptions& options) : impl_(std::make_unique<Impl>()) {
    impl_->model = model;
    EngineOptions eo = engine_options(options);
    eo.kv_pool_sequences = 1;  // its blocks to itself: it compacts after a truncate
    impl_->engine = std::make_unique<Engine>(model, eo);
    impl_->seq = impl_->engine->create_sequence();
    impl_->prefix_cache = options.prefix_cache;
}

Session::~Session() = default;
Session::Session(Session&&) noexcept = default;

void Session::decode(std::span<const int32_t> tokens, bool all_logits) {
    if (tokens.empty()) return;
    Impl& I = *impl_;
    check_tokens_fit(tokens, I.n_past(), I.n_ctx(), I.model->params().n_vocab);
    I.last_reused = 0;
    if (!I.prefix_cache || all_logits) {
        I.eval(tokens, all_logits);
        return;
    }
    // A fresh sequence first takes the longest cached prefix, in whole blocks, keeping at least
    // one token to evaluate (the caller wants its logits).
    if (I.n_past() == 0) tokens = tokens.subspan(I.reuse_cached_prefix(tokens));
    // Then chunk by chunk, caching each block as it fills (window layers still hold its rows).
    const size_t chunk = I.model->impl().arch->eval_chunk_rows();
    for (size_t begin = 0; begin < tokens.size(); begin += chunk) {
        I.eval(tokens.subspan(begin, std::min(chunk, tokens.size() - begin)), false);
        I.cache_full_blocks();
    }
}

std::span<const float> Session::logits(int64_t i) const {
    const Impl& I = *impl_;
    if (I.n_logit_rows == 0) throw Error("no logits: decode() has not run");
    if (i < 0) i = I.n_logit_rows - 1;
    if (i >= I.n_logit_rows) throw Error("logits row " + std::to_string(i) + " was not computed");
    if (!I.restored_logits.empty()) return I.restored_logits;
    return I.engine->logits(0, i);
}

bool Session::has_logits() const { return impl_->n_logit_rows > 0; }
int64_t Session::n_past() const { return impl_->n_past(); }
int64_t Session::n_ctx() const { return impl_->n_ctx(); }
int Session::n_threads() const { return impl_->engine->n_threads(); }
const Model& Session::model() const { return *impl_->model; }
uint64_t Session::kv_cache_bytes() const { return impl_->kv().bytes(); }

KvCacheInfo Session::kv_info() const {
    const cache::KvCache& kv = impl_->kv();
    const cache::KvLayout& L = kv.layout();
    const cache::KvFootprint fp = cache::kv_footprint(L);
    const cache::KvCache::Usage u = kv.usage();
    KvCacheInfo info;
    info.hot_type = type_traits(L.storage).name;
    if (kv.has_warm_tier()) info.warm_type = type_traits(cache::kKvWarmType).name;
    info.hot_tokens = L.hot_tokens;  // -1 without a warm tier
    info.n_ctx = L.n_ctx;
    info.hot_bytes_per_token = fp.hot_per_token;
    info.warm_bytes_per_token = kv.has_warm_tier() ? fp.warm_per_token : 0;
    info.window_bytes = fp.window_bytes;
    info.full_context_bytes = fp.context_bytes(L, info.hot_tokens);
    info.hot_bytes = u.hot_bytes;
    info.warm_bytes = u.warm_bytes;
    return info;
}

int64_t Session::reused_tokens() const { return impl_->last_reused; }
std::span<const int32_t> Session::tokens() const { return impl_->history(); }

void Session::reset() {
    Impl& I = *impl_;
    I.engine->reset_sequence(I.seq);
    I.n_logit_rows = 0;
    I.restored_logits.clear();
    I.blocks_cached = 0;
}

bool Session::truncate(int64_t n) {
    Impl& I = *impl_;
    const int64_t n_past = I.n_past();
    if (n < 0 || n > n_past)
        throw Error("cannot truncate a session of " + std::to_string(n_past) + " tokens to " + std::to_string(n));
    if (n == n_past) return true;
    if (!I.engine->truncate_sequence(I.seq, n)) return false;
    I.n_logit_rows = 0;
    I.restored_logits.clear();
    I.blocks_cached = std::min(I.blocks_cached, n / std::max<int64_t>(1, I.block_tokens()));
    return true;
}

// ---- Session::Impl -------------------------------------------------------------------------

void Session::Impl::eval(std::span<const int32_t> tokens, bool all_logits) {
    const Engine::Input input{seq, tokens, all_logits};
    engine->decode(std::span(&input, 1));
    n_logit_rows = all_logits ? static_cast<int64_t>(tokens.size()) : 1;
    restored_logits.clear();
}

int64_t Session::Impl::block_tokens() const { return prefix_cache ? prefix_cache->store().block_tokens() : 0; }

size_t Session::Impl::reuse_cached_prefix(std::span<const int32_t> tokens) {
    cache::PrefixStore& store = prefix_cache->store();
    const int64_t B = store.block_tokens();
    const auto found = store.lookup(tokens, (static_cast<int64_t>(tokens.size()) - 1) / B);
    for (const auto& snapshot : found) cache::restore_snapshot(kv(), *snapshot);
    const int64_t m = static_cast<int64_t>(found.size()) * B;
    set_restored_tokens(std::vector<int32_t>(tokens.begin(), tokens.begin() + m));
    blocks_cached = static_cast<int64_t>(found.size());
    last_reused = m;
    return static_cast<size_t>(m);
}

void Session::Impl::cache_full_blocks() {
    cache::PrefixStore& store = prefix_cache->store();
    const int64_t B = store.block_tokens();
    const cache::KvCache& kv = this->kv();
    const int64_t n = n_past();
    const std::span<const int32_t> tokens = history();
    for (; (blocks_cached + 1) * B <= n; ++blocks_cached) {
        const int64_t begin = blocks_cached * B;
        // Only blocks whose rows every layer still holds (a restored session's old blocks may be gone).
        bool complete = true;
        for (int64_t l = 0; l < kv.layout().n_layer; ++l) complete &= kv.oldest_cached(l, n) <= begin;
        if (!complete || store.contains(tokens, blocks_cached)) continue;
        store.insert(tokens, blocks_cached, cache::capture_snapshot(kv, begin, begin + B, n));
    }
}

}  // namespace silica
