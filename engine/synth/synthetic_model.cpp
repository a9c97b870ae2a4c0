#include "engine/synth/synthetic_model.h"

#include <cmath>
#include <filesystem>
#include <map>

#include "engine/gguf/gguf.h"
#include "engine/gguf/llama_conventions.h"
#include "engine/synth/random_weights.h"
#include "quant/quantize.h"
#include "silica/error.h"
#include "silica/tokenizer.h"

namespace silica::synth {
namespace {

struct Shape {
    int64_t n_vocab, n_ctx, n_embd, n_layer, n_head, n_head_kv, head_dim, n_ff, n_expert, n_expert_used, window;
    int64_t yarn_orig_ctx = 0;  // GPT-OSS: YaRN's original context
};

const std::map<std::string, Shape>& gpt2_presets() {
    static const std::map<std::string, Shape> p = {
        {"tiny", {50257, 128, 256, 2, 4, 4, 64, 1024, 0, 0, 0}},
        {"gpt2-124m", {50257, 1024, 768, 12, 12, 12, 64, 3072, 0, 0, 0}},
        {"gpt2-355m", {50257, 1024, 1024, 24, 16, 16, 64, 4096, 0, 0, 0}},
        {"gpt2-774m", {50257, 1024, 1280, 36, 20, 20, 64, 5120, 0, 0, 0}},
        {"gpt2-1558m", {50257, 1024, 1600, 48, 25, 25, 64, 6400, 0, 0, 0}},
    };
    return p;
}

const std::map<std::string, Shape>& gpt_oss_presets() {
    // tiny: a window of 4 and a YaRN original context of 64 so short test sequences cross both
    // (and the YaRN ramp needs the clamping a small original context causes).
    static const std::map<std::string, Shape> p = {
        {"tiny", {201088, 1024, 128, 4, 8, 2, 32, 128, 8, 4, 4, 64}},
        {"gpt-oss-20b", {201088, 131072, 2880, 24, 64, 8, 64, 2880, 32, 4, 128, 4096}},
    };
    return p;
}

// One tensor's recipe: values are (center + scale * uniform[-1,1)), quantized row by row.
struct Recipe {
    float center = 0.0f;
    float scale = 0.02f;
};

// Progress over all tensor bytes: tensors are added first (totals known), then written.
struct Progress {
    std::function<void(double)> report;
    uint64_t total = 0;
    uint64_t done = 0;
};

class ModelWriter {
public:
    ModelWriter(gguf::Writer& w, uint64_t seed, Progress& progress) : w_(w), seed_(seed), progress_(progress) {}

