// silica-perplexity's evaluation on tiny synthetic GPT-2 models: the all-positions logits it
// relies on, its perplexity against the slow reference forward, and its KL divergence against a
// direct computation from both models' full logits.
#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <unistd.h>

#include "apps/perplexity/evaluation.h"
#include "apps/perplexity/kl_base_file.h"
#include "engine/model_impl.h"
#include "silica/model.h"
#include "silica/session.h"
#include "tests/engine/model_test_util.h"

using namespace silica;
using namespace silica::perplexity;

namespace {

constexpr int64_t kCtx = 16;

Session f32_session(const std::shared_ptr<Model>& model, int64_t n_ctx) {
    SessionOptions so;
    so.n_ctx = n_ctx;
    so.n_threads = 2;
    so.kv_type = KvType::F32;
    return Session(model, so);
}

std::vector<float> row(const Session& s, int64_t i) {
    const auto l = s.logits(i);
    return {l.begin(), l.end()};
}

std::string temp_path(const std::string& name) {
    return (std::filesystem::temp_directory_path() / ("silica-ppl-" + std::to_string(::getpid()) + "-" + name)).string();
}

}  // namespace

TEST_CASE("all-positions logits: the last row is the single-position logits", "[perplexity][model]") {
    const std::string wtype = GENERATE(as<std::string>{}, "f32", "q8_0");
    auto model = Model::load(test::synthetic_model("gpt2", wtype));
    const auto tokens = test::token_sequence(40, 1, model->params().n_vocab);
    Session all = f32_session(model, 64), last = f32_session(model, 64);
    all.decode(tokens, true);
    last.decode(tokens, false);
    const auto a = row(all, static_cast<int64_t>(tokens.size()) - 1), b = row(last, 0);
    const auto e = test::compare_logits(a, b, model->params().n_vocab);
    WARN("weights " << wtype << ": all-rows vs last-row logits, max|diff| " << e.max_abs << ", rel " << e.rel()
                    << (a == b ? " (bit-identical)" : ""));
    // Quantized weights: the same int8 dot products, bit-for-bit. Float weights: the batch GEMM
    // sums in another order than the one-row GEMV (measured 2e-6 of the logits' std).
    if (wtype == "q8_0") CHECK(a == b);
    else CHECK(e.rel() <= 1e-5);
    CHECK(e.top1_agree == 1);
}

TEST_CASE("a chunk evaluated in two calls gives the logits of one call", "[perplexity][model]") {
    // evaluate() decodes the first half without logits, then the scored half with them.
    auto model = Model::load(test::synthetic_model("gpt2", "q8_0"));
    const auto tokens = test::token_sequence(2 * kCtx, 2, model->params().n_vocab);
    Session one = f32_session(model, 64), two = f32_session(model, 64);
    one.decode(tokens, true);
    const std::span<const int32_t> t(tokens);
    two.decode(t.first(kCtx), false);
    two.decode(t.subspan(kCtx), true);
    for (int64_t i = 0; i < kCtx; ++i) CHECK(row(two, i) == row(one, kCtx + i));
}

TEST_CASE("perplexity matches the reference forward's", "[perplexity][model]") {
    auto model = Model::load(test::synthetic_model("gpt2", "f32"));
    const int64_t V = model->params().n_vocab;
    // Three whole chunks and a remainder that is not evaluated.
    const auto tokens = test::token_sequence(3 * kCtx + 5, 3, V);
    const ChunkPlan plan = plan_chunks(static_cast<int64_t>(tokens.size()), kCtx, 0);
    REQUIRE(plan.n_chunks == 3);
    Session s = f32_session(model, kCtx);
    const EvalResult r = evaluate(s, tokens, plan, {});

    // Independently: each chunk from position 0 through the reference, rows n_ctx/2 .. n_ctx-2.
    double sum = 0, sum2 = 0;
    int64_t n = 0;
    for (int64_t c = 0; c < plan.n_chunks; ++c) {
        const std::vector<int32_t> chunk(tokens.begin() + c * kCtx, tokens.begin() + (c + 1) * kCtx);
        const auto ref = model->impl().arch->reference_logits(chunk);
        for (int64_t j = kCtx / 2; j < kCtx - 1; ++j) {
            const float* x = &ref[j * V];
            double max = x[0], z = 0;
            for (int64_t i = 1; i < V; ++i) max = std::max<double>(max, x[i]);
            for (int64_t i = 0; i < V; ++i) z += std::exp(x[i] - max);
            const double nll = max + std::log(z) - x[chunk[j + 1]];
            sum += nll, sum2 += nll * nll, ++n;
        }
    }
    const double mean = sum / n;
    const double ppl_ref = std::exp(mean);
    const double err_ref = ppl_ref * std::sqrt((sum2 / n - mean * mean) / (n - 1));
    const Estimate ppl = r.ppl.perplexity();
    INFO("tool " << ppl.value << " ± " << ppl.error << ", reference " << ppl_ref << " ± " << err_ref);
    CHECK(r.ppl.count() == n);
    CHECK(n == 3 * (kCtx - 1 - kCtx / 2));
    CHECK(r.evaluated_tokens == 3 * kCtx);
    CHECK(std::fabs(ppl.value - ppl_ref) <= 1e-4 * ppl_ref);
    CHECK(std::fabs(ppl.error - err_ref) <= 1e-3 * err_ref);
    REQUIRE(r.running_ppl.size() == 3);
    CHECK(r.running_ppl.back() == ppl.value);
}

