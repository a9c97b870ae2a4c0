// GPT-OSS: fast path vs the reference forward on tiny synthetic models (window 4, YaRN original
// context 64, so the test sequence crosses both), plus RoPE/YaRN and router unit checks.
#include <catch2/catch.hpp>
#include <algorithm>
#include <cmath>
#include <numbers>
#include <unistd.h>

#include "engine/arch/gpt_oss.h"
#include "engine/model_impl.h"
#include "kernels/isa.h"
#include "silica/session.h"
#include "tests/engine/model_test_util.h"

using namespace silica;

namespace {

std::vector<int32_t> test_tokens(int n) {
    std::vector<int32_t> t;
    for (int i = 0; i < n; ++i) t.push_back((i * 7919 + 13) % 199998);
    return t;
}


std::vector<float> fast_logits(const std::shared_ptr<Model>& model, const std::vector<int32_t>& tokens) {
    SessionOptions so;
    so.n_threads = 2;
    so.kv_type = KvType::F32;
    so.n_ctx = 128;
    Session s(model, so);
    return test::decode_all_logits(s, tokens);
}

}  // namespace

// With the scalar kernels (float activations) the fast path must compute exactly what the
// reference computes: this checks the forward pass itself — RoPE/YaRN past the original context,
// sinks, the sliding window, GQA, routing, the clamped SwiGLU.
TEST_CASE("gpt-oss fast path equals the reference forward with float activations", "[gpt-oss][model]") {
    const std::string wtype = GENERATE(as<std::string>{}, "f32", "q8_0", "f16", "bf16", "q4_0");
    kernels::set_isa_for_testing(kernels::Isa::scalar);
    auto model = Model::load(test::synthetic_model("gpt-oss", wtype));
    const auto tokens = test_tokens(72);  // past the window (4) and YaRN's original context (64)
    const auto ref = model->impl().arch->reference_logits(tokens);
    const auto fast = fast_logits(model, tokens);
    kernels::reset_isa_for_testing();
    const auto e = test::compare_logits(fast, ref, model->params().n_vocab);
    INFO("weights " << wtype << ": max|diff| " << e.max_abs << " std(ref) " << e.ref_std << " rel " << e.rel());
    CHECK(e.rel() <= 1e-4);
    CHECK(e.top1_agree == e.rows);
}

// With the SIMD kernels, activations are quantized to INT8 for the MXFP4 experts (and the
// quantized weight types); in a random tiny model near-tied router logits then sometimes pick a
// different expert, so compare distributions (KL) rather than single logits.
TEST_CASE("gpt-oss SIMD fast path stays close to the reference forward", "[gpt-oss][model]") {
    const std::string wtype = GENERATE(as<std::string>{}, "f32", "q8_0", "q4_0");
    auto model = Model::load(test::synthetic_model("gpt-oss", wtype));
    const auto tokens = test_tokens(72);
    const auto ref = model->impl().arch->reference_logits(tokens);
    const auto fast = fast_logits(model, tokens);
    const auto e = test::compare_logits(fast, ref, model->params().n_vocab);
    const double kl = test::mean_kl(fast, ref, model->params().n_vocab);
    INFO("weights " << wtype << ": rel " << e.rel() << " mean KL " << kl << " top-1 " << e.top1_agree << "/" << e.rows);
    CHECK(kl <= 0.05);
    CHECK(e.top1_agree >= e.rows * 8 / 10);
    WARN("gpt-oss tiny " << wtype << " (SIMD): max|diff|/std " << e.rel() << ", mean KL " << kl << ", top-1 "
                         << e.top1_agree << "/" << e.rows);
}

TEST_CASE("gpt-oss incremental decode equals batched prefill across the sliding window", "[gpt-oss][model]") {
    auto model = Model::load(test::synthetic_model("gpt-oss", "q8_0"));
    const auto tokens = test_tokens(20);
    SessionOptions so;
    so.n_threads = 2;
    so.n_ctx = 64;
    so.kv_type = KvType::F32;
    Session batched(model, so), stepped(model, so);
    batched.decode(tokens, true);
    for (size_t i = 0; i < tokens.size(); ++i) {
        stepped.decode(std::span<const int32_t>(&tokens[i], 1));
        const auto a = stepped.logits(), b = batched.logits(static_cast<int64_t>(i));
        double max = 0;
        for (size_t j = 0; j < a.size(); ++j) max = std::max(max, std::fabs(double(a[j]) - b[j]));
        INFO("position " << i);
        CHECK(max < 1e-3);
    }
}

TEST_CASE("gpt-oss logits are identical for 1 and 2 threads", "[gpt-oss][model]") {
    auto model = Model::load(test::synthetic_model("gpt-oss", "q8_0"));
    const auto tokens = test_tokens(12);
    auto run = [&](int threads) {
        SessionOptions so;
        so.n_threads = threads;
        so.n_ctx = 32;
        Session s(model, so);
        s.decode(tokens);
        auto l = s.logits();
        return std::vector<float>(l.begin(), l.end());
    };
    CHECK(run(1) == run(2));
}

TEST_CASE("YaRN correction range follows the reference (not rounded)", "[gpt-oss][rope]") {
    arch::GptOssConfig c;
    c.head_dim = 64;
    c.rope_base = 150000.0;
    c.yarn_factor = 32.0;
    c.yarn_orig_ctx = 4096.0;
    const arch::Rope rope(c);
    CHECK(rope.concentration() == Approx(0.1 * std::log(32.0) + 1.0));
    // Below low ≈ 8.09: original frequencies; above high ≈ 17.40: divided by the factor.
    for (int i = 0; i <= 8; ++i) CHECK(rope.inv_freq()[i] == Approx(1.0 / std::pow(150000.0, 2.0 * i / 64)));
    for (int i = 18; i < 32; ++i) CHECK(rope.inv_freq()[i] == Approx(1.0 / std::pow(150000.0, 2.0 * i / 64) / 32.0));
    const double low = 32 * std::log(4096 / (32 * 2 * std::numbers::pi)) / std::log(150000.0);
    const double high = 32 * std::log(4096 / (2 * std::numbers::pi)) / std::log(150000.0);
    CHECK(low == Approx(8.09).epsilon(0.01));
    CHECK(high == Approx(17.40).epsilon(0.01));
    const double ramp = (12 - low) / (high - low);
    const double base = 1.0 / std::pow(150000.0, 24.0 / 64);
    CHECK(rope.inv_freq()[12] == Approx(base / 32.0 * ramp + base * (1 - ramp)));
    // cos/sin carry the concentration.
    std::vector<float> cs(32), sn(32);
    rope.angles(1000, cs.data(), sn.data());
    for (int i = 0; i < 32; ++i)
        CHECK(std::hypot(cs[i], sn[i]) == Approx(rope.concentration()).epsilon(1e-5));
}

TEST_CASE("router takes the top k with ties to the lower index and softmaxes over them", "[gpt-oss][router]") {
    const float logits[8] = {1.0f, 3.0f, 3.0f, -1.0f, 2.0f, 3.0f, 0.5f, 2.0f};
    int32_t idx[4];
    float w[4];
    arch::route_top_k(logits, 8, 4, idx, w);
    CHECK(idx[0] == 1);
    CHECK(idx[1] == 2);
    CHECK(idx[2] == 5);
    CHECK(idx[3] == 4);
    const double z = 3 * std::exp(0.0) + std::exp(-1.0);
    CHECK(w[0] == Approx(1 / z));
    CHECK(w[3] == Approx(std::exp(-1.0) / z));
    CHECK(w[0] + w[1] + w[2] + w[3] == Approx(1.0));
}