    // `stream` names the random stream (default: the tensor's own name); two tensors with the
    // same stream, type and shape hold the same bytes.
    void tensor(const std::string& name, TensorType type, std::vector<int64_t> dims, Recipe r,
                const std::string& stream = "") {
        const std::string stream_name = stream.empty() ? name : stream;
        const int64_t cols = dims[0];
        if (cols % type_traits(type).block_size != 0)
            throw Error("synth: tensor " + name + " has rows of " + std::to_string(cols) +
                        " values, not a multiple of the " + std::string(type_traits(type).name) + " block size");
        const uint64_t seed = seed_;
        Progress* progress = &progress_;
        int64_t n = 1;
        for (int64_t d : dims) n *= d;
        progress_.total += row_bytes(type_traits(type), n);
        w_.add_tensor(name, type, dims, [=](std::span<uint8_t> out) {
            Rng rng(seed, stream_name);
            const size_t rb = row_bytes(type_traits(type), cols);
            std::vector<float> row(static_cast<size_t>(cols));
            for (size_t off = 0; off < out.size(); off += rb) {
                for (auto& v : row) v = r.center + r.scale * rng.symmetric();
                quantize_row(type, row.data(), out.data() + off, cols);
            }
            progress->done += out.size();
            if (progress->report) progress->report(static_cast<double>(progress->done) / progress->total);
        });
    }

private:
    gguf::Writer& w_;
    uint64_t seed_;
    Progress& progress_;
};

TensorType parse_wtype(const std::string& name) {
    for (const auto& n : weight_type_names())
        if (n == name) return *type_from_name(name);
    std::string all;
    for (const auto& n : weight_type_names()) all += (all.empty() ? "" : ", ") + n;
    throw Error("synth: unknown weight type '" + name + "' (expected one of: " + all + ")");
}

const Shape& find_preset(const std::map<std::string, Shape>& presets, const Spec& s) {
    auto it = presets.find(s.preset);
    if (it == presets.end()) {
        std::string all;
        for (const auto& [n, _] : presets) all += (all.empty() ? "" : ", ") + n;
        throw Error("synth: unknown preset '" + s.preset + "' for " + s.arch + " (expected one of: " + all + ")");
    }
    return it->second;
}

void write_gpt2(const Spec& s, Shape p, gguf::Writer& w, Progress& progress) {
    const TensorType wt = parse_wtype(s.wtype);
    const BpeVocab vocab = load_vocab_file(s.tokenizer_dir + "/gpt2.vocab.gz");
    p.n_vocab = static_cast<int64_t>(vocab.tokens.size());
    w.set("general.architecture", "gpt2");
    w.set("general.name", "silica synthetic gpt2 " + s.preset);
    w.set_u32("gpt2.block_count", static_cast<uint32_t>(p.n_layer));
    w.set_u32("gpt2.context_length", static_cast<uint32_t>(p.n_ctx));
    w.set_u32("gpt2.embedding_length", static_cast<uint32_t>(p.n_embd));
    w.set_u32("gpt2.feed_forward_length", static_cast<uint32_t>(p.n_ff));
    w.set_u32("gpt2.attention.head_count", static_cast<uint32_t>(p.n_head));
    w.set_f32("gpt2.attention.layer_norm_epsilon", 1e-5f);
    w.set_u32("general.file_type", gguf::llama_file_type(wt, false));
    if (type_traits(wt).block_size > 1) w.set_u32("general.quantization_version", gguf::kQuantizationVersion);
    gguf::set_bpe_tokenizer(w, vocab);

    // Scales keep activations O(1) through the residual stream and logits unsaturated: each
    // matrix's outputs have a standard deviation of about 0.5 for unit-variance inputs.
    const int64_t C = p.n_embd, F = p.n_ff, V = p.n_vocab;
    const float sc = 0.5f * std::sqrt(3.0f / static_cast<float>(C));
    const float sf = 0.5f * std::sqrt(3.0f / static_cast<float>(F));
    ModelWriter m(w, s.seed, progress);
    // The token embedding is also the output matrix: 0.5 keeps logits at a std of a few units.
    m.tensor("token_embd.weight", wt, {C, V}, {0.0f, 0.5f});
    m.tensor("position_embd.weight", wt, {C, p.n_ctx}, {0.0f, 0.2f});
    for (int64_t i = 0; i < p.n_layer; ++i) {
        const std::string b = "blk." + std::to_string(i) + ".";
        m.tensor(b + "attn_norm.weight", TensorType::F32, {C}, {1.0f, 0.2f});
        m.tensor(b + "attn_norm.bias", TensorType::F32, {C}, {0.0f, 0.1f});
        m.tensor(b + "attn_qkv.weight", wt, {C, 3 * C}, {0.0f, 2.0f * sc});
        m.tensor(b + "attn_qkv.bias", TensorType::F32, {3 * C}, {0.0f, 0.1f});
        m.tensor(b + "attn_output.weight", wt, {C, C}, {0.0f, sc});
        m.tensor(b + "attn_output.bias", TensorType::F32, {C}, {0.0f, 0.1f});
        m.tensor(b + "ffn_norm.weight", TensorType::F32, {C}, {1.0f, 0.2f});
        m.tensor(b + "ffn_norm.bias", TensorType::F32, {C}, {0.0f, 0.1f});
        m.tensor(b + "ffn_up.weight", wt, {C, F}, {0.0f, 2.0f * sc});
        m.tensor(b + "ffn_up.bias", TensorType::F32, {F}, {0.0f, 0.1f});
        m.tensor(b + "ffn_down.weight", wt, {F, C}, {0.0f, sf});
        m.tensor(b + "ffn_down.bias", TensorType::F32, {C}, {0.0f, 0.1f});
    }
    m.tensor("output_norm.weight", TensorType::F32, {C}, {1.0f, 0.2f});
    m.tensor("output_norm.bias", TensorType::F32, {C}, {0.0f, 0.1f});
    // GPT-2 ties its output matrix to the token embedding; llama.cpp's converter (GPT2Model) writes
    // it again as output.weight, and llama.cpp requires it: the same bytes under both names.
    m.tensor("output.weight", wt, {C, V}, {0.0f, 0.5f}, "token_embd.weight");
}


void write_gpt_oss(const Spec& s, Shape p, gguf::Writer& w, Progress& progress) {
    const TensorType wt = parse_wtype(s.wtype);
    const BpeVocab vocab = load_vocab_file(s.tokenizer_dir + "/o200k_harmony.vocab.gz");
    p.n_vocab = static_cast<int64_t>(vocab.tokens.size());
    const std::string a = "gpt-oss.";
    w.set("general.architecture", "gpt-oss");
    w.set("general.name", "silica synthetic gpt-oss " + s.preset);
    w.set_u32(a + "block_count", static_cast<uint32_t>(p.n_layer));
    w.set_u32(a + "context_length", static_cast<uint32_t>(p.n_ctx));
    w.set_u32(a + "embedding_length", static_cast<uint32_t>(p.n_embd));
    w.set_u32(a + "feed_forward_length", static_cast<uint32_t>(p.n_ff));
    w.set_u32(a + "attention.head_count", static_cast<uint32_t>(p.n_head));
    w.set_u32(a + "attention.head_count_kv", static_cast<uint32_t>(p.n_head_kv));
    w.set_u32(a + "attention.key_length", static_cast<uint32_t>(p.head_dim));
    w.set_u32(a + "attention.value_length", static_cast<uint32_t>(p.head_dim));
    w.set_f32(a + "rope.freq_base", 150000.0f);
    w.set_f32(a + "attention.layer_norm_rms_epsilon", 1e-5f);
    w.set_u32(a + "expert_count", static_cast<uint32_t>(p.n_expert));
    w.set_u32(a + "expert_used_count", static_cast<uint32_t>(p.n_expert_used));
    w.set_u32(a + "attention.sliding_window", static_cast<uint32_t>(p.window));
    w.set_u32(a + "expert_feed_forward_length", static_cast<uint32_t>(p.n_ff));
    w.set(a + "rope.scaling.type", "yarn");
    w.set_f32(a + "rope.scaling.factor", 32.0f);
    w.set_u32(a + "rope.scaling.original_context_length", static_cast<uint32_t>(p.yarn_orig_ctx));
    w.set_u32("general.file_type", gguf::llama_file_type(wt, true));
    w.set_u32("general.quantization_version", gguf::kQuantizationVersion);
    gguf::set_bpe_tokenizer(w, vocab);

    const int64_t C = p.n_embd, Q = p.n_head * p.head_dim, KV = p.n_head_kv * p.head_dim, F = p.n_ff,
                  E = p.n_expert, V = p.n_vocab;
    auto unit = [](int64_t fan_in) { return 0.5f * std::sqrt(3.0f / static_cast<float>(fan_in)); };
    ModelWriter m(w, s.seed, progress);
    m.tensor("token_embd.weight", wt, {C, V}, {0.0f, 1.0f});
    for (int64_t i = 0; i < p.n_layer; ++i) {
        const std::string b = "blk." + std::to_string(i) + ".";
        m.tensor(b + "attn_norm.weight", TensorType::F32, {C}, {1.0f, 0.2f});
        m.tensor(b + "attn_q.weight", wt, {C, Q}, {0.0f, 2.0f * unit(C)});
        m.tensor(b + "attn_q.bias", TensorType::F32, {Q}, {0.0f, 0.1f});
        m.tensor(b + "attn_k.weight", wt, {C, KV}, {0.0f, 2.0f * unit(C)});
        m.tensor(b + "attn_k.bias", TensorType::F32, {KV}, {0.0f, 0.1f});
        m.tensor(b + "attn_v.weight", wt, {C, KV}, {0.0f, 2.0f * unit(C)});
        m.tensor(b + "attn_v.bias", TensorType::F32, {KV}, {0.0f, 0.1f});
        m.tensor(b + "attn_output.weight", wt, {Q, C}, {0.0f, unit(Q)});
        m.tensor(b + "attn_output.bias", TensorType::F32, {C}, {0.0f, 0.1f});
        m.tensor(b + "attn_sinks.weight", TensorType::F32, {p.n_head}, {0.0f, 2.0f});
        m.tensor(b + "post_attention_norm.weight", TensorType::F32, {C}, {1.0f, 0.2f});
        m.tensor(b + "ffn_gate_inp.weight", wt, {C, E}, {0.0f, 10.0f * unit(C)});  // clear routing margins
        m.tensor(b + "ffn_gate_inp.bias", TensorType::F32, {E}, {0.0f, 0.2f});
        m.tensor(b + "ffn_gate_exps.weight", TensorType::MXFP4, {C, F, E}, {0.0f, 4.0f * unit(C)});
        m.tensor(b + "ffn_gate_exps.bias", TensorType::F32, {F, E}, {0.0f, 0.1f});
        m.tensor(b + "ffn_up_exps.weight", TensorType::MXFP4, {C, F, E}, {0.0f, 4.0f * unit(C)});
        m.tensor(b + "ffn_up_exps.bias", TensorType::F32, {F, E}, {0.0f, 0.1f});
        m.tensor(b + "ffn_down_exps.weight", TensorType::MXFP4, {F, C, E}, {0.0f, unit(F)});
        m.tensor(b + "ffn_down_exps.bias", TensorType::F32, {C, E}, {0.0f, 0.1f});
    }
    m.tensor("output_norm.weight", TensorType::F32, {C}, {1.0f, 0.2f});
    m.tensor("output.weight", wt, {C, V}, {0.0f, 2.0f * unit(C)});
}

}  // namespace

std::vector<std::string> preset_names(const std::string& arch) {
    std::vector<std::string> names;
    for (const auto& [n, _] : arch == "gpt2" ? gpt2_presets() : gpt_oss_presets()) names.push_back(n);
    return names;
}

std::vector<std::string> weight_type_names() {
    return {"f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "q4_K", "q5_K", "q6_K"};
}

void write_model(const Spec& s, const std::string& path, const std::function<void(double)>& progress) {
    gguf::Writer w;
    Progress pr{progress};
    if (s.arch == "gpt2") {
        Shape p = find_preset(gpt2_presets(), s);
        if (s.n_layer) p.n_layer = s.n_layer;
        if (s.n_ctx) p.n_ctx = s.n_ctx;
        write_gpt2(s, p, w, pr);
    } else if (s.arch == "gpt-oss") {
        Shape p = find_preset(gpt_oss_presets(), s);
        if (s.n_layer) p.n_layer = s.n_layer;
        if (s.n_ctx) p.n_ctx = s.n_ctx;
        write_gpt_oss(s, p, w, pr);
    } else {
        throw Error("synth: unknown architecture '" + s.arch + "' (expected gpt2 or gpt-oss)");
    }
    w.write(path);
}

std::string default_tokenizer_dir(const std::string& installed_dir, const std::string& source_dir) {
    std::error_code ec;
    if (std::filesystem::exists(installed_dir + "/gpt2.vocab.gz", ec)) return installed_dir;
    return source_dir;
}

}  // namespace silica::synth
