// What the engine needs from one model architecture: weights bound to a GGUF file, and a
// per-session forward pass. One implementation per architecture (gpt2.cpp, gpt_oss.cpp).
#pragma once
#include <algorithm>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "quant/types.h"
#include "silica/model.h"

namespace silica {
class ThreadPool;
namespace cache { class KvCache; }
namespace gguf { class File; }
}

namespace silica::arch {

struct ForwardOptions {
    int64_t n_ctx = 0;
    TensorType kv_storage = TensorType::F16;
    int64_t kv_hot_tokens = -1;    // cache::KvLayout::hot_tokens
    uint64_t kv_budget_bytes = 0;  // cache::KvLayout::budget_bytes
    ThreadPool* pool = nullptr;  // never null when a Forward runs
};

// The state of one sequence (KV cache, scratch) and the code that advances it.
class Forward {
public:
    virtual ~Forward() = default;
    // Evaluates tokens at positions pos .. pos+n-1 (their K/V join the cache). Writes n_vocab
    // logits per token into `logits` for every token when all_logits, else only for the last.
    virtual void eval(std::span<const int32_t> tokens, int64_t pos, bool all_logits, std::vector<float>& logits) = 0;
    virtual void reset() = 0;
    virtual uint64_t kv_bytes() const = 0;
    // The sequence's KV cache (prefix reuse and session files read and restore it).
    virtual cache::KvCache& kv_cache() = 0;
};

// Tokens per forward chunk: bounds scratch memory while keeping the prefill matmuls GEMMs. The
// session evaluates prompts in chunks of this size too (it registers prefix-cache blocks after
// each), and window layers keep this many rows beyond their window so a chunk's rows stay readable.
constexpr size_t kMaxEvalChunk = 256;

// Splits a long batch into chunks of at most `max_chunk` tokens (bounding scratch memory while
// keeping the matmuls GEMMs) and sizes `logits`. eval_chunk(tokens, pos, out) gets `out` = where
// the chunk's logits go (every token's when all_logits, else only the last chunk's last token),
// or null when the chunk needs none.
template <typename EvalChunk>
void eval_in_chunks(std::span<const int32_t> tokens, int64_t pos, bool all_logits, int64_t n_vocab,
                    size_t max_chunk, std::vector<float>& logits, EvalChunk&& eval_chunk) {
    logits.resize((all_logits ? tokens.size() : 1) * static_cast<size_t>(n_vocab));
    for (size_t begin = 0; begin < tokens.size(); begin += max_chunk) {
        const size_t n = std::min(max_chunk, tokens.size() - begin);
        const bool last_chunk = begin + n == tokens.size();
        float* out = all_logits ? logits.data() + begin * n_vocab : (last_chunk ? logits.data() : nullptr);
        eval_chunk(tokens.subspan(begin, n), pos + static_cast<int64_t>(begin), out);
    }
}

class Architecture {
public:
    virtual ~Architecture() = default;
    virtual std::unique_ptr<Forward> make_forward(const ForwardOptions& options) const = 0;
    // Slow scalar reference forward over a whole sequence from position 0 (tests only):
    // returns [tokens.size()][n_vocab] logits.
    virtual std::vector<float> reference_logits(std::span<const int32_t> tokens) const = 0;
    // Bytes of weights read to decode one token (for the roofline).
    virtual uint64_t bytes_per_token() const = 0;
};

// Binds the architecture named in the file's metadata; fills `params`. Throws silica::Error
// naming the missing or malformed tensor/key.
std::unique_ptr<Architecture> bind_architecture(const gguf::File& file, ModelParams& params);

}  // namespace silica::arch
