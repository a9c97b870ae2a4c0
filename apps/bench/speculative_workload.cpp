#include "apps/bench/speculative_workload.h"

#include <algorithm>
#include <chrono>

#include "silica/generation.h"
#include "silica/speculative.h"
#include "silica/tokenizer.h"

namespace silica::bench {
namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

GenerationOptions greedy(int64_t n) {
    GenerationOptions g;
    g.sampling.temperature = 0.0f;
    g.max_tokens = n;
    g.stop_at_end_of_generation = false;  // every run generates exactly n tokens
    return g;
}

}  // namespace

nlohmann::json run_speculative_workload(const std::shared_ptr<const Model>& model, const SpeculativeBenchOptions& o) {
    Session target(model, o.session);
    std::unique_ptr<Session> draft;
    if (o.draft) {
        SessionOptions ds = o.session;
        const int64_t train = o.draft->params().n_ctx_train;
        ds.n_ctx = train > 0 ? std::min<int64_t>(target.n_ctx(), train) : target.n_ctx();
        draft = std::make_unique<Session>(o.draft, ds);
    }
    SpeculativeOptions spec;
    spec.lookup = !o.draft;
    spec.draft = draft.get();
    spec.draft_max = o.draft_max;
    spec.draft_p_min = o.draft_p_min;
    spec.adaptive = o.adaptive;
    spec.verify_cost_per_token = o.verify_cost_per_token;

    double plain_s = 0.0, spec_s = 0.0, draft_prompt_s = 0.0;
    int64_t plain_tokens = 0, spec_tokens = 0;
    SpeculativeStats total;
    bool identical = true;
    for (int it = 0; it < o.warmup + o.iterations; ++it) {
        const bool measured = it >= o.warmup;
        auto run_plain = [&](double& seconds) {
            target.reset();
            target.decode(o.prompt);
            const auto t = Clock::now();
            auto result = generate(target, {}, greedy(o.gen_len));
            seconds = since(t);
            return result;
        };
        auto run_speculative = [&](double& seconds) {
            target.reset();
            target.decode(o.prompt);
            // The draft reads the prompt with the target's prompt (as a speculative server would,
            // at prefill), outside the generation's time like the target's; its time is reported apart.
            if (draft) {
                draft->reset();
                const auto t = Clock::now();
                draft->decode(o.prompt);
                if (measured) draft_prompt_s += since(t);
            }
            const auto t = Clock::now();
            auto result = generate_speculative(target, {}, greedy(o.gen_len), spec);
            seconds = since(t);
            return result;
        };
        // Which runs first alternates, so neither gains from going second (warm caches, a CPU
        // that has ramped up) in every pair.
        double ps = 0.0, ss = 0.0;
        GenerationResult plain;
        SpeculativeResult fast;
        if (it % 2 == 0) {
            plain = run_plain(ps);
            fast = run_speculative(ss);
        } else {
            fast = run_speculative(ss);
            plain = run_plain(ps);
        }
        identical = identical && fast.tokens == plain.tokens;
        if (!measured) continue;
        plain_s += ps;
        spec_s += ss;
        plain_tokens += static_cast<int64_t>(plain.tokens.size());
        spec_tokens += static_cast<int64_t>(fast.tokens.size());
        total.verify_passes += fast.stats.verify_passes;
        total.plain_steps += fast.stats.plain_steps;
        total.proposed += fast.stats.proposed;
        total.accepted += fast.stats.accepted;
        total.draft_passes += fast.stats.draft_passes;
        total.switched_off += fast.stats.switched_off;
    }
    const double plain_tps = plain_tokens / std::max(plain_s, 1e-9), spec_tps = spec_tokens / std::max(spec_s, 1e-9);
    return {{"proposer", o.draft ? "draft" : "lookup"},
            {"draft_max", o.draft_max},
            {"draft_p_min", o.draft ? o.draft_p_min : 0.0f},
            {"adaptive", o.adaptive},
            {"verify_cost_per_token", AdaptiveDraftLength::cost_per_token(spec, model->params().n_expert)},
            {"draft_cost_per_token", draft ? AdaptiveDraftLength::proposal_cost(spec, *o.draft, *model) : 0.0},
            {"prompt_len", o.prompt.size()},
            {"gen_len", o.gen_len},
            {"iterations", o.iterations},
            {"plain_tokens_per_s", plain_tps},
            {"speculative_tokens_per_s", spec_tps},
            {"speedup", spec_tps / std::max(plain_tps, 1e-9)},
            {"draft_prompt_ms", draft ? draft_prompt_s * 1e3 / std::max(o.iterations, 1) : 0.0},
            {"acceptance_rate", total.acceptance()},
            {"mean_accepted_length", total.mean_accepted()},
            {"proposed", total.proposed},
            {"accepted", total.accepted},
            {"verify_passes", total.verify_passes},
            {"plain_steps", total.plain_steps},
            {"draft_passes", total.draft_passes},
            {"switched_off", total.switched_off},
            {"identical_greedy_text", identical}};
}

nlohmann::json run_verify_cost(const std::shared_ptr<const Model>& model, const std::vector<int32_t>& prompt,
                               const SessionOptions& session, int k_max, int repetitions) {
    Session s(model, session);
    s.decode(prompt);
    const int64_t base = s.n_past();
    const auto n_vocab = model->tokenizer().n_vocab();
    std::vector<int32_t> tokens;
    for (int i = 0; i < k_max; ++i) tokens.push_back(static_cast<int32_t>((prompt[static_cast<size_t>(i) % prompt.size()] + 17 * i) % n_vocab));
    // One pass of k tokens at position `base`, then back: every measurement sees the same cache.
    auto pass = [&](int k, bool all_logits) {
        const auto t = Clock::now();
        s.decode(std::span<const int32_t>(tokens.data(), static_cast<size_t>(k)), all_logits);
        const double seconds = since(t);
        s.truncate(base);
        return seconds;
    };
    for (int w = 0; w < 2; ++w)  // warm-up: caches, thread pool
        for (int k = 1; k <= k_max; ++k) pass(k, true);
    std::vector<std::vector<double>> times(static_cast<size_t>(k_max) + 1);
    // Interleaved, so slow drifts (other processes, clocks) fall on every k alike.
    for (int r = 0; r < repetitions; ++r) {
        times[0].push_back(pass(1, false));
        for (int k = 1; k <= k_max; ++k) times[static_cast<size_t>(k)].push_back(pass(k, true));
    }
    const double step = median(times[0]);
    nlohmann::json rows = nlohmann::json::array();
    for (int k = 1; k <= k_max; ++k) {
        const double m = median(times[static_cast<size_t>(k)]);
        rows.push_back({{"k", k}, {"pass_ms", m * 1e3}, {"ratio", m / step}});
    }
    return {{"prompt_len", prompt.size()}, {"repetitions", repetitions}, {"step_ms", step * 1e3}, {"passes", rows}};
}

}  // namespace silica::bench
