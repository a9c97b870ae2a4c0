// llama-perplexity's method on a Session: the text's tokens split into non-overlapping chunks of
// n_ctx tokens, each evaluated from an empty KV cache, and the negative log-likelihood of the
// tokens in the second half of each chunk scored (positions n_ctx/2 .. n_ctx-2 predict the tokens
// after them, so every scored token has at least n_ctx/2 tokens of context).
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <vector>

#include "apps/perplexity/kl_base_file.h"
#include "apps/perplexity/statistics.h"

namespace silica {
class Session;
}

namespace silica::perplexity {

struct ChunkPlan {
    int64_t n_ctx = 0;
    int64_t n_chunks = 0;
    int64_t first() const { return n_ctx / 2; }  // the first position whose logits are scored
    int64_t scored_tokens() const { return n_chunks * scored_per_chunk(n_ctx); }
    int64_t evaluated_tokens() const { return n_chunks * n_ctx; }
};

// All whole chunks of the text, or at most max_chunks (> 0). Throws silica::Error when the text
// has fewer than 2 * n_ctx tokens (llama-perplexity's minimum).
ChunkPlan plan_chunks(int64_t n_tokens, int64_t n_ctx, int64_t max_chunks);

struct EvalOptions {
    KlBaseWriter* save_base = nullptr;  // --kl-base: every scored position's row is written here
    KlBaseReader* base = nullptr;       // --kl: compared with every scored position's row
    // Called after each chunk with its index and the perplexity over the chunks so far.
    std::function<void(int64_t chunk, double running_ppl)> on_chunk;
};

struct EvalResult {
    PerplexityStats ppl;
    std::optional<KlStats> kl;        // with a base
    std::vector<double> running_ppl;  // after each chunk
    double eval_seconds = 0;          // wall time of the model's evaluations (not of the scoring)
    int64_t evaluated_tokens = 0;
};

// Evaluates plan.n_chunks chunks of `tokens` (a session with a context of at least plan.n_ctx).
// When the model's tokenizer adds a BOS token, each chunk's first token is replaced by it, as
// llama-perplexity does.
EvalResult evaluate(Session& session, std::span<const int32_t> tokens, const ChunkPlan& plan, const EvalOptions& options);

}  // namespace silica::perplexity
