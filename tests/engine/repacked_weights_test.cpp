// Load-time repacking of weights (engine/arch/weight.h): the repacked copy reads back the same
// rows, the file's pages are released after repacking, SILICA_REPACK=0 switches it off, and the
// models give the same logits either way.
#include <catch2/catch.hpp>
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <optional>
#include <string>
#include <unistd.h>
#include <vector>

#include "engine/arch/tensors.h"
#include "engine/arch/weight.h"
#include "engine/gguf/gguf.h"
#include "engine/model_impl.h"
#include "kernels/amx.h"
#include "kernels/isa.h"
#include "kernels/matmul_f16_amx.h"
#include "kernels/matmul_repacked.h"
#include "quant/dequantize.h"
#include "silica/model.h"
#include "silica/session.h"
#include "tests/engine/model_test_util.h"

using namespace silica;

namespace {

std::vector<float> gguf_row(const gguf::TensorInfo& t, int64_t r) {
    const int64_t cols = t.ne[0];
    std::vector<float> out(static_cast<size_t>(cols));
    dequantize_row(t.type, t.data + static_cast<size_t>(r) * row_bytes(type_traits(t.type), cols), out.data(), cols);
    return out;
}

std::vector<float> weight_row(const arch::Weight& w, int64_t r) {
    std::vector<float> out(static_cast<size_t>(w.cols()));
    w.row(r, out.data());
    return out;
}

// True when every byte of the whole pages inside the tensor reads as zero: released pages of a
// private (--no-mmap) copy come back zero-filled.
bool whole_pages_zero(const gguf::File& f, const gguf::TensorInfo& t) {
    const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    const size_t begin = (f.data_offset() + t.offset + page - 1) / page * page;
    const size_t end = (f.data_offset() + t.offset + t.nbytes) / page * page;
    REQUIRE(begin < end);  // the tensors checked here span at least one whole page
    for (size_t i = begin; i < end; ++i)
        if (f.bytes()[i] != 0) return false;
    return true;
}

std::vector<float> prefill_logits(const std::string& path, const std::vector<int32_t>& tokens, bool repack) {
    LoadOptions lo;
    lo.repack = repack;
    auto model = Model::load(path, lo);
    SessionOptions so;
    so.n_threads = 2;
    so.kv_type = KvType::F32;
    so.n_ctx = 64;
    Session s(model, so);
    return test::decode_all_logits(s, tokens);
}

}  // namespace

TEST_CASE("repacked weights read back the file's rows and experts, and release its pages", "[repack]") {
    const std::string path = test::synthetic_model("gpt-oss", "q4_0");
    // The private copy shows released pages as zeros; the mapped one is the untouched original.
    const auto repacked_file = gguf::File::open(path, {false});
    const auto original = gguf::File::open(path);
    arch::TensorBinder binder(repacked_file);
    const int64_t C = original.get_int("gpt-oss.embedding_length", 0);
    const int64_t F = original.get_int("gpt-oss.expert_feed_forward_length", 0);
    const int64_t E = original.get_int("gpt-oss.expert_count", 0);
    const int64_t Q = original.tensor("blk.0.attn_q.weight")->ne[1];

    struct Case {
        std::string name;
        arch::Weight w;
    };
    std::vector<Case> cases;
    cases.push_back({"blk.0.attn_q.weight", binder.weight("blk.0.attn_q.weight", C, Q)});             // Q4_0
    cases.push_back({"blk.0.ffn_gate_exps.weight", binder.expert_weight("blk.0.ffn_gate_exps.weight", C, F, E)});
    cases.push_back({"blk.1.ffn_down_exps.weight", binder.expert_weight("blk.1.ffn_down_exps.weight", F, C, E)});
    for (const auto& [name, w] : cases) {
        INFO(name);
        const gguf::TensorInfo& t = *original.tensor(name);
        CHECK(w.is_repacked() == kernels::repacked_kernel_available(t.type));
        CHECK(w.type() == t.type);
        CHECK(whole_pages_zero(repacked_file, *repacked_file.tensor(name)) == w.is_repacked());
        for (int64_t e = 0; e < w.n_expert(); ++e) {
            const arch::Weight x = w.expert(e);
            CHECK(x.rows() == t.ne[1]);
            CHECK(x.cols() == t.ne[0]);
            for (int64_t r : {int64_t{0}, int64_t{1}, int64_t{15}, int64_t{16}, int64_t{17}, x.rows() - 1}) {
                INFO("expert " << e << " row " << r);
                CHECK(weight_row(x, r) == gguf_row(t, e * x.rows() + r));
            }
        }
    }
    CHECK_THROWS(cases[1].w.expert(E));
    CHECK_THROWS(cases[0].w.row(Q, nullptr));
}

