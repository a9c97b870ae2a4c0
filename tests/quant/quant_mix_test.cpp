// The per-tensor type rules of the quantization mixes (quant/quant_mix.h) on the tensor tables of
// GPT-2 124M and GPT-OSS-20B, against the choices llama.cpp's llama-quantize makes.
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <set>

#include "quant/quant_mix.h"

using silica::TensorShape;
using silica::TensorType;

namespace {

TensorShape tensor(const std::string& name, TensorType type, std::vector<int64_t> dims) {
    TensorShape t{name, type, static_cast<uint32_t>(dims.size()), {1, 1, 1, 1}};
    for (size_t i = 0; i < dims.size(); ++i) t.ne[i] = dims[i];
    return t;
}

// GPT-2 124M as llama.cpp's converter writes it (F32 weights), optionally without output.weight.
std::vector<TensorShape> gpt2_124m(bool with_output) {
    const int64_t C = 768, F = 3072, V = 50257;
    std::vector<TensorShape> ts = {tensor("token_embd.weight", TensorType::F32, {C, V}),
                                   tensor("position_embd.weight", TensorType::F32, {C, 1024})};
    for (int l = 0; l < 12; ++l) {
        const std::string b = "blk." + std::to_string(l) + ".";
        ts.push_back(tensor(b + "attn_norm.weight", TensorType::F32, {C}));
        ts.push_back(tensor(b + "attn_norm.bias", TensorType::F32, {C}));
        ts.push_back(tensor(b + "attn_qkv.weight", TensorType::F32, {C, 3 * C}));
        ts.push_back(tensor(b + "attn_qkv.bias", TensorType::F32, {3 * C}));
        ts.push_back(tensor(b + "attn_output.weight", TensorType::F32, {C, C}));
        ts.push_back(tensor(b + "ffn_up.weight", TensorType::F32, {C, F}));
        ts.push_back(tensor(b + "ffn_down.weight", TensorType::F32, {F, C}));
        ts.push_back(tensor(b + "ffn_down.bias", TensorType::F32, {C}));
    }
    ts.push_back(tensor("output_norm.weight", TensorType::F32, {C}));
    if (with_output) ts.push_back(tensor("output.weight", TensorType::F32, {C, V}));
    return ts;
}

// GPT-OSS-20B: 24 layers, 32 MXFP4 experts, rows of 2880 (not a multiple of 256).
std::vector<TensorShape> gpt_oss_20b() {
    const int64_t C = 2880, Q = 4096, KV = 512, F = 2880, E = 32, V = 201088;
    std::vector<TensorShape> ts = {tensor("token_embd.weight", TensorType::BF16, {C, V})};
    for (int l = 0; l < 24; ++l) {
        const std::string b = "blk." + std::to_string(l) + ".";
        ts.push_back(tensor(b + "attn_norm.weight", TensorType::F32, {C}));
        ts.push_back(tensor(b + "attn_q.weight", TensorType::BF16, {C, Q}));
        ts.push_back(tensor(b + "attn_k.weight", TensorType::BF16, {C, KV}));
        ts.push_back(tensor(b + "attn_v.weight", TensorType::BF16, {C, KV}));
        ts.push_back(tensor(b + "attn_output.weight", TensorType::BF16, {Q, C}));
        ts.push_back(tensor(b + "attn_sinks.weight", TensorType::F32, {64}));
        ts.push_back(tensor(b + "post_attention_norm.weight", TensorType::F32, {C}));
        ts.push_back(tensor(b + "ffn_gate_inp.weight", TensorType::F32, {C, E}));
        ts.push_back(tensor(b + "ffn_gate_exps.weight", TensorType::MXFP4, {C, F, E}));
        ts.push_back(tensor(b + "ffn_up_exps.weight", TensorType::MXFP4, {C, F, E}));
        ts.push_back(tensor(b + "ffn_down_exps.weight", TensorType::MXFP4, {F, C, E}));
        ts.push_back(tensor(b + "ffn_down_exps.bias", TensorType::F32, {C, E}));
    }
    ts.push_back(tensor("output_norm.weight", TensorType::F32, {C}));
    ts.push_back(tensor("output.weight", TensorType::BF16, {C, V}));
    return ts;
}

// name -> chosen type.
std::map<std::string, silica::TypeChoice> choose(const std::string& mix, const std::vector<TensorShape>& ts,
                                                 silica::ModelShape model, bool pure = false) {
    const auto m = silica::find_quant_mix(mix);
    REQUIRE(m);
    const auto choices = silica::choose_tensor_types(*m, ts, model, pure);
    REQUIRE(choices.size() == ts.size());
    std::map<std::string, silica::TypeChoice> out;
    for (size_t i = 0; i < ts.size(); ++i) out.emplace(ts[i].name, choices[i]);
    return out;
}

TensorType type_of(const std::map<std::string, silica::TypeChoice>& c, const std::string& name) {
    auto it = c.find(name);
    REQUIRE(it != c.end());
    return it->second.type;
}

std::string blk(int l, const std::string& rest) { return "blk." + std::to_string(l) + "." + rest; }

// The "use more bits" layers of a 12-layer model: first and last eighth, and every third between.
const std::set<int> kMoreBits12 = {0, 3, 6, 9, 10, 11};

}  // namespace

