// A conversation with a model: its KV cache, scratch buffers and threads. Not thread-safe; make
// one Session per concurrent stream.
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace silica {

class Model;
class PrefixCache;

enum class KvType { F32, F16, BF16, Q8_0 };

// Per-operation timing of a forward pass, printed to stderr when the session or engine ends:
// of single-token decode steps, of multi-token evaluations (prefill), or none.
// Per-op timing: decode steps of one token, prefill evals (more than one row), or batch decode
// steps of several sequences (2 to 16 rows, the sizes bench --parallel decodes).
enum class OpProfile { off, decode, prefill, batch };
KvType parse_kv_type(const std::string& name);  // throws silica::Error on unknown names
const char* kv_type_name(KvType type);

struct SessionOptions {
    int64_t n_ctx = 0;     // 0: the model's context length capped at 8192
    int n_threads = 0;     // 0: one per physical core
    KvType kv_type = KvType::F16;  // the hot tier
    // Warm tier: full-attention KV blocks older than the newest kv_hot_tokens positions are kept
    // in q8_0 (about half the bytes of f16). -1: no warm tier.
    int64_t kv_hot_tokens = -1;
    // > 0: the whole context's KV cache must fit in this many bytes; picks kv_hot_tokens (none
    // when everything fits hot). The Session constructor throws silica::OutOfMemory when even an
    // all-q8_0 cache would not fit.
    uint64_t kv_budget_bytes = 0;
    // Thread placement: "none" (the OS places threads), "distribute" (pinned, one per core,
    // spread over the NUMA nodes), "isolate" (pinned to the caller's node), "auto" (distribute on
    // a machine with more than one NUMA node, else none). Repacked weights follow the threads when
    // the model was loaded with the same n_threads and numa (LoadOptions).
    std::string numa = "auto";
    OpProfile profile = OpProfile::off;
    // Optional prefix cache (may be shared by several sessions of the same model): decode() on an
    // empty session reuses the longest cached prefix of its tokens and caches every full block.
    std::shared_ptr<PrefixCache> prefix_cache;
};

struct KvCacheInfo {
    std::string hot_type;   // "f16", …
    std::string warm_type;  // "q8_0", or empty without a warm tier
    int64_t hot_tokens = -1;  // newest positions kept hot (-1: all)
    int64_t n_ctx = 0;
    uint64_t hot_bytes_per_token = 0;   // over the full-attention layers
    uint64_t warm_bytes_per_token = 0;  // same, warm
    uint64_t window_bytes = 0;          // sliding-window layers' rings (fixed, never warm)
    uint64_t full_context_bytes = 0;    // everything, once the context is full
    uint64_t hot_bytes = 0, warm_bytes = 0;  // in blocks now
};

class Session {
public:
    Session(std::shared_ptr<const Model> model, const SessionOptions& options = {});
    ~Session();
    Session(Session&&) noexcept;

    // Runs the model over `tokens` at positions n_past() .. n_past()+n-1 and appends them to the
    // KV cache. Logits are kept for the last token, or for every token when all_logits is true.
    // Throws silica::Error if the tokens do not fit in the context or an id is out of range.
    void decode(std::span<const int32_t> tokens, bool all_logits = false);

    // True when logits() has rows (a decode() ran, or a restored session file carried them).
    bool has_logits() const;
    // Logits of the i-th token of the last decode() call (default: its last token).
    std::span<const float> logits(int64_t i = -1) const;
    int64_t n_past() const;
    int64_t n_ctx() const;
    int n_threads() const;
    const Model& model() const;
    // Forget everything (empty KV cache).
    void reset();
    // Keep only the first n tokens. Returns false (changing nothing) when a sliding-window layer
    // has already overwritten rows the shorter sequence needs.
    bool truncate(int64_t n);
    // The tokens in the KV cache (n_past of them).
    std::span<const int32_t> tokens() const;
    // Tokens the last decode() took from the prefix cache instead of evaluating.
    int64_t reused_tokens() const;
    // Bytes in the KV cache's blocks now (blocks are allocated as the context fills).
    uint64_t kv_cache_bytes() const;
    // The KV cache's tiers and sizes.
    KvCacheInfo kv_info() const;

    struct Impl;
    Impl& impl() { return *impl_; }  // internal (engine)
    const Impl& impl() const { return *impl_; }

private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace silica