// The claim "repacking changes nothing but float rounding" checked where it holds exactly: every
// product of every repackable weight of the tiny models (including each expert of the stacks and
// the GPT-2 vocabulary of 50257 rows, whose last group of 16 is padded; F16 panels included).
TEST_CASE("every repacked weight of the tiny models multiplies like its GGUF layout", "[repack]") {
    const std::string arch = GENERATE(as<std::string>{}, "gpt2", "gpt-oss");
    const std::string wtype = GENERATE(as<std::string>{}, "q8_0", "q4_0", "f16");
    const auto f = gguf::File::open(test::synthetic_model(arch, wtype));
    const arch::TensorBinder binder(f);
    int checked = 0;
    for (const auto& t : f.tensors()) {
        if (t.n_dims < 2 || !kernels::repacked_kernel_available(t.type)) continue;
        const int64_t cols = t.ne[0], rows = t.ne[1], n_expert = t.n_dims == 3 ? t.ne[2] : 1;
        const kernels::Matrix gguf_matrix{t.type, rows, cols, t.data, row_bytes(type_traits(t.type), cols)};
        // Bound before the view is read: with the mapped file, released pages read back from disk.
        const arch::Weight packed = n_expert > 1 ? binder.expert_weight(t.name, cols, rows, n_expert)
                                                 : binder.weight(t.name, cols, rows);
        const arch::Weight view = arch::Weight::view(gguf_matrix, n_expert);
        REQUIRE(packed.is_repacked());
        const int64_t m = 5;
        std::vector<float> x(static_cast<size_t>(m * cols));
        for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(static_cast<int>(i * 37 % 101) - 50) / 50.0f;
        kernels::Activations act;
        act.prepare(t.type, x.data(), m, cols);
        std::vector<float> a(static_cast<size_t>(m * rows)), b(a.size());
        for (int64_t e = 0; e < n_expert; ++e) {
            view.expert(e).matmul(act, a.data(), rows, 0, rows);
            packed.expert(e).matmul(act, b.data(), rows, 0, rows);
            double max_diff = 0, max_abs = 0;
            for (size_t i = 0; i < a.size(); ++i) {
                max_diff = std::max(max_diff, std::fabs(double(a[i]) - b[i]));
                max_abs = std::max(max_abs, std::fabs(double(a[i])));
            }
            INFO(t.name << " expert " << e << ": max |diff| " << max_diff << " of max |y| " << max_abs);
            CHECK(max_diff <= 1e-5 * max_abs);
        }
        ++checked;
    }
    // The file's weight type decides (a CPU may have repacked kernels for some types only).
    const TensorType file_type = wtype == "q8_0" ? TensorType::Q8_0 : wtype == "q4_0" ? TensorType::Q4_0 : TensorType::F16;
    if (!kernels::repacked_kernel_available(file_type)) SUCCEED("no repacked kernel for " << wtype << " on this CPU");
    else CHECK(checked >= 4);
}