TEST_CASE("quant mix names: llama-quantize's spellings, case-insensitive, with its aliases", "[quant_mix]") {
    CHECK(silica::find_quant_mix("q4_k_m")->file_type == 15);
    CHECK(silica::find_quant_mix("Q4_K")->name == "Q4_K_M");
    CHECK(silica::find_quant_mix("q5_k")->name == "Q5_K_M");
    CHECK(silica::find_quant_mix("Q4_K_S")->file_type == 14);
    CHECK(silica::find_quant_mix("Q5_K_S")->file_type == 16);
    CHECK(silica::find_quant_mix("Q5_K_M")->file_type == 17);
    CHECK(silica::find_quant_mix("q6_k")->file_type == 18);
    CHECK(silica::find_quant_mix("Q8_0")->file_type == 7);
    CHECK(silica::find_quant_mix("q4_0")->file_type == 2);
    CHECK(silica::find_quant_mix("q4_1")->file_type == 3);
    CHECK(silica::find_quant_mix("q5_0")->file_type == 8);
    CHECK(silica::find_quant_mix("q5_1")->file_type == 9);
    CHECK(silica::find_quant_mix("f16")->file_type == 1);
    CHECK(silica::find_quant_mix("bf16")->file_type == 32);
    CHECK(silica::find_quant_mix("F32")->file_type == 0);
    CHECK_FALSE(silica::find_quant_mix("q3"));
    CHECK_FALSE(silica::find_quant_mix(""));
    CHECK_FALSE(silica::find_quant_mix("Q4_K_MM"));
}

TEST_CASE("quant mix: tensors that are never quantized keep their type", "[quant_mix]") {
    const auto ts = gpt2_124m(true);
    for (const char* mix : {"Q4_0", "Q4_K_M", "Q6_K", "F16"}) {
        const auto c = choose(mix, ts, {12, 0});
        CHECK(type_of(c, "position_embd.weight") == TensorType::F32);
        CHECK(type_of(c, "output_norm.weight") == TensorType::F32);
        CHECK(type_of(c, "blk.3.attn_norm.bias") == TensorType::F32);
        CHECK(type_of(c, "blk.3.attn_qkv.bias") == TensorType::F32);
    }
    const auto oss = choose("Q4_K_M", gpt_oss_20b(), {24, 32});
    CHECK(type_of(oss, "blk.0.ffn_gate_inp.weight") == TensorType::F32);  // the router
    CHECK(type_of(oss, "blk.0.attn_sinks.weight") == TensorType::F32);
    CHECK(type_of(oss, "blk.0.ffn_down_exps.bias") == TensorType::F32);  // 2-D, but a bias
}

TEST_CASE("quant mix: GPT-2 124M at the uniform types", "[quant_mix]") {
    const auto ts = gpt2_124m(true);
    SECTION("Q8_0: every weight, the output too") {
        const auto c = choose("Q8_0", ts, {12, 0});
        for (const char* n : {"token_embd.weight", "output.weight", "blk.0.attn_qkv.weight", "blk.11.ffn_down.weight"})
            CHECK(type_of(c, n) == TensorType::Q8_0);
    }
    SECTION("Q4_0 / Q4_1 / Q5_0 / Q5_1: the output matrix is Q6_K, the token embedding is not") {
        for (auto [mix, base] : {std::pair{"Q4_0", TensorType::Q4_0}, std::pair{"Q4_1", TensorType::Q4_1},
                                 std::pair{"Q5_0", TensorType::Q5_0}, std::pair{"Q5_1", TensorType::Q5_1}}) {
            const auto c = choose(mix, ts, {12, 0});
            CHECK(type_of(c, "output.weight") == TensorType::Q6_K);
            CHECK(type_of(c, "token_embd.weight") == base);
            CHECK(type_of(c, "blk.0.attn_qkv.weight") == base);
            CHECK(type_of(c, "blk.0.ffn_down.weight") == base);
        }
    }
    SECTION("Q6_K: everything Q6_K") {
        const auto c = choose("Q6_K", ts, {12, 0});
        for (const char* n : {"token_embd.weight", "output.weight", "blk.0.attn_qkv.weight", "blk.5.ffn_up.weight"})
            CHECK(type_of(c, n) == TensorType::Q6_K);
    }
    SECTION("F16 / BF16 / F32: plain conversion of every weight, no rules") {
        for (auto [mix, t] : {std::pair{"F16", TensorType::F16}, std::pair{"BF16", TensorType::BF16},
                              std::pair{"F32", TensorType::F32}}) {
            const auto c = choose(mix, ts, {12, 0});
            CHECK(type_of(c, "output.weight") == t);
            CHECK(type_of(c, "token_embd.weight") == t);
            CHECK(type_of(c, "blk.0.attn_qkv.weight") == t);
        }
    }
}

