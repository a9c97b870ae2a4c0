// GPT-2 and GPT-OSS with F16 weights through the split-precision AMX-BF16 prefill GEMM
// (kernels/matmul_f16_amx.h), which runs from kF16AmxMinRows prompt tokens (the other model tests
// mostly use shorter prompts, so they exercise the FMA kernel): the logits of a 40-token prefill
// against the reference forward, AMX on against AMX off, and 1 against 2 threads (bit-identical).
#include <catch2/catch.hpp>

#include "engine/model_impl.h"
#include "kernels/amx.h"
#include "kernels/isa.h"
#include "kernels/matmul_f16_amx.h"
#include "silica/session.h"
#include "tests/engine/model_test_util.h"
#include "tests/kernel_switches.h"

using namespace silica;

namespace {

// 40 GPT-2 token ids (> kF16AmxMinRows, and not a multiple of 16)
std::vector<int32_t> prompt() {
    std::vector<int32_t> p;
    for (int i = 0; i < 40; ++i) p.push_back(static_cast<int32_t>((i * 7919 + 13) % 50000));
    return p;
}

std::vector<float> prefill_logits(const std::shared_ptr<Model>& model, int threads, const std::vector<int32_t>& p) {
    SessionOptions so;
    so.n_threads = threads;
    so.kv_type = KvType::F32;
    Session s(model, so);
    s.decode(p, true);
    std::vector<float> out;
    for (size_t i = 0; i < p.size(); ++i) {
        auto l = s.logits(static_cast<int64_t>(i));
        out.insert(out.end(), l.begin(), l.end());
    }
    return out;
}

}  // namespace

TEST_CASE("gpt2 f16 prefill on AMX-BF16 matches the reference and the FMA path", "[gpt2][model][amx]") {
    if (!(kernels::detected_avx512_bf16() && kernels::detected_amx_bf16())) {
        WARN("AMX-BF16 not available here: nothing to check");
        return;
    }
    static_assert(kernels::kF16AmxMinRows < 40);
    test::KernelDefaultsOnExit guard;
    auto model = Model::load(test::synthetic_model("gpt2", "f16"));
    const std::vector<int32_t> p = prompt();
    const int64_t V = model->params().n_vocab;
    const auto ref = model->impl().arch->reference_logits(p);

    kernels::set_amx_for_testing(true);
    const auto amx = prefill_logits(model, 2, p);
    CHECK(amx == prefill_logits(model, 1, p));  // any thread count: the same bits
    kernels::set_amx_for_testing(false);
    const auto fma = prefill_logits(model, 2, p);

    // The same bound as the other F16 model tests (gpt2_model_test.cpp: 1e-3 of std(ref)).
    // Measured here: AMX vs reference 3.5e-5, AMX vs FMA 3.5e-5 (FMA vs reference ~2e-6).
    const auto e = test::compare_logits(amx, ref, V);
    INFO("AMX vs reference: rel " << e.rel() << ", top-1 " << e.top1_agree << "/" << e.rows);
    CHECK(e.rel() <= 1e-3);
    CHECK(e.top1_agree >= e.rows - 1);
    const auto d = test::compare_logits(amx, fma, V);
    INFO("AMX vs FMA: rel " << d.rel());
    CHECK(d.rel() <= 1e-3);
    CHECK(amx != fma);  // the switch really changed the kernel
    WARN("gpt2 tiny f16, 40-token prefill: AMX vs reference " << e.rel() << ", AMX vs FMA " << d.rel());
}

// GPT-OSS with F16 weights (router, attention and experts): a 40-token prefill reaches the AMX
// kernel in the attention and router matmuls (the experts see fewer rows each). Any change of
// rounding can flip a near-tied router choice in these random tiny models, so, as for the INT8
// activation paths (gpt_oss_model_test.cpp), compare distributions against the reference.
// Measured: AMX vs reference max|diff|/std 0.339 (mean KL 5.0e-4, top-1 36/40), the FMA path
// 0.339 as well (the same router flips).
TEST_CASE("gpt-oss f16 prefill on AMX-BF16 stays close to the reference", "[gpt-oss][model][amx]") {
    if (!(kernels::detected_avx512_bf16() && kernels::detected_amx_bf16())) {
        WARN("AMX-BF16 not available here: nothing to check");
        return;
    }
    test::KernelDefaultsOnExit guard;
    auto model = Model::load(test::synthetic_model("gpt-oss", "f16"));
    std::vector<int32_t> p;
    for (int i = 0; i < 40; ++i) p.push_back((i * 7919 + 13) % 199998);
    const int64_t V = model->params().n_vocab;
    const auto ref = model->impl().arch->reference_logits(p);
    SessionOptions so;
    so.n_threads = 2;
    so.kv_type = KvType::F32;
    so.n_ctx = 64;
    auto run = [&] {
        Session s(model, so);
        return test::decode_all_logits(s, p);
    };
    kernels::set_amx_for_testing(true);
    const auto amx = run();
    kernels::set_amx_for_testing(false);
    const auto fma = run();
    const auto e = test::compare_logits(amx, ref, V);
    const auto f = test::compare_logits(fma, ref, V);
    const double kl = test::mean_kl(amx, ref, V);
    INFO("AMX vs reference: rel " << e.rel() << ", mean KL " << kl << ", top-1 " << e.top1_agree << "/" << e.rows
                                  << "; FMA vs reference: rel " << f.rel());
    CHECK(kl <= 0.05);
    CHECK(e.top1_agree >= e.rows * 8 / 10);
    WARN("gpt-oss tiny f16, 40-token prefill: AMX vs reference rel " << e.rel() << " (mean KL " << kl << ", top-1 "
                                                                     << e.top1_agree << "/" << e.rows
                                                                     << "), FMA vs reference " << f.rel());
}
