#include "apps/perplexity/evaluation.h"

#include <algorithm>
#include <chrono>
#include <string>

#include "apps/perplexity/log_probs.h"
#include "silica/error.h"
#include "silica/model.h"
#include "silica/session.h"
#include "silica/tokenizer.h"

namespace silica::perplexity {

ChunkPlan plan_chunks(int64_t n_tokens, int64_t n_ctx, int64_t max_chunks) {
    if (n_tokens < 2 * n_ctx)
        throw Error("the text has " + std::to_string(n_tokens) + " tokens; " + std::to_string(2 * n_ctx) +
                    " are needed (two chunks of --ctx-size " + std::to_string(n_ctx) + ")");
    ChunkPlan p;
    p.n_ctx = n_ctx;
    p.n_chunks = n_tokens / n_ctx;
    if (max_chunks > 0) p.n_chunks = std::min(p.n_chunks, max_chunks);
    return p;
}

namespace {

using Clock = std::chrono::steady_clock;

// One chunk from an empty KV cache. Only the positions from `first` on need logits (as
// llama-perplexity asks for them): the first half is evaluated without, which skips half of the
// output matmul (V x C per row) and keeps half the rows of logits. Same KV cache, same positions:
// the scored logits are those of evaluating the chunk in one call. Returns the wall time.
double evaluate_chunk(Session& session, std::span<const int32_t> chunk, int64_t first) {
    const auto t0 = Clock::now();
    session.reset();
    session.decode(chunk.first(static_cast<size_t>(first)), false);
    session.decode(chunk.subspan(static_cast<size_t>(first)), true);
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

}  // namespace

EvalResult evaluate(Session& session, std::span<const int32_t> tokens, const ChunkPlan& plan, const EvalOptions& o) {
    if (static_cast<int64_t>(tokens.size()) < plan.evaluated_tokens())
        throw Error("the plan needs " + std::to_string(plan.evaluated_tokens()) + " tokens, the text has " +
                    std::to_string(tokens.size()));
    if (session.n_ctx() < plan.n_ctx)
        throw Error("the session's context of " + std::to_string(session.n_ctx()) + " tokens is shorter than a chunk");
    const Tokenizer& tok = session.model().tokenizer();
    const bool bos = tok.add_bos() && tok.bos_id() >= 0;
    const int64_t first = plan.first();

    EvalResult r;
    if (o.base) r.kl.emplace();
    std::vector<int32_t> chunk(static_cast<size_t>(plan.n_ctx));
    BaseRow row;
    for (int64_t c = 0; c < plan.n_chunks; ++c) {
        const auto begin = tokens.begin() + c * plan.n_ctx;
        chunk.assign(begin, begin + plan.n_ctx);
        if (bos) chunk[0] = tok.bos_id();
        r.eval_seconds += evaluate_chunk(session, chunk, first);
        r.evaluated_tokens += plan.n_ctx;
        // Logits row i is position first + i, which predicts the token at first + i + 1.
        for (int64_t i = 0; i < scored_per_chunk(plan.n_ctx); ++i) {
            const std::span<const float> logits = session.logits(i);
            const int32_t target = chunk[static_cast<size_t>(first + i + 1)];
            const RowStats stats = row_stats(logits, target);
            r.ppl.add(stats.nll);
            if (o.save_base) {
                quantize_row(logits, stats, row);
                o.save_base->write_row(row);
            }
            if (o.base) {
                o.base->read_row(row);
                r.kl->add(stats.nll, -static_cast<double>(row.target_log_prob), compare_row(logits, stats, row));
            }
        }
        r.running_ppl.push_back(r.ppl.perplexity().value);
        if (o.on_chunk) o.on_chunk(c, r.running_ppl.back());
    }
    return r;
}

}  // namespace silica::perplexity
