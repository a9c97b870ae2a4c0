// What the engine needs from one model architecture: weights bound to a GGUF file, the layout of
// a sequence's KV cache, and a forward pass over batches of sequences. One implementation per
// architecture (gpt2.cpp, gpt_oss.cpp).
#pragma once
#include <algorithm>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "cache/kv_cache.h"
#include "engine/arch/batch.h"
#include "engine/arch/weight.h"
#include "quant/types.h"
#include "silica/model.h"
#include "silica/session.h"

namespace silica {
class ThreadPool;
namespace parallel { class Communicator; }
namespace gguf { class File; }
}

namespace silica::arch {

struct ForwardOptions {
    ThreadPool* pool = nullptr;  // never null when a Forward runs
    OpProfile profile = OpProfile::off;
};

// How a sequence's KV cache is stored (the architecture adds its layer shapes and windows).
struct KvOptions {
    int64_t n_ctx = 0;
    TensorType storage = TensorType::F16;
    int64_t hot_tokens = -1;    // cache::KvLayout::hot_tokens
    uint64_t budget_bytes = 0;  // cache::KvLayout::budget_bytes
};

// The code that advances sequences, with its scratch buffers: one per thread pool, shared by
// every sequence it runs. The sequences' state is their KV caches, named in each batch.
class Forward {
public:
    virtual ~Forward() = default;
    // Evaluates the batch's rows (their K/V join their sequences' caches). `logits` gets n_vocab
    // floats for each row that wants logits, in row order.
    virtual void eval(const Batch& batch, std::vector<float>& logits) = 0;

    // Mixture-of-experts layers: (layer, expert) weight sets read, summed over every pass so far.
    // A pass reads each expert chosen by any of its rows once (0 for dense models).
    int64_t expert_reads() const { return expert_reads_; }

protected:
    int64_t expert_reads_ = 0;
};

// Rows per forward chunk (Architecture::eval_chunk_rows): bounds scratch memory while keeping the
// prefill matmuls GEMMs. The session evaluates prompts in chunks of this size too (it registers
// prefix-cache blocks after each), and window layers keep this many rows beyond their window so a
// chunk's rows stay readable. Dense models: 256.
constexpr size_t kMaxEvalChunk = 256;
// Mixture-of-experts models: 512, so each expert's GEMM gets twice the rows per read of its
// weights (GPT-OSS-20B: ~64 rows instead of ~32, read once per chunk from memory). Zen 5, 2
// threads, GPT-OSS-20B synthetic, alternating runs, prefill tok/s 256 -> 512 rows: pp512 97 / 105
// / 109 -> 140 / 117 / 121, pp1024 96 / 105 -> 128 / 117 (docs/PERFORMANCE.md, session 24).
constexpr size_t kMoeMaxEvalChunk = 512;

class Architecture {
public:
    virtual ~Architecture() = default;
    virtual std::unique_ptr<Forward> make_forward(const ForwardOptions& options) const = 0;
    // The layout of one sequence's KV cache.
    virtual cache::KvLayout kv_layout(const KvOptions& options) const = 0;
    // Slow scalar reference forward over a whole sequence from position 0 (tests only):
    // returns [tokens.size()][n_vocab] logits.
    virtual std::vector<float> reference_logits(std::span<const int32_t> tokens) const = 0;
    // Bytes of weights read to decode one token (for the roofline).
    virtual uint64_t bytes_per_token() const = 0;
    // Rows per forward chunk (kMaxEvalChunk or kMoeMaxEvalChunk above).
    virtual size_t eval_chunk_rows() const = 0;
};

// Binds the architecture named in the file's metadata; fills `params` (the whole model's shape).
// With a communicator of several ranks, binds only this rank's tensor-parallel slice
// (engine/arch/tensor_parallel.h). Throws silica::Error naming the missing or malformed tensor/key.
std::unique_ptr<Architecture> bind_architecture(const gguf::File& file, ModelParams& params,
                                                const WeightOptions& options,
                                                std::shared_ptr<parallel::Communicator> comm = nullptr);

}  // namespace silica::arch
