// Decode steps (one token at a time: the GEMV paths, the single-dispatch GPT-OSS MoE, the
// prefetches during attention) give bit-identical logits for 1, 2 and 3 threads, with software
// prefetch on or off, for both architectures and the repacked Q8_0 and F16 (panel) weights.
#include <catch2/catch.hpp>
#include <vector>

#include "kernels/prefetch.h"
#include "silica/model.h"
#include "silica/session.h"
#include "tests/engine/model_test_util.h"

using namespace silica;

namespace {

// Logits after each of n single-token decode steps, concatenated.
std::vector<float> stepped_logits(const std::shared_ptr<Model>& model, int threads, int n, int32_t vocab_mod) {
    SessionOptions so;
    so.n_threads = threads;
    so.n_ctx = 32;
    Session s(model, so);
    std::vector<float> all;
    for (int i = 0; i < n; ++i) {
        const int32_t token = (i * 7919 + 13) % vocab_mod;
        s.decode(std::span<const int32_t>(&token, 1));
        const auto l = s.logits();
        all.insert(all.end(), l.begin(), l.end());
    }
    return all;
}

}  // namespace

TEST_CASE("decode steps give identical logits for any thread count, prefetch on or off", "[model][threads]") {
    for (const char* arch : {"gpt2", "gpt-oss"})
        for (const char* wtype : {"q8_0", "f16"}) {
            INFO("arch " << arch << " weights " << wtype);
            auto model = Model::load(test::synthetic_model(arch, wtype));
            const std::vector<float> one = stepped_logits(model, 1, 10, 50000);
            CHECK(stepped_logits(model, 2, 10, 50000) == one);
            CHECK(stepped_logits(model, 3, 10, 50000) == one);
            kernels::set_software_prefetch(false);
            CHECK(stepped_logits(model, 2, 10, 50000) == one);
            kernels::set_software_prefetch(true);
        }
}
