// silica-convert's library side (convert::convert_gpt2): the tiny Hugging Face GPT-2 of
// tests/data/hf-gpt2-tiny (tools/train/make_test_checkpoint.py) converted and run through the
// engine must give PyTorch's logits; the checkpoint variants the converter accepts (a
// `transformer.` prefix, an explicit or separate lm_head, F16/BF16 weights) are written from it here;
// the GGUF has synth's (llama.cpp's) keys, tensor names and types; and every defect is one error line.
#include <catch2/catch.hpp>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "engine/convert/gpt2_from_hf.h"
#include "engine/gguf/gguf.h"
#include "engine/safetensors/safetensors.h"
#include "quant/fp16.h"
#include "silica/error.h"
#include "silica/model.h"
#include "silica/session.h"
#include "tests/engine/model_test_util.h"
#include "tests/engine/npy_read.h"
#include "tests/fuzz/safetensors_bytes.h"

using namespace silica;
namespace fs = std::filesystem;
namespace stt = silica::safetensors::testing;
using Catch::Matchers::Contains;
using Catch::Matchers::Equals;
using Catch::Matchers::StartsWith;

namespace {

const std::string kTiny = std::string(SILICA_TEST_DATA_DIR) + "/hf-gpt2-tiny";

fs::path work_dir() {
    static const fs::path dir = [] {
        const fs::path d = fs::temp_directory_path() / ("silica-hf-convert-" + std::to_string(::getpid()));
        fs::create_directories(d);
        return d;
    }();
    struct RemoveAtExit {
        fs::path path;
        ~RemoveAtExit() {
            std::error_code ignored;
            fs::remove_all(path, ignored);
        }
    };
    static const RemoveAtExit remove_at_exit{dir};
    return dir;
}

// How a variant changes the fixture's tensors.
struct Variant {
    std::string prefix;            // prepended to every name ("transformer.")
    std::string dtype = "F32";     // F32, F16, BF16
    float lm_head_scale = 0.0f;    // nonzero: write lm_head.weight = scale * wte
    bool mask_buffers = false;     // add h.N.attn.bias / attn.masked_bias, as older checkpoints have
};

std::vector<uint8_t> encode(const std::vector<float>& x, const std::string& dtype) {
    std::vector<uint8_t> out;
    if (dtype == "F32") {
        out.resize(x.size() * 4);
        std::memcpy(out.data(), x.data(), out.size());
        return out;
    }
    out.resize(x.size() * 2);
    for (size_t i = 0; i < x.size(); ++i) {
        const uint16_t h = dtype == "F16" ? f32_to_fp16(x[i]) : f32_to_bf16(x[i]);
        std::memcpy(out.data() + 2 * i, &h, 2);
    }
    return out;
}

// A copy of the tiny checkpoint directory with its model.safetensors rewritten per `v`, and
// config.json edited by `edit_config` (text replacement) when given.
std::string make_variant(const std::string& name, const Variant& v,
                         const std::pair<std::string, std::string>& edit_config = {}) {
    const fs::path dir = work_dir() / name;
    fs::create_directories(dir);
    for (const char* f : {"vocab.json", "merges.txt"})
        fs::copy_file(fs::path(kTiny) / f, dir / f, fs::copy_options::overwrite_existing);
    std::ifstream in(fs::path(kTiny) / "config.json");
    std::string config((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!edit_config.first.empty()) {
        const size_t at = config.find(edit_config.first);
        REQUIRE(at != std::string::npos);
        config.replace(at, edit_config.first.size(), edit_config.second);
    }
    std::ofstream(dir / "config.json") << config;

    const auto src = safetensors::File::open(kTiny + "/model.safetensors");
    std::vector<stt::Tensor> tensors;
    for (const auto& t : src.tensors()) {
        std::vector<float> x(static_cast<size_t>(t.n_elements()));
        std::memcpy(x.data(), t.data, x.size() * 4);  // the fixture is F32
        tensors.push_back({v.prefix + t.name, v.dtype, t.shape, encode(x, v.dtype)});
        if (v.mask_buffers && t.name.ends_with(".ln_1.weight")) {
            const std::string layer = t.name.substr(0, t.name.size() - 12);
            tensors.push_back({v.prefix + layer + ".attn.bias", v.dtype, {1, 1, 32, 32}, encode(std::vector<float>(1024, 1.0f), v.dtype)});
            tensors.push_back({v.prefix + layer + ".attn.masked_bias", v.dtype, {}, encode({-1e4f}, v.dtype)});
        }
        if (t.name == "wte.weight" && v.lm_head_scale != 0.0f) {
            for (float& y : x) y *= v.lm_head_scale;
            tensors.push_back({"lm_head.weight", v.dtype, t.shape, encode(x, v.dtype)});
        }
    }
    stt::write_file((dir / "model.safetensors").string(), stt::build(tensors, R"({"format":"pt"})"));
    return dir.string();
}

std::string convert_to(const std::string& dir, const std::string& outtype, const std::string& tag = "") {
    const std::string out = (work_dir() / (fs::path(dir).filename().string() + "-" + outtype + tag + ".gguf")).string();
    convert::convert_gpt2(dir, out, {outtype, {}});
    return out;
}

// Silica's logits (f32 KV cache, every position) for `tokens`.
std::vector<float> silica_logits(const std::string& gguf, const std::vector<int32_t>& tokens) {
    auto model = Model::load(gguf);
    SessionOptions so;
    so.kv_type = KvType::F32;
    so.n_threads = 2;
    Session s(model, so);
    return test::decode_all_logits(s, tokens);
}

// max|silica - reference| / std(reference) over all positions of a checkpoint's reference files.
double reference_error(const std::string& gguf, const std::string& ref_dir, float scale = 1.0f) {
    const auto tokens = test::read_npy<int32_t>(ref_dir + "/reference_tokens.npy", "<i4");
    auto ref = test::read_npy<float>(ref_dir + "/reference_logits.npy", "<f4");
    REQUIRE(ref.shape.size() == 2);
    REQUIRE(ref.shape[0] == static_cast<int64_t>(tokens.data.size()));
    for (float& x : ref.data) x *= scale;
    const auto fast = silica_logits(gguf, tokens.data);
    REQUIRE(fast.size() == ref.data.size());
    const auto e = test::compare_logits(fast, ref.data, ref.shape[1]);
    std::printf("%s: max|diff| / std(ref) = %.3g (max|diff| %.3g, std %.3g), top-1 agrees on %d/%d\n",
                fs::path(gguf).filename().c_str(), e.rel(), e.max_abs, e.ref_std, e.top1_agree, e.rows);
    return e.rel();
}

std::string convert_error(const std::string& dir, const std::string& outtype = "f32") {
    try {
        convert::convert_gpt2(dir, (work_dir() / "error.gguf").string(), {outtype, {}});
    } catch (const Error& e) {
        const std::string msg = e.what();
        CHECK(msg.find('\n') == std::string::npos);
        return msg;
    }
    FAIL("conversion succeeded but should have failed");
    return {};
}

}  // namespace

TEST_CASE("hf convert: tiny GPT-2 (f32) gives PyTorch's logits", "[convert]") {
    const std::string gguf = convert_to(kTiny, "f32");
    CHECK(reference_error(gguf, kTiny) <= 1e-4);
}

TEST_CASE("hf convert: variants of the checkpoint give the same logits", "[convert]") {
    SECTION("transformer. prefix and the attention-mask buffers") {
        // Older checkpoints carry h.N.attn.bias / attn.masked_bias buffers: skipped.
        const std::string dir = make_variant("prefixed", {"transformer.", "F32", 0.0f, true});
        CHECK(reference_error(convert_to(dir, "f32"), kTiny) <= 1e-4);
    }
    SECTION("an explicit lm_head equal to wte is the tied matrix") {
        const std::string dir = make_variant("explicit-lm-head", {"", "F32", 1.0f});
        const std::string out = (work_dir() / "explicit.gguf").string();
        CHECK_FALSE(convert::convert_gpt2(dir, out, {"f32", {}}).separate_output);
        CHECK(reference_error(out, kTiny) <= 1e-4);
    }
    SECTION("a separate lm_head becomes output.weight") {
        // lm_head = 2 * wte: every logit doubles exactly.
        const std::string dir = make_variant("separate-lm-head", {"transformer.", "F32", 2.0f});
        const std::string out = (work_dir() / "separate.gguf").string();
        CHECK(convert::convert_gpt2(dir, out, {"f32", {}}).separate_output);
        CHECK(reference_error(out, kTiny, 2.0f) <= 1e-4);
    }
    SECTION("F16 weights") {
        // The weights themselves are rounded to F16 (relative 2^-11): the logits move by about that.
        CHECK(reference_error(convert_to(make_variant("f16-weights", {"", "F16"}), "f32"), kTiny) <= 1e-2);
    }
    SECTION("BF16 weights") {
        CHECK(reference_error(convert_to(make_variant("bf16-weights", {"", "BF16"}), "f32"), kTiny) <= 5e-2);
    }
}

TEST_CASE("hf convert: --outtype sets the weights' types as llama.cpp does", "[convert]") {
    auto types = [](const std::string& path) {
        std::map<std::string, TensorType> m;
        const gguf::File f = gguf::File::open(path);
        for (const auto& t : f.tensors()) m[t.name] = t.type;
        return m;
    };
    const auto f16 = types(convert_to(kTiny, "f16"));
    CHECK(f16.at("token_embd.weight") == TensorType::F16);
    CHECK(f16.at("output.weight") == TensorType::F16);
    CHECK(f16.at("blk.0.attn_qkv.weight") == TensorType::F16);
    CHECK(f16.at("blk.1.ffn_down.weight") == TensorType::F16);
    CHECK(f16.at("position_embd.weight") == TensorType::F32);  // llama.cpp keeps it F32
    CHECK(f16.at("blk.0.attn_norm.weight") == TensorType::F32);
    CHECK(f16.at("blk.0.attn_qkv.bias") == TensorType::F32);
    CHECK(f16.at("output_norm.bias") == TensorType::F32);
    CHECK(types(convert_to(kTiny, "bf16")).at("blk.0.ffn_up.weight") == TensorType::BF16);
    // Q8_0 needs rows of whole 32-value blocks: rows of n_embd = 16 fall back to F16, the rows of
    // ffn_down (n_ff = 64) are Q8_0.
    const std::string q8 = convert_to(kTiny, "q8_0");
    const auto q = types(q8);
    CHECK(q.at("blk.0.ffn_down.weight") == TensorType::Q8_0);
    CHECK(q.at("blk.0.ffn_up.weight") == TensorType::F16);
    CHECK(q.at("token_embd.weight") == TensorType::F16);
    CHECK(gguf::File::open(q8).get_int("general.file_type", -1) == 7);
    CHECK(gguf::File::open(convert_to(kTiny, "f16")).get_int("general.file_type", -1) == 1);
    CHECK(reference_error(convert_to(kTiny, "f16", "-again"), kTiny) <= 2e-2);
    CHECK(reference_error(q8, kTiny) <= 5e-2);
}

TEST_CASE("hf convert: metadata, tensor names and types match synth's gpt2 layout", "[convert]") {
    const gguf::File c = gguf::File::open(convert_to(kTiny, "f32", "-meta"));
    synth::Spec s;
    s.arch = "gpt2";
    s.preset = "tiny";
    s.wtype = "f32";
    s.n_layer = 2;
    s.tokenizer_dir = std::string(SILICA_SOURCE_DIR) + "/models/tokenizers";
    const std::string synth_path = (work_dir() / "synth-tiny-f32.gguf").string();
    synth::write_model(s, synth_path);
    const gguf::File y = gguf::File::open(synth_path);

    // Keys: synth's, plus two llama.cpp's converter always writes (synth leaves out
    // general.quantization_version for float files, and general.type).
    std::set<std::string> ck, yk;
    for (const auto& [k, v] : c.metadata()) ck.insert(k);
    for (const auto& [k, v] : y.metadata()) yk.insert(k);
    yk.insert("general.type");
    yk.insert("general.quantization_version");
    CHECK(ck == yk);
    for (const auto& [k, v] : y.metadata()) CHECK(c.find(k)->type() == v.type());

    REQUIRE(c.tensors().size() == y.tensors().size());
    for (size_t i = 0; i < c.tensors().size(); ++i) {
        CHECK(c.tensors()[i].name == y.tensors()[i].name);
        CHECK(c.tensors()[i].type == y.tensors()[i].type);
        CHECK(c.tensors()[i].n_dims == y.tensors()[i].n_dims);
    }
    // The same tokenizer arrays: vocab.json / merges.txt were written from synth's vocabulary.
    CHECK(c.get_string_array("tokenizer.ggml.tokens") == y.get_string_array("tokenizer.ggml.tokens"));
    CHECK(c.get_int_array("tokenizer.ggml.token_type") == y.get_int_array("tokenizer.ggml.token_type"));
    CHECK(c.get_string_array("tokenizer.ggml.merges") == y.get_string_array("tokenizer.ggml.merges"));
    CHECK(c.get_int("tokenizer.ggml.eos_token_id", -1) == 50256);
    CHECK(c.get_int("tokenizer.ggml.bos_token_id", -1) == 50256);
    CHECK(c.get_string("tokenizer.ggml.pre", "") == "gpt-2");
    CHECK(c.get_int("gpt2.context_length", 0) == 32);
    CHECK(c.get_int("gpt2.embedding_length", 0) == 16);
    CHECK(c.get_int("gpt2.feed_forward_length", 0) == 64);
    CHECK(c.get_string("general.name", "") == "hf-gpt2-tiny");
    // Shapes in GGUF order: Conv1D weights transposed to [in, out] rows of `in` values.
    CHECK(c.tensor("blk.0.attn_qkv.weight")->ne[0] == 16);
    CHECK(c.tensor("blk.0.attn_qkv.weight")->ne[1] == 48);
    CHECK(c.tensor("blk.0.ffn_down.weight")->ne[0] == 64);
    CHECK(c.tensor("token_embd.weight")->ne[1] == 50257);
}

TEST_CASE("hf convert: every defect is one error line naming the file", "[convert]") {
    const std::string missing = (work_dir() / "no-such-dir").string();
    CHECK_THAT(convert_error(missing), Equals(missing + ": not a directory"));
    CHECK_THAT(convert_error(kTiny, "q4_0"), Contains("unknown outtype 'q4_0'"));

    const std::string dir = make_variant("defects", {});
    const std::string config = dir + "/config.json";
    std::ofstream(config) << "{\"model_type\": \"gpt2\",";
    CHECK_THAT(convert_error(dir), StartsWith(config + ": not valid JSON"));
    std::ofstream(config) << R"({"model_type": "llama"})";
    CHECK_THAT(convert_error(dir), Equals(config + ": unsupported model_type 'llama' (silica-convert converts gpt2)"));
    fs::remove(config);
    CHECK_THAT(convert_error(dir), Equals(config + ": cannot open"));

    const std::string wrong_layers = make_variant("three-layers", {}, {"\"n_layer\": 2", "\"n_layer\": 3"});
    CHECK_THAT(convert_error(wrong_layers), Equals(wrong_layers + "/model.safetensors: missing tensor 'h.2.ln_1.weight'"));
    const std::string one_layer = make_variant("one-layer", {}, {"\"n_layer\": 2", "\"n_layer\": 1"});
    CHECK_THAT(convert_error(one_layer), StartsWith(one_layer + "/model.safetensors: unexpected tensor 'h.1."));
    const std::string wide = make_variant("wide", {}, {"\"n_embd\": 16", "\"n_embd\": 32"});
    CHECK_THAT(convert_error(wide), Equals(wide + "/model.safetensors: tensor 'h.0.attn.c_attn.bias' has shape [48] but config.json implies [96]"));
    const std::string small_vocab = make_variant("small-vocab", {}, {"\"vocab_size\": 50257", "\"vocab_size\": 50000"});
    CHECK_THAT(convert_error(small_vocab), Equals(small_vocab + "/vocab.json: 50257 tokens, more than config.json's vocab_size 50000"));

    const std::string bad_st = make_variant("bad-safetensors", {});
    fs::resize_file(bad_st + "/model.safetensors", 4096);
    CHECK_THAT(convert_error(bad_st), StartsWith(bad_st + "/model.safetensors: tensor '"));
    CHECK_THAT(convert_error(bad_st), Contains("truncated file?"));
    fs::remove(bad_st + "/merges.txt");
    CHECK_THAT(convert_error(bad_st), Equals(bad_st + "/merges.txt: cannot open"));
}

// Opt-in (ctest -L trained): a real trained checkpoint written by tools/train (hf_export), with
// reference_tokens.npy / reference_logits.npy of 64 tokens, named by SILICA_TRAINED_HF_DIR.
TEST_CASE("hf convert: trained checkpoint gives PyTorch's logits", "[.trained]") {
    const char* dir = std::getenv("SILICA_TRAINED_HF_DIR");
    if (!dir) FAIL("SILICA_TRAINED_HF_DIR is not set");
    const std::string gguf = convert_to(dir, "f32", "-trained");
    CHECK(reference_error(gguf, dir) <= 1e-4);
}
