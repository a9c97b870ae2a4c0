// Many sequences of one model, decoded together. Each decode() call is one forward pass over the
// new tokens of any number of sequences: the matmuls read every weight once for all of them, so
// N streams cost far less than N times one (a single stream's decode is bound by reading the
// weights). The engine has one thread pool, one set of scratch buffers and one pool of KV blocks;
// each sequence has its own table of blocks from that pool. A forked sequence shares its parent's
// blocks, and a shared block is copied only when one of its holders writes to it. Not
// thread-safe: one thread drives an engine.
//
// A sequence's logits do not depend on which other sequences share its steps (tests/engine/
// batch_invariance_test.cpp lists the weight types for which this holds bit for bit).
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "silica/session.h"

namespace silica {

class Model;

struct EngineOptions {
    int64_t n_ctx = 0;             // per sequence; 0: the model's context length capped at 8192
    int n_threads = 0;             // 0: one per physical core
    KvType kv_type = KvType::F16;  // the hot tier
    int64_t kv_hot_tokens = -1;    // per sequence, as SessionOptions::kv_hot_tokens
    uint64_t kv_budget_bytes = 0;  // per sequence, as SessionOptions::kv_budget_bytes
    std::string numa = "auto";     // as SessionOptions::numa
    OpProfile profile = OpProfile::off;
    // All sequences' KV blocks together (address space reserved up front; pages are committed as
    // blocks fill). A step that needs a block beyond it throws silica::OutOfMemory. 0: room for
    // kv_pool_sequences sequences at the full context.
    uint64_t kv_pool_bytes = 0;
    int64_t kv_pool_sequences = 64;
    // > 0: a prefix cache of up to this many tokens of earlier sequences' KV, shared by
    // reference: a new sequence's first decode() (without all_logits) takes the longest cached
    // run of its tokens' leading 32-token blocks and evaluates only the rest (at least one token).
    int64_t prefix_cache_tokens = 0;
    // Tensor parallelism (LoadOptions::tensor_parallel) with one driver: rank 0's engine sends
    // every call that changes it to the other ranks, which run them in follow(). For programs that
    // only rank 0 drives (a server); without it every rank must make the same calls itself.
    bool tp_followers = false;
};

class Engine {
public:
    using SequenceId = int64_t;

    Engine(std::shared_ptr<const Model> model, const EngineOptions& options = {});
    ~Engine();
    Engine(Engine&&) noexcept;

    // A new, empty sequence. Its id is never reused by this engine.
    SequenceId create_sequence();
    // Frees the sequence's KV cache. Throws silica::Error for an unknown id.
    void free_sequence(SequenceId id);
    // Forget the sequence's tokens, keeping the id.
    void reset_sequence(SequenceId id);
    // A new sequence holding the same tokens as `id` (n completions of one prompt, speculative
    // branches). It shares id's KV blocks; either copies a block only before writing to it.
    SequenceId fork_sequence(SequenceId id);
    // Keep only the first n tokens of the sequence. Returns false (changing nothing) when a
    // sliding-window layer has already overwritten rows the shorter sequence needs. Throws
    // silica::Error for an unknown id or n outside 0..n_past.
    bool truncate_sequence(SequenceId id, int64_t n);
    int64_t n_sequences() const;
    int64_t n_past(SequenceId id) const;
    // The tokens in the sequence's KV cache.
    std::span<const int32_t> tokens(SequenceId id) const;
    // Tokens the sequence's first decode() (or adopt_prefix) took from the prefix cache.
    int64_t reused_tokens(SequenceId id) const;
    // A fresh sequence (no tokens yet) takes the longest cached run of `prompt`'s leading 32-token
    // blocks from the prefix cache, keeping at least one token of the prompt to evaluate, so a
    // caller that feeds a long prompt in chunks reuses all of it. Returns the tokens taken (they
    // are now the sequence's); 0 without a prefix cache or for a sequence that has tokens.
    int64_t adopt_prefix(SequenceId id, std::span<const int32_t> prompt);

    // The new tokens of one sequence in a step: logits for its last token, or for every one.
    struct Input {
        SequenceId sequence = 0;
        std::span<const int32_t> tokens;
        bool all_logits = false;
    };
    // One step: appends each input's tokens to its sequence, all evaluated in one forward pass.
    // A sequence appears at most once per step. Throws silica::Error (changing nothing) for an
    // unknown or repeated sequence, empty input, a context overflow or an out-of-range token, and
    // silica::OutOfMemory (every sequence keeps its tokens) when the KV pool cannot hold the step.
    void decode(std::span<const Input> inputs);
    // Logits of input `input` of the last decode(): its i-th token's with all_logits, else its last.
    std::span<const float> logits(size_t input, int64_t i = -1) const;

    int64_t n_ctx() const;
    int n_threads() const;
    const Model& model() const;
    // Bytes in all sequences' KV blocks now (a shared block counts once).
    uint64_t kv_cache_bytes() const;

    struct KvPoolUsage {
        int64_t hot_blocks = 0, warm_blocks = 0;  // live blocks, each counted once
        int64_t shared_blocks = 0;                // of those, held by more than one owner
        int64_t prefix_cache_blocks = 0;          // token blocks the prefix cache holds
        int64_t prefix_cache_only_blocks = 0;     // live blocks no sequence holds, only the prefix cache
        uint64_t committed_bytes = 0;             // pages taken from the reserved range
        uint64_t capacity_bytes = 0;              // the reserved range (kv_pool_bytes)
    };
    KvPoolUsage kv_pool_usage() const;

    // Ranks other than 0 of a tensor-parallel model with tp_followers: makes rank 0's calls on
    // this engine as they come, until rank 0's engine is destroyed. Throws silica::Error elsewhere.
    void follow();

    // Mixture-of-experts models: (layer, expert) weight sets the forward passes have read so far.
    // Each step reads an expert chosen by any of its rows once, however many rows chose it; the
    // difference over steps ÷ (steps × layers) is the distinct experts per layer per step.
    int64_t expert_reads() const;

    struct Impl;
    Impl& impl() { return *impl_; }  // internal (Session, session files)
    const Impl& impl() const { return *impl_; }

private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace silica
