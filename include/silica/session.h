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

enum class KvType { F32, F16, BF16, Q8_0 };
KvType parse_kv_type(const std::string& name);  // throws silica::Error on unknown names
const char* kv_type_name(KvType type);

struct SessionOptions {
    int64_t n_ctx = 0;     // 0: the model's context length capped at 8192
    int n_threads = 0;     // 0: one per physical core
    KvType kv_type = KvType::F16;
    // Thread placement: "none" (the OS places threads), "distribute" (pinned, one per core,
    // spread over the NUMA nodes), "isolate" (pinned to the caller's node).
    std::string numa = "none";
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

    // Logits of the i-th token of the last decode() call (default: its last token).
    std::span<const float> logits(int64_t i = -1) const;
    int64_t n_past() const;
    int64_t n_ctx() const;
    int n_threads() const;
    const Model& model() const;
    // Forget everything (empty KV cache).
    void reset();
    // Bytes held by the KV cache at full context.
    uint64_t kv_cache_bytes() const;

    struct Impl;

private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace silica
