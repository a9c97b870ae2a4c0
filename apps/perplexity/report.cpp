#include "apps/perplexity/report.h"

#include <fmt/format.h>

namespace silica::perplexity {

namespace {

double tokens_per_s(const EvalResult& r) { return r.eval_seconds > 0 ? r.evaluated_tokens / r.eval_seconds : 0.0; }

std::string kl_text(const KlSummary& s) {
    std::string t;
    t += "====== Perplexity statistics ======\n";
    t += fmt::format("PPL(Q)                      : {:10.6f} ± {:10.6f}\n", s.ppl.value, s.ppl.error);
    t += fmt::format("PPL(base)                   : {:10.6f} ± {:10.6f}\n", s.ppl_base.value, s.ppl_base.error);
    t += fmt::format("Cor(ln PPL(Q), ln PPL(base)): {:6.2f}%\n", 100.0 * s.nll_correlation);
    t += fmt::format("ln(PPL(Q)/PPL(base))        : {:10.6f} ± {:10.6f}\n", s.ln_ppl_ratio.value, s.ln_ppl_ratio.error);
    t += fmt::format("PPL(Q)/PPL(base)            : {:10.6f} ± {:10.6f}\n", s.ppl_ratio.value, s.ppl_ratio.error);
    t += fmt::format("PPL(Q)-PPL(base)            : {:10.6f} ± {:10.6f}\n", s.ppl_diff.value, s.ppl_diff.error);
    t += "\n====== KL divergence statistics ======\n";
    t += fmt::format("Mean    KLD: {:10.6f} ± {:10.6f}\n", s.kld.value, s.kld.error);
    t += fmt::format("Maximum KLD: {:10.6f}\n", s.kld_max);
    t += fmt::format("99.9%   KLD: {:10.6f}\n", s.kld_p999);
    t += fmt::format("99.0%   KLD: {:10.6f}\n", s.kld_p99);
    t += fmt::format("95.0%   KLD: {:10.6f}\n", s.kld_p95);
    t += fmt::format("90.0%   KLD: {:10.6f}\n", s.kld_p90);
    t += fmt::format("Median  KLD: {:10.6f}\n", s.kld_median);
    t += fmt::format("Minimum KLD: {:10.6f}\n", s.kld_min);
    t += "\n====== Token probability statistics ======\n";
    t += fmt::format("Mean    Δp: {:6.3f} ± {:5.3f} %\n", 100.0 * s.p_diff.value, 100.0 * s.p_diff.error);
    t += fmt::format("RMS     Δp: {:6.3f} ± {:5.3f} %\n", 100.0 * s.p_diff_rms.value, 100.0 * s.p_diff_rms.error);
    t += fmt::format("Same top p: {:6.3f} ± {:5.3f} %\n", 100.0 * s.same_top.value, 100.0 * s.same_top.error);
    return t;
}

}  // namespace

std::string report_text(const RunInfo& info, const EvalResult& r) {
    const Estimate ppl = r.ppl.perplexity();
    std::string t = fmt::format("Final estimate: PPL = {:.4f} +/- {:.5f}\n", ppl.value, ppl.error);
    t += fmt::format("tokens: {} scored ({} chunks of {}, positions {}..{} of each), {} in the text; "
                     "{} evaluated in {:.3f} s: {:.2f} tokens/s\n",
                     r.ppl.count(), info.plan.n_chunks, info.plan.n_ctx, info.plan.first(), info.plan.n_ctx - 2,
                     info.text_tokens, r.evaluated_tokens, r.eval_seconds, tokens_per_s(r));
    if (!info.saved_base.empty())
        t += fmt::format("saved the log-probabilities of {} positions to {}\n", r.ppl.count(), info.saved_base);
    if (r.kl) {
        t += "\n";
        t += kl_text(r.kl->summary());
    }
    return t;
}

nlohmann::json report_json(const RunInfo& info, const EvalResult& r) {
    const Estimate ppl = r.ppl.perplexity();
    nlohmann::json j;
    j["model"] = info.model;
    j["file"] = info.text_file;
    j["n_ctx"] = info.plan.n_ctx;
    j["chunks"] = info.plan.n_chunks;
    j["tokens"] = r.ppl.count();
    j["text_tokens"] = info.text_tokens;
    j["evaluated_tokens"] = r.evaluated_tokens;
    j["ppl"] = ppl.value;
    j["ppl_err"] = ppl.error;
    j["chunk_ppl"] = r.running_ppl;
    j["eval_seconds"] = r.eval_seconds;
    j["tokens_per_s"] = tokens_per_s(r);
    j["threads"] = info.threads;
    j["kv_type"] = info.kv_type;
    if (!info.saved_base.empty()) j["kl_base_file"] = info.saved_base;
    if (r.kl) {
        const KlSummary s = r.kl->summary();
        j["kl"] = {
            {"base_file", info.base},
            {"ppl_base", s.ppl_base.value},
            {"ppl_base_err", s.ppl_base.error},
            {"delta_ppl", s.ppl_diff.value},
            {"delta_ppl_err", s.ppl_diff.error},
            {"ppl_ratio", s.ppl_ratio.value},
            {"ppl_ratio_err", s.ppl_ratio.error},
            {"ln_ppl_ratio", s.ln_ppl_ratio.value},
            {"ln_ppl_ratio_err", s.ln_ppl_ratio.error},
            {"nll_correlation", s.nll_correlation},
            {"kld_mean", s.kld.value},
            {"kld_err", s.kld.error},
            {"kld_max", s.kld_max},
            {"kld_p999", s.kld_p999},
            {"kld_p99", s.kld_p99},
            {"kld_p95", s.kld_p95},
            {"kld_p90", s.kld_p90},
            {"kld_median", s.kld_median},
            {"kld_min", s.kld_min},
            {"top1_agreement_pct", 100.0 * s.same_top.value},
            {"top1_agreement_pct_err", 100.0 * s.same_top.error},
            {"delta_p_mean_pct", 100.0 * s.p_diff.value},
            {"delta_p_rms_pct", 100.0 * s.p_diff_rms.value},
        };
    }
    return j;
}

}  // namespace silica::perplexity
