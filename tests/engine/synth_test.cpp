// synth writes files with the published models' exact layout: re-read every preset (except
// gpt-oss-20b, ~12 GB) and check names, shapes, types and metadata, then bind it as a model.
#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <unistd.h>

#include "engine/gguf/gguf.h"
#include "engine/model_impl.h"
#include "engine/synth/synthetic_model.h"

using namespace silica;

namespace {

std::string write(const std::string& arch, const std::string& preset, const std::string& wtype, int64_t n_layer = 0) {
    const auto dir = std::filesystem::temp_directory_path() / ("silica-synth-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const auto path = (dir / (arch + "-" + preset + "-" + wtype + ".gguf")).string();
    synth::Spec s;
    s.arch = arch;
    s.preset = preset;
    s.wtype = wtype;
    s.n_layer = n_layer;
    s.tokenizer_dir = std::string(SILICA_SOURCE_DIR) + "/models/tokenizers";
    synth::write_model(s, path);
    return path;
}

void check_tensor(const gguf::File& f, const std::string& name, TensorType type, std::vector<int64_t> dims) {
    INFO("tensor " << name);
    const gguf::TensorInfo* t = f.tensor(name);
    REQUIRE(t != nullptr);
    CHECK(t->type == type);
    REQUIRE(t->n_dims == dims.size());
    for (size_t i = 0; i < dims.size(); ++i) CHECK(t->ne[i] == dims[i]);
}

struct Gpt2Shape { int64_t C, L, H, ctx; };

void check_gpt2(const std::string& path, TensorType wt, Gpt2Shape s) {
    const auto f = gguf::File::open(path);
    CHECK(f.get_string("general.architecture", "") == "gpt2");
    CHECK(f.get_int("gpt2.embedding_length", 0) == s.C);
    CHECK(f.get_int("gpt2.block_count", 0) == s.L);
    CHECK(f.get_int("gpt2.attention.head_count", 0) == s.H);
    CHECK(f.get_int("gpt2.context_length", 0) == s.ctx);
    CHECK(f.get_int("gpt2.feed_forward_length", 0) == 4 * s.C);
    CHECK(f.get_float("gpt2.attention.layer_norm_epsilon", 0) == Approx(1e-5));
    CHECK(f.get_string("tokenizer.ggml.model", "") == "gpt2");
    CHECK(f.get_string("tokenizer.ggml.pre", "") == "gpt-2");
    CHECK(f.get_string_array("tokenizer.ggml.tokens").size() == 50257);
    CHECK(f.get_string_array("tokenizer.ggml.merges").size() == 50000);
    check_tensor(f, "token_embd.weight", wt, {s.C, 50257});
    check_tensor(f, "position_embd.weight", wt, {s.C, s.ctx});
    for (int64_t i = 0; i < s.L; ++i) {
        const std::string b = "blk." + std::to_string(i) + ".";
        check_tensor(f, b + "attn_norm.weight", TensorType::F32, {s.C});
        check_tensor(f, b + "attn_norm.bias", TensorType::F32, {s.C});
        check_tensor(f, b + "attn_qkv.weight", wt, {s.C, 3 * s.C});
        check_tensor(f, b + "attn_qkv.bias", TensorType::F32, {3 * s.C});
        check_tensor(f, b + "attn_output.weight", wt, {s.C, s.C});
        check_tensor(f, b + "attn_output.bias", TensorType::F32, {s.C});
        check_tensor(f, b + "ffn_norm.weight", TensorType::F32, {s.C});
        check_tensor(f, b + "ffn_norm.bias", TensorType::F32, {s.C});
        check_tensor(f, b + "ffn_up.weight", wt, {s.C, 4 * s.C});
        check_tensor(f, b + "ffn_up.bias", TensorType::F32, {4 * s.C});
        check_tensor(f, b + "ffn_down.weight", wt, {4 * s.C, s.C});
        check_tensor(f, b + "ffn_down.bias", TensorType::F32, {s.C});
    }
    check_tensor(f, "output_norm.weight", TensorType::F32, {s.C});
    check_tensor(f, "output_norm.bias", TensorType::F32, {s.C});
    check_tensor(f, "output.weight", wt, {s.C, 50257});
    // The converter's copy of the tied embedding: identical bytes.
    const auto* embd = f.tensor("token_embd.weight");
    const auto* out = f.tensor("output.weight");
    REQUIRE((embd && out && embd->nbytes == out->nbytes));
    CHECK(std::memcmp(embd->data, out->data, embd->nbytes) == 0);
    CHECK(f.tensors().size() == static_cast<size_t>(5 + 12 * s.L));
    auto model = Model::load(path);
    CHECK(model->params().n_layer == s.L);
    std::filesystem::remove(path);
}

}  // namespace

TEST_CASE("synth gpt2 tiny in every weight type re-reads with the converter's layout", "[synth]") {
    for (const auto& wtype : synth::weight_type_names()) {
        INFO("wtype " << wtype);
        check_gpt2(write("gpt2", "tiny", wtype), *type_from_name(wtype), {256, 2, 4, 128});
    }
}

TEST_CASE("synth gpt2 size presets re-read with the published shapes", "[synth][slow]") {
    check_gpt2(write("gpt2", "gpt2-124m", "q4_0"), TensorType::Q4_0, {768, 12, 12, 1024});
    check_gpt2(write("gpt2", "gpt2-355m", "q4_0"), TensorType::Q4_0, {1024, 24, 16, 1024});
    // The two largest with fewer layers: same per-layer shapes, a tenth of the bytes.
    check_gpt2(write("gpt2", "gpt2-774m", "q4_0", 2), TensorType::Q4_0, {1280, 2, 20, 1024});
    check_gpt2(write("gpt2", "gpt2-1558m", "q4_0", 2), TensorType::Q4_0, {1600, 2, 25, 1024});
}

TEST_CASE("synth gpt-oss tiny re-reads with the converter's layout", "[synth]") {
    const std::string wtype = GENERATE(as<std::string>{}, "q8_0", "f16", "bf16", "f32", "q4_0");
    const TensorType wt = *type_from_name(wtype);
    const auto path = write("gpt-oss", "tiny", wtype);
    const auto f = gguf::File::open(path);
    const std::string a = "gpt-oss.";
    CHECK(f.get_string("general.architecture", "") == "gpt-oss");
    if (wt == TensorType::Q8_0 || wt == TensorType::Q4_0) CHECK(f.get_int("general.file_type", 0) == 38);  // MXFP4 MoE
    const int64_t C = 128, H = 8, G = 2, hd = 32, F = 128, E = 8, V = 201088;
    CHECK(f.get_int(a + "embedding_length", 0) == C);
    CHECK(f.get_int(a + "attention.head_count", 0) == H);
    CHECK(f.get_int(a + "attention.head_count_kv", 0) == G);
    CHECK(f.get_int(a + "attention.key_length", 0) == hd);
    CHECK(f.get_int(a + "expert_count", 0) == E);
    CHECK(f.get_int(a + "expert_used_count", 0) == 4);
    CHECK(f.get_int(a + "attention.sliding_window", 0) == 4);
    CHECK(f.get_string(a + "rope.scaling.type", "") == "yarn");
    CHECK(f.get_float(a + "rope.scaling.factor", 0) == 32.0);
    CHECK(f.get_float(a + "rope.freq_base", 0) == 150000.0);
    CHECK(f.get_string("tokenizer.ggml.pre", "") == "gpt-4o");
    CHECK(f.get_string_array("tokenizer.ggml.tokens").size() == V);
    check_tensor(f, "token_embd.weight", wt, {C, V});
    check_tensor(f, "output.weight", wt, {C, V});
    check_tensor(f, "output_norm.weight", TensorType::F32, {C});
    for (int i = 0; i < 4; ++i) {
        const std::string b = "blk." + std::to_string(i) + ".";
        check_tensor(f, b + "attn_q.weight", wt, {C, H * hd});
        check_tensor(f, b + "attn_k.weight", wt, {C, G * hd});
        check_tensor(f, b + "attn_v.weight", wt, {C, G * hd});
        check_tensor(f, b + "attn_output.weight", wt, {H * hd, C});
        check_tensor(f, b + "attn_sinks.weight", TensorType::F32, {H});
        check_tensor(f, b + "post_attention_norm.weight", TensorType::F32, {C});
        check_tensor(f, b + "ffn_gate_inp.weight", wt, {C, E});
        check_tensor(f, b + "ffn_gate_inp.bias", TensorType::F32, {E});
        check_tensor(f, b + "ffn_gate_exps.weight", TensorType::MXFP4, {C, F, E});
        check_tensor(f, b + "ffn_up_exps.weight", TensorType::MXFP4, {C, F, E});
        check_tensor(f, b + "ffn_down_exps.weight", TensorType::MXFP4, {F, C, E});
        check_tensor(f, b + "ffn_gate_exps.bias", TensorType::F32, {F, E});
        check_tensor(f, b + "ffn_down_exps.bias", TensorType::F32, {C, E});
    }
    auto model = Model::load(path);
    CHECK(model->params().n_expert == E);
    std::filesystem::remove(path);
}

TEST_CASE("synth rejects unknown presets, types and impossible shapes", "[synth]") {
    synth::Spec s;
    s.arch = "gpt2";
    s.preset = "gpt2-9000b";
    s.tokenizer_dir = std::string(SILICA_SOURCE_DIR) + "/models/tokenizers";
    CHECK_THROWS_WITH(synth::write_model(s, "/tmp/never.gguf"), Catch::Contains("unknown preset"));
    s.preset = "tiny";
    s.wtype = "q3_z";
    CHECK_THROWS_WITH(synth::write_model(s, "/tmp/never.gguf"), Catch::Contains("unknown weight type"));
    s.arch = "gpt-oss";
    s.wtype = "q4_K";  // rows of 128 are not a multiple of 256
    CHECK_THROWS_WITH(synth::write_model(s, "/tmp/never.gguf"), Catch::Contains("block size"));
}