// (LoadOptions::repack reaches the binder as WeightOptions; the whole-model test below loads both ways.)
TEST_CASE("repack off keeps every weight in GGUF layout", "[repack]") {
    const auto f = gguf::File::open(test::synthetic_model("gpt2", "q4_0"));
    const int64_t C = f.get_int("gpt2.embedding_length", 0);
    const auto bind = [&](bool repack) {
        arch::WeightOptions o;
        o.repack = repack;
        return arch::TensorBinder(f, o).weight("blk.0.attn_output.weight", C, C);
    };
    CHECK_FALSE(bind(false).is_repacked());
    // Releasing pages of the mapped file is harmless: they are read back from the file.
    CHECK(bind(true).is_repacked() == kernels::repacked_kernel_available(TensorType::Q4_0));
}

// Whole models. The products above differ only in float rounding (~1e-6), but the next layer
// quantizes its input to INT8, and a value that close to a rounding boundary moves one step: from
// then on the two runs differ by about as much as any INT8 activation run differs from the float
// reference (GPT-2 tiny Q8_0: identical to 4e-6 for the first 5 positions, then ~0.04 of std).
// So the bound here is the one the model tests use against the reference for quantized weights.
TEST_CASE("models give the same logits with repacked and GGUF weights", "[repack][gpt2][gpt-oss]") {
    const std::string arch = GENERATE(as<std::string>{}, "gpt2", "gpt-oss");
    const std::string wtype = GENERATE(as<std::string>{}, "q8_0", "q4_0", "f16");
    const std::string path = test::synthetic_model(arch, wtype);
    std::vector<int32_t> tokens;
    for (int i = 0; i < 20; ++i) tokens.push_back((i * 7919 + 13) % 50000);
    const std::vector<float> gguf_layout = prefill_logits(path, tokens, false);
    const std::vector<float> repacked = prefill_logits(path, tokens, true);
    const int64_t n_vocab = static_cast<int64_t>(repacked.size() / tokens.size());
    const auto e = test::compare_logits(repacked, gguf_layout, n_vocab);
    INFO(arch << " " << wtype << ": max|diff| " << e.max_abs << ", std " << e.ref_std << ", rel " << e.rel());
    CHECK(e.rel() <= 0.08);
    CHECK(e.top1_agree >= e.rows - 1);
    // F16 prefill on AMX-BF16 (kernels/matmul_f16_amx.h, from kF16AmxMinRows tokens): the
    // repacked layout then runs the split-precision kernel, which rounds differently from the GGUF
    // layout's FMA kernel (measured 3.4e-5 at the first position, GPT-2 3.5e-5 overall). In GPT-OSS
    // that difference flips a near-tied router choice at a later position of this random tiny
    // model (measured 0.066 overall; tests/engine/f16_amx_model_test.cpp checks the AMX path
    // against the reference as the INT8 paths are checked), so only the 0.08 bound above applies.
    const bool f16_amx = wtype == "f16" && static_cast<int64_t>(tokens.size()) >= kernels::kF16AmxMinRows &&
                         kernels::active_amx_bf16() && kernels::active_avx512_bf16();
    // F16 activations stay float (nothing is quantized): the two layouts differ by float rounding
    // at every position (measured ~5e-6).
    if (wtype == "f16" && !(f16_amx && arch == "gpt-oss")) CHECK(e.rel() <= 1e-4);
    // At the first position only that token's own activations are quantized, and in these models
    // none of them sits close enough to a rounding boundary to move: float rounding only.
    const auto first = test::compare_logits(std::span(repacked).first(n_vocab), std::span(gguf_layout).first(n_vocab),
                                            n_vocab);
    INFO("first position: rel " << first.rel());
    // (F16 on AMX-BF16: split-precision rounding, see above. F16 panels sum each output in one FMA
    // chain over the columns, the GGUF layout in 8 or 16 lanes then a horizontal sum: with AVX2's 8
    // lanes the two differ more, measured 1.02e-5 for GPT-OSS, 5e-6 with AVX-512.)
    CHECK(first.rel() <= (f16_amx ? 1e-4 : wtype == "f16" ? 2e-5 : 1e-5));
    WARN(arch << " tiny " << wtype << " repacked vs GGUF layout: max|diff|/std " << e.rel() << ", first position "
              << first.rel());
}
