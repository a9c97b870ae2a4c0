// GPT-2 fast path vs the slow reference forward on tiny synthetic models of every weight type.
#include <catch2/catch.hpp>
#include <unistd.h>

#include "engine/model_impl.h"
#include "kernels/isa.h"
#include "silica/sampler.h"
#include "silica/session.h"
#include "tests/engine/model_test_util.h"

using namespace silica;

namespace {

const std::vector<int32_t> kPrompt = {15496, 11, 616, 1438, 318, 1757, 290, 314, 588, 284, 2193, 9552, 50256, 7};

// Max |fast − ref| / std(ref) allowed per weight type, over every logit of every position. The
// reference dequantizes the same weights, so what remains is the fast path's float32 sums, and
// for BF16 weights the bf16 rounding of activations (vdpbf16ps), for the quantized types the INT8
// activation blocks. Measured here: f32/f16 ~2e-6, bf16 ~0.012, quantized 0.042-0.046.
double bound_for(const std::string& wtype) {
    if (wtype == "f32" || wtype == "f16") return 1e-3;
    if (wtype == "bf16") return 0.03;
    return 0.08;
}

std::vector<float> fast_logits(const std::shared_ptr<Model>& model, int threads, KvType kv, bool token_by_token) {
    SessionOptions so;
    so.n_threads = threads;
    so.kv_type = kv;
    Session s(model, so);
    const int64_t V = model->params().n_vocab;
    std::vector<float> out;
    if (token_by_token) {
        for (int32_t t : kPrompt) {
            s.decode(std::span<const int32_t>(&t, 1));
            auto l = s.logits();
            out.insert(out.end(), l.begin(), l.end());
        }
    } else {
        s.decode(kPrompt, true);
        for (size_t i = 0; i < kPrompt.size(); ++i) {
            auto l = s.logits(static_cast<int64_t>(i));
            out.insert(out.end(), l.begin(), l.end());
        }
    }
    REQUIRE(out.size() == kPrompt.size() * static_cast<size_t>(V));
    return out;
}

}  // namespace

TEST_CASE("gpt2 fast path matches the reference forward for every weight type", "[gpt2][model]") {
    const std::string wtype = GENERATE(as<std::string>{}, "f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "q5_0",
                                       "q5_1", "q4_K", "q5_K", "q6_K");
    auto model = Model::load(test::synthetic_model("gpt2", wtype));
    const auto ref = model->impl().arch->reference_logits(kPrompt);
    const auto fast = fast_logits(model, 2, KvType::F32, false);
    const auto e = test::compare_logits(fast, ref, model->params().n_vocab);
    INFO("weights " << wtype << ": max|diff| " << e.max_abs << ", std(ref) " << e.ref_std << ", rel " << e.rel()
                    << ", top-1 agreement " << e.top1_agree << "/" << e.rows);
    CHECK(e.rel() <= bound_for(wtype));
    CHECK(e.top1_agree >= e.rows - 1);
    WARN("gpt2 tiny " << wtype << ": max|diff|/std = " << e.rel() << ", top-1 " << e.top1_agree << "/" << e.rows);
}

// With the scalar kernels (float activations) the fast path computes what the reference computes.
TEST_CASE("gpt2 fast path equals the reference forward with float activations", "[gpt2][model]") {
    const std::string wtype = GENERATE(as<std::string>{}, "f32", "bf16", "q8_0", "q4_1", "q5_0", "q4_K", "q6_K");
    kernels::set_isa_for_testing(kernels::Isa::scalar);
    auto model = Model::load(test::synthetic_model("gpt2", wtype));
    const auto ref = model->impl().arch->reference_logits(kPrompt);
    const auto fast = fast_logits(model, 2, KvType::F32, false);
    kernels::reset_isa_for_testing();
    const auto e = test::compare_logits(fast, ref, model->params().n_vocab);
    INFO("weights " << wtype << ": rel " << e.rel());
    CHECK(e.rel() <= 1e-4);
    CHECK(e.top1_agree == e.rows);
}

// Prefill attention (a block of queries per pass) and decode attention (one query) sum in
// different orders: float weights agree to rounding; with int8 activations a last-bit difference
// can flip a quantization step, so those only agree within the quantized types' bound.
TEST_CASE("gpt2 token-by-token decode equals one batched prefill", "[gpt2][model]") {
    const std::string wtype = GENERATE(as<std::string>{}, "f32", "q8_0");
    auto model = Model::load(test::synthetic_model("gpt2", wtype));
    const auto batched = fast_logits(model, 2, KvType::F32, false);
    const auto stepped = fast_logits(model, 2, KvType::F32, true);
    const auto e = test::compare_logits(stepped, batched, model->params().n_vocab);
    INFO("weights " << wtype << ": rel " << e.rel() << ", top-1 agreement " << e.top1_agree << "/" << e.rows);
    CHECK(e.rel() <= (wtype == "f32" ? 1e-4 : bound_for(wtype)));
    CHECK(e.top1_agree >= e.rows - 1);
}

TEST_CASE("gpt2 logits are identical for 1 and 2 threads", "[gpt2][model]") {
    auto model = Model::load(test::synthetic_model("gpt2", "q4_0"));
    CHECK(fast_logits(model, 1, KvType::F16, false) == fast_logits(model, 2, KvType::F16, false));
}

TEST_CASE("gpt2 greedy generation is identical for 1 and 2 threads", "[gpt2][model]") {
    auto model = Model::load(test::synthetic_model("gpt2", "q8_0"));
    auto generate = [&](int threads) {
        SessionOptions so;
        so.n_threads = threads;
        Session s(model, so);
        SamplerOptions greedy;
        greedy.temperature = 0.0f;
        Sampler sampler(greedy);
        std::vector<int32_t> out;
        s.decode(kPrompt);
        for (int i = 0; i < 24; ++i) {
            const int32_t t = sampler.sample(s.logits());
            out.push_back(t);
            s.decode(std::span<const int32_t>(&t, 1));
        }
        return out;
    };
    CHECK(generate(1) == generate(2));
}

TEST_CASE("gpt2 KV cache types stay close to f32", "[gpt2][model]") {
    auto model = Model::load(test::synthetic_model("gpt2", "f16"));
    const auto f32 = fast_logits(model, 2, KvType::F32, false);
    for (KvType kv : {KvType::F16, KvType::BF16, KvType::Q8_0}) {
        const auto e = test::compare_logits(fast_logits(model, 2, kv, false), f32, model->params().n_vocab);
        INFO("kv " << kv_type_name(kv) << " rel " << e.rel());
        CHECK(e.rel() <= 0.05);
        CHECK(e.top1_agree >= e.rows - 1);
    }
}

TEST_CASE("session rejects contexts and tokens that do not fit", "[gpt2][model]") {
    auto model = Model::load(test::synthetic_model("gpt2", "q8_0"));
    SessionOptions so;
    so.n_ctx = 8;
    Session s(model, so);
    CHECK_THROWS_WITH(s.decode(kPrompt), Catch::Contains("exceed the context size of 8"));
    const int32_t bad = 50257;
    CHECK_THROWS_WITH(s.decode(std::span<const int32_t>(&bad, 1)), Catch::Contains("out of range"));
    so.n_ctx = 4096;
    CHECK_THROWS_WITH(Session(model, so), Catch::Contains("trained context"));
}