TEST_CASE("quant mix: GPT-2 124M at the K mixes", "[quant_mix]") {
    const auto ts = gpt2_124m(true);
    SECTION("Q4_K_M / Q5_K_M: attn_qkv and ffn_down Q6_K in the use-more-bits layers") {
        for (auto [mix, base] : {std::pair{"Q4_K_M", TensorType::Q4_K}, std::pair{"Q5_K_M", TensorType::Q5_K}}) {
            const auto c = choose(mix, ts, {12, 0});
            for (int l = 0; l < 12; ++l) {
                const TensorType more = kMoreBits12.count(l) ? TensorType::Q6_K : base;
                CHECK(type_of(c, blk(l, "attn_qkv.weight")) == more);
                CHECK(type_of(c, blk(l, "ffn_down.weight")) == more);
                CHECK(type_of(c, blk(l, "attn_output.weight")) == base);
                CHECK(type_of(c, blk(l, "ffn_up.weight")) == base);
            }
            CHECK(type_of(c, "output.weight") == TensorType::Q6_K);
            CHECK(type_of(c, "token_embd.weight") == base);  // untied: output.weight is present
        }
    }
    SECTION("Q4_K_S: the first 4 attn_qkv and the first eighth of ffn_down get Q5_K") {
        const auto c = choose("Q4_K_S", ts, {12, 0});
        for (int l = 0; l < 12; ++l) {
            CHECK(type_of(c, blk(l, "attn_qkv.weight")) == (l < 4 ? TensorType::Q5_K : TensorType::Q4_K));
            CHECK(type_of(c, blk(l, "ffn_down.weight")) == (l < 1 ? TensorType::Q5_K : TensorType::Q4_K));
        }
        CHECK(type_of(c, "output.weight") == TensorType::Q6_K);
    }
    SECTION("Q5_K_S: only the output matrix differs") {
        const auto c = choose("Q5_K_S", ts, {12, 0});
        for (int l = 0; l < 12; ++l) {
            CHECK(type_of(c, blk(l, "attn_qkv.weight")) == TensorType::Q5_K);
            CHECK(type_of(c, blk(l, "ffn_down.weight")) == TensorType::Q5_K);
        }
        CHECK(type_of(c, "output.weight") == TensorType::Q6_K);
    }
    SECTION("--pure: the base type everywhere, output included") {
        const auto c = choose("Q4_K_M", ts, {12, 0}, true);
        CHECK(type_of(c, "output.weight") == TensorType::Q4_K);
        CHECK(type_of(c, "blk.0.attn_qkv.weight") == TensorType::Q4_K);
        CHECK(type_of(c, "blk.0.ffn_down.weight") == TensorType::Q4_K);
        CHECK(type_of(c, "position_embd.weight") == TensorType::F32);
    }
}

TEST_CASE("quant mix: a tied token embedding (no output.weight) is treated as the output", "[quant_mix]") {
    const auto ts = gpt2_124m(false);
    CHECK(type_of(choose("Q4_K_M", ts, {12, 0}), "token_embd.weight") == TensorType::Q6_K);
    CHECK(type_of(choose("Q4_0", ts, {12, 0}), "token_embd.weight") == TensorType::Q6_K);
    CHECK(type_of(choose("Q8_0", ts, {12, 0}), "token_embd.weight") == TensorType::Q8_0);
    CHECK(type_of(choose("F16", ts, {12, 0}), "token_embd.weight") == TensorType::F16);
}