TEST_CASE("KL divergence of a model from its own base file is zero", "[perplexity][model]") {
    auto model = Model::load(test::synthetic_model("gpt2", "q8_0"));
    const int64_t V = model->params().n_vocab;
    const auto tokens = test::token_sequence(2 * kCtx, 4, V);
    const ChunkPlan plan = plan_chunks(static_cast<int64_t>(tokens.size()), kCtx, 0);
    const std::string path = temp_path("self.kl");
    Session s = f32_session(model, kCtx);
    EvalResult saved;
    {
        KlBaseWriter w(path, V, kCtx, plan.n_chunks, tokens);
        EvalOptions o;
        o.save_base = &w;
        saved = evaluate(s, tokens, plan, o);
        w.finish();
    }
    KlBaseReader base(path);
    base.check_model(V);
    base.check_text(tokens, kCtx, plan.n_chunks);
    EvalOptions o;
    o.base = &base;
    const EvalResult r = evaluate(s, tokens, plan, o);
    std::filesystem::remove(path);
    REQUIRE(r.kl);
    const KlSummary k = r.kl->summary();
    INFO("mean KLD " << k.kld.value << ", max " << k.kld_max << ", min " << k.kld_min);
    CHECK(k.count == plan.scored_tokens());
    CHECK(k.kld.value < 1e-6);  // the uint16 step is <= 6.2e-4 nats: KL ~ step^2
    CHECK(k.kld_max < 1e-5);
    CHECK(k.kld_min > -1e-7);  // renormalised: only rounding below zero
    CHECK(k.same_top.value == 1.0);
    CHECK(std::fabs(k.ppl_diff.value) <= 1e-5 * k.ppl.value);
    CHECK(k.ppl.value == Approx(saved.ppl.perplexity().value).epsilon(1e-12));
}

TEST_CASE("KL divergence of a q4_0 model from a q8_0 base matches the direct computation", "[perplexity][model]") {
    auto base_model = Model::load(test::synthetic_model("gpt2", "q8_0"));
    auto q4 = Model::load(test::synthetic_model("gpt2", "q4_0"));
    const int64_t V = base_model->params().n_vocab;
    const auto tokens = test::token_sequence(2 * kCtx, 5, V);
    const ChunkPlan plan = plan_chunks(static_cast<int64_t>(tokens.size()), kCtx, 0);
    const std::string path = temp_path("q8.kl");
    Session sb = f32_session(base_model, kCtx), sq = f32_session(q4, kCtx);
    EvalResult base_run;
    {
        KlBaseWriter w(path, V, kCtx, plan.n_chunks, tokens);
        EvalOptions o;
        o.save_base = &w;
        base_run = evaluate(sb, tokens, plan, o);
        w.finish();
    }
    KlBaseReader reader(path);
    EvalOptions o;
    o.base = &reader;
    const EvalResult r = evaluate(sq, tokens, plan, o);
    std::filesystem::remove(path);
    const KlSummary k = r.kl->summary();

    // Directly, from both models' float logits of the scored rows.
    std::vector<float> lb, lq;
    for (int64_t c = 0; c < plan.n_chunks; ++c) {
        const std::vector<int32_t> chunk(tokens.begin() + c * kCtx, tokens.begin() + (c + 1) * kCtx);
        Session b = f32_session(base_model, kCtx), q = f32_session(q4, kCtx);
        const auto all_b = test::decode_all_logits(b, chunk), all_q = test::decode_all_logits(q, chunk);
        lb.insert(lb.end(), all_b.begin() + kCtx / 2 * V, all_b.end() - V);
        lq.insert(lq.end(), all_q.begin() + kCtx / 2 * V, all_q.end() - V);
    }
    const double direct = test::mean_kl(lq, lb, V);
    INFO("KLD from the base file " << k.kld.value << ", direct " << direct << "; PPL " << k.ppl.value << " vs base "
                                   << k.ppl_base.value);
    CHECK(direct > 1e-4);
    CHECK(std::fabs(k.kld.value - direct) <= 1e-3 * direct + 1e-6);
    CHECK(k.ppl_base.value == Approx(base_run.ppl.perplexity().value).epsilon(1e-6));
    CHECK(k.ppl.value == Approx(r.ppl.perplexity().value).epsilon(1e-12));
    CHECK(k.ppl_diff.value == Approx(k.ppl.value - k.ppl_base.value));
    CHECK(k.ppl_diff.value != 0.0);
    CHECK(k.kld_max >= k.kld_p99);
    CHECK(k.kld_p99 >= k.kld_median);
    CHECK(k.kld_median >= k.kld_min);
}
