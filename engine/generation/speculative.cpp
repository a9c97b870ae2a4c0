// The speculative generation loop: propose, verify in one pass, keep the agreed prefix.
#include "silica/speculative.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>

#include "engine/generation/draft_proposer.h"
#include "kernels/step_exact.h"
#include "silica/error.h"
#include "silica/model.h"
#include "silica/session.h"
#include "silica/tokenizer.h"

namespace silica {
namespace {

constexpr int kMaxDraft = 64;  // SpeculativeOptions::draft_max at most
// A verify pass (the pending token and the proposals) gets the logits of single steps only up to
// kStepExactRows rows (kernels/step_exact.h): exact greedy output rests on it.
static_assert(kMaxDraft + 1 <= kernels::kStepExactRows);

void check_options(const Session& target, const SpeculativeOptions& o) {
    if (o.lookup == (o.draft != nullptr))
        throw Error("speculative decoding needs exactly one proposer: n-gram lookup or a draft model");
    if (o.draft_max < 1 || o.draft_max > kMaxDraft)
        throw Error("draft-max must be in 1.." + std::to_string(kMaxDraft) + " (got " + std::to_string(o.draft_max) + ")");
    if (o.draft != nullptr) {
        const int64_t nt = target.model().tokenizer().n_vocab(), nd = o.draft->model().tokenizer().n_vocab();
        if (nt != nd)
            throw Error("the draft model's vocabulary (" + std::to_string(nd) + " tokens) differs from the target's (" +
                        std::to_string(nt) + " tokens)");
        if (!(o.draft_p_min >= 0.0f && o.draft_p_min <= 1.0f)) throw Error("draft p-min must be in [0, 1]");
    }
    if (!(o.verify_cost_per_token <= 100.0f) || !(o.draft_cost_per_token <= 100.0f) || o.off_tokens < 0)
        throw Error("adaptive speculation: verify_cost_per_token and draft_cost_per_token must be numbers <= 100 and off_tokens >= 0");
}

}  // namespace

SpeculativeResult generate_speculative(Session& target, std::span<const int32_t> prompt,
                                       const GenerationOptions& options, const SpeculativeOptions& speculative,
                                       const GenerationCallback& on_step, const std::atomic<bool>* cancel) {
    using Clock = std::chrono::steady_clock;
    const auto t0 = Clock::now();
    auto seconds = [&] { return std::chrono::duration<double>(Clock::now() - t0).count(); };
    check_options(target, speculative);

    if (!prompt.empty()) target.decode(prompt);
    else if (!target.has_logits()) throw Error("generate: the session has no logits to start from (give a prompt)");
    Generation gen(target.model().tokenizer(), options, target.tokens());

    std::optional<NgramLookup> lookup;
    std::optional<generation::DraftProposer> draft;
    if (speculative.lookup) lookup.emplace(speculative.min_ngram, speculative.max_ngram, speculative.lookup_max_entries);
    else draft.emplace(*speculative.draft, speculative.draft_p_min);
    AdaptiveDraftLength adaptive(
        speculative.adaptive, AdaptiveDraftLength::cost_per_token(speculative, target.model().params().n_expert),
        speculative.off_tokens,
        draft ? AdaptiveDraftLength::proposal_cost(speculative, speculative.draft->model(), target.model()) : 0.0);
    // Greedy output is the same for every k, so k may follow the measured times (speculative.h).
    if (speculative.measure_costs && options.sampling.temperature == 0.0f) adaptive.measure_costs();

    SpeculativeResult result;
    auto report = [&](const GenerationStep& step) {
        if (step.token >= 0) {
            if (result.tokens.empty()) result.time_to_first_token = seconds();
            result.tokens.push_back(step.token);
        }
        result.text += step.text;
        result.reasoning += step.reasoning;
        return on_step ? on_step(step) : true;
    };
    auto cancelled = [&] { return cancel != nullptr && cancel->load(); };

    // The committed text: the target's tokens, then the pending token (shown, not yet evaluated).
    std::vector<int32_t> text(target.tokens().begin(), target.tokens().end());
    std::vector<float> row(target.logits().begin(), target.logits().end());
    std::vector<int32_t> batch;
    bool go_on = true;

    // Each round: one token from `row` (sampled, or the first proposal checked), then evaluate
    // the pending token with the proposals after it and check them against the pass's rows.
    if (cancelled()) report(gen.stop(FinishReason::Cancelled));
    else {
        const GenerationStep first = gen.step(row);
        go_on = report(first);
        if (!first.finished()) text.push_back(first.token);
    }
    while (!gen.finished()) {
        if (!go_on || cancelled()) {
            report(gen.stop(FinishReason::Cancelled));
            break;
        }
        const int64_t n_past = target.n_past();
        if (n_past >= target.n_ctx()) {  // no room for the pending token
            report(gen.stop(FinishReason::ContextFull));
            break;
        }
        // Proposals: no more than fit in the context and than max_tokens can still use.
        int64_t k = std::min<int64_t>(speculative.draft_max, target.n_ctx() - n_past - 1);
        if (options.max_tokens > 0) k = std::min<int64_t>(k, options.max_tokens - gen.n_generated());
        std::vector<int32_t> proposals;
        const int chosen = adaptive.choose(static_cast<int>(k));
        const bool attempted = chosen > 0;
        const auto round_start = Clock::now();
        // Lookup: one guess past the cap too, not verified but compared with the token the pass
        // gives after a fully kept run, so the adaptive k learns whether a longer cap would have
        // paid (otherwise depths past the cap are never seen again once k comes down).
        std::optional<int32_t> beyond_cap;
        if (attempted) {
            if (lookup) {
                lookup->update(text);
                const int asked = chosen < k ? chosen + 1 : chosen;
                proposals = lookup->propose(text, asked);
                adaptive.offered(asked, static_cast<int>(proposals.size()));
                if (static_cast<int>(proposals.size()) > chosen) {
                    beyond_cap = proposals.back();
                    proposals.pop_back();
                }
            } else {
                proposals = draft->propose(text, chosen);
            }
        }
        batch.assign(1, text.back());
        batch.insert(batch.end(), proposals.begin(), proposals.end());
        const auto pass_start = Clock::now();
        target.decode(batch, /*all_logits=*/!proposals.empty());
        const auto pass_end = Clock::now();
        if (proposals.empty()) {
            adaptive.timed_plain_step(std::chrono::duration<double>(pass_end - pass_start).count());
            ++result.stats.plain_steps;
            // A draft model that proposed nothing still cost its passes: a failed round. (A
            // lookup without a match costs nothing.)
            if (attempted && draft) {
                adaptive.empty_round();
            } else {
                adaptive.plain_step();
            }
            const GenerationStep step = gen.step(target.logits());
            go_on = report(step);
            if (!step.finished()) text.push_back(step.token);
            continue;
        }
        ++result.stats.verify_passes;
        adaptive.timed_round(static_cast<int>(proposals.size()), std::chrono::duration<double>(pass_end - round_start).count());
        // Row i of the pass predicts the token after batch[i]: check proposal i against it.
        int checked = 0, accepted = 0;
        bool rejected = false;
        for (size_t i = 0; i < proposals.size() && !gen.finished(); ++i) {
            if (i > 0 && (!go_on || cancelled())) break;
            const GenerationStep step = gen.step_proposed(target.logits(static_cast<int64_t>(i)), proposals[i]);
            ++checked;
            go_on = report(step);
            if (!step.finished()) text.push_back(step.token);
            if (step.token != proposals[i]) {
                rejected = true;
                break;
            }
            ++accepted;
        }
        result.stats.proposed += checked;
        result.stats.accepted += accepted;
        if (!rejected && accepted == static_cast<int>(proposals.size()) && !gen.finished() && go_on && !cancelled()) {
            // Every proposal kept: the pass's last row gives one more token.
            const GenerationStep bonus = gen.step(target.logits(static_cast<int64_t>(proposals.size())));
            go_on = report(bonus);
            if (!bonus.finished()) text.push_back(bonus.token);
            if (beyond_cap) {  // the guess past the cap, judged as if it had been verified
                ++checked;
                accepted += bonus.token == *beyond_cap ? 1 : 0;
            }
        }
        adaptive.verified(checked, accepted);
        // Keep in the cache only evaluated tokens that are text: all of it but a pending token.
        const int64_t keep = std::min<int64_t>(target.n_past(), static_cast<int64_t>(text.size()) - (gen.finished() ? 0 : 1));
        if (keep < target.n_past() && !target.truncate(keep))
            throw Error("speculative decoding: the model's sliding-window cache cannot drop rejected tokens");
    }
    result.finish = gen.finish_reason();
    result.seconds = seconds();
    if (draft) result.stats.draft_passes = draft->passes();
    result.stats.switched_off = adaptive.switched_off();
    return result;
}

}  // namespace silica