TEST_CASE("quant mix: GPT-OSS-20B rows of 2880 fall back from K types to 32-blocks", "[quant_mix]") {
    const auto ts = gpt_oss_20b();
    SECTION("Q4_K_M") {
        const auto c = choose("Q4_K_M", ts, {24, 32});
        // 2880 is not a multiple of the base type's 256: the output goes straight to Q8_0.
        CHECK(type_of(c, "output.weight") == TensorType::Q8_0);
        CHECK_FALSE(c.at("output.weight").fallback);
        CHECK(type_of(c, "token_embd.weight") == TensorType::Q5_0);  // Q4_K -> Q5_0
        CHECK(c.at("token_embd.weight").fallback);
        // Use-more-bits layers of 24: 0-2, 21-23 and 5, 8, ..., 20; there attn_v is Q6_K -> Q8_0.
        const std::set<int> more = {0, 1, 2, 5, 8, 11, 14, 17, 20, 21, 22, 23};
        for (int l = 0; l < 24; ++l) {
            CHECK(type_of(c, blk(l, "attn_v.weight")) == (more.count(l) ? TensorType::Q8_0 : TensorType::Q5_0));
            CHECK(type_of(c, blk(l, "attn_q.weight")) == TensorType::Q5_0);
            CHECK(type_of(c, blk(l, "attn_k.weight")) == TensorType::Q5_0);
            CHECK(type_of(c, blk(l, "attn_output.weight")) == TensorType::Q4_K);  // rows of 4096
            CHECK(type_of(c, blk(l, "ffn_gate_exps.weight")) == TensorType::MXFP4);
            CHECK(type_of(c, blk(l, "ffn_up_exps.weight")) == TensorType::MXFP4);
            CHECK(type_of(c, blk(l, "ffn_down_exps.weight")) == TensorType::MXFP4);
        }
    }
    SECTION("Q5_K_S -> Q5_1, Q6_K -> Q8_0") {
        const auto c5 = choose("Q5_K_S", ts, {24, 32});
        CHECK(type_of(c5, "blk.7.attn_q.weight") == TensorType::Q5_1);
        CHECK(type_of(c5, "blk.7.attn_output.weight") == TensorType::Q5_K);
        const auto c6 = choose("Q6_K", ts, {24, 32});
        CHECK(type_of(c6, "blk.7.attn_q.weight") == TensorType::Q8_0);
        CHECK(type_of(c6, "blk.7.attn_output.weight") == TensorType::Q6_K);
        CHECK(type_of(c6, "output.weight") == TensorType::Q8_0);
    }
    SECTION("rows that are not even a multiple of 32 stay F16") {
        const std::vector<TensorShape> odd = {tensor("blk.0.attn_q.weight", TensorType::F32, {100, 64})};
        const auto c = choose("Q4_K_M", odd, {1, 0});
        CHECK(type_of(c, "blk.0.attn_q.weight") == TensorType::F16);
        CHECK(type_of(choose("Q8_0", odd, {1, 0}), "blk.0.attn_q.weight") == TensorType::F16);
    }
}

TEST_CASE("quant mix: 8-expert models keep attn_v and attn_k at Q8_0 (llama.cpp's Mixtral rule)", "[quant_mix]") {
    std::vector<TensorShape> ts;
    for (int l = 0; l < 4; ++l) {
        ts.push_back(tensor(blk(l, "attn_v.weight"), TensorType::F16, {4096, 1024}));
        ts.push_back(tensor(blk(l, "attn_k.weight"), TensorType::F16, {4096, 1024}));
        ts.push_back(tensor(blk(l, "attn_output.weight"), TensorType::F16, {4096, 4096}));
        ts.push_back(tensor(blk(l, "ffn_down_exps.weight"), TensorType::F16, {14336, 4096, 8}));
    }
    const auto c = choose("Q4_K_M", ts, {4, 8});
    CHECK(type_of(c, "blk.2.attn_v.weight") == TensorType::Q8_0);
    CHECK(type_of(c, "blk.2.attn_k.weight") == TensorType::Q8_0);
    CHECK(type_of(c, "blk.2.attn_output.weight") == TensorType::Q5_K);
    // ffn_down of an MoE: the layer comes from the name (of 4 layers, 2 and 3 get more bits).
    CHECK(type_of(c, "blk.0.ffn_down_exps.weight") == TensorType::Q4_K);
    CHECK(type_of(c, "blk.1.ffn_down_exps.weight") == TensorType::Q4_K);
    CHECK(type_of(c, "blk.2.ffn_down_exps.weight") == TensorType::Q6_K);
    CHECK(type_of(c, "blk.3.ffn_down_exps.weight") == TensorType::Q6_K);
}

TEST_CASE("quant mix: the attn_v count follows layer order, not file order", "[quant_mix]") {
    // Layers listed 10, 2, 1, ... must count as 1, 2, ..., 10 (llama.cpp orders by layer number).
    auto ts = gpt2_124m(true);
    std::reverse(ts.begin(), ts.end());
    const auto c = choose("Q4_K_M", ts, {12, 0});
    for (int l = 0; l < 12; ++l)
        CHECK(type_of(c, blk(l, "attn_qkv.weight")) == (kMoreBits12.count(l) ? TensorType::Q6_K : TensorType::Q4_K));
}
