// GPT-2: Hugging Face checkpoint -> GGUF, reproducing llama.cpp's convert_hf_to_gguf.py (GPT2Model):
//  - names: wte -> token_embd, wpe -> position_embd, h.N.ln_1 -> blk.N.attn_norm, attn.c_attn ->
//    attn_qkv, attn.c_proj -> attn_output, ln_2 -> ffn_norm, mlp.c_fc -> ffn_up, mlp.c_proj ->
//    ffn_down, ln_f -> output_norm; a `transformer.` prefix is accepted; the attn.bias and
//    attn.masked_bias buffers are skipped;
//  - Conv1D weights ([in, out]) are transposed so each GGUF row holds one output's weights;
//  - output.weight is written as well: llama.cpp duplicates wte there (GPT-2 ties them). A
//    checkpoint with its own lm_head that differs from wte gets that lm_head instead;
//  - types: 1-D tensors, norms, biases and the position embedding stay F32; the other weights get
//    --outtype, and Q8_0 falls back to F16 for rows that are not whole 32-value blocks (as
//    llama.cpp does);
//  - gpt2.* keys as GPT2Model.set_gguf_parameters writes them: context_length from n_ctx, and
//    feed_forward_length 4 * n_embd (n_inner, when set, instead: that is what the tensors hold).
#include "engine/convert/gpt2_from_hf.h"

#include <cstring>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "engine/convert/hf_gpt2_tokenizer.h"
#include "engine/convert/json_file.h"
#include "engine/gguf/gguf.h"
#include "engine/gguf/llama_conventions.h"
#include "engine/safetensors/checkpoint.h"
#include "quant/fp16.h"
#include "quant/quantize.h"
#include "silica/error.h"

namespace silica::convert {
namespace {

namespace fs = std::filesystem;
namespace st = silica::safetensors;
using nlohmann::json;

struct Hparams {
    int64_t n_layer = 0, n_embd = 0, n_head = 0, n_ctx = 0, n_positions = 0, vocab_size = 0, n_ff = 0;
    double eps = 1e-5;
};

int64_t positive_int(const json& c, const std::string& path, const char* key) {
    if (!c.contains(key)) throw Error(path + ": missing \"" + key + "\"");
    if (!c[key].is_number_integer() || c[key].get<int64_t>() <= 0)
        throw Error(path + ": \"" + key + "\" must be a positive integer, got " + c[key].dump());
    return c[key].get<int64_t>();
}

Hparams read_config(const std::string& path, const json& c) {
    if (!c.is_object()) throw Error(path + ": expected a JSON object");
    if (!c.contains("model_type") || !c["model_type"].is_string()) throw Error(path + ": missing \"model_type\"");
    const std::string model_type = c["model_type"].get<std::string>();
    if (model_type != "gpt2") throw Error(path + ": unsupported model_type '" + model_type + "' (silica-convert converts gpt2)");
    // Options of Hugging Face's GPT-2 that change what it computes, which Silica's GPT-2 does not.
    if (c.contains("activation_function") && c["activation_function"] != "gelu_new")
        throw Error(path + ": activation_function " + c["activation_function"].dump() + " is not supported (GPT-2 uses gelu_new)");
    if (c.contains("scale_attn_weights") && c["scale_attn_weights"] == false)
        throw Error(path + ": scale_attn_weights false is not supported");
    if (c.contains("scale_attn_by_inverse_layer_idx") && c["scale_attn_by_inverse_layer_idx"] == true)
        throw Error(path + ": scale_attn_by_inverse_layer_idx is not supported");

    Hparams h;
    h.n_layer = positive_int(c, path, "n_layer");
    h.n_embd = positive_int(c, path, "n_embd");
    h.n_head = positive_int(c, path, "n_head");
    h.n_positions = positive_int(c, path, "n_positions");
    h.vocab_size = positive_int(c, path, "vocab_size");
    h.n_ctx = c.contains("n_ctx") ? positive_int(c, path, "n_ctx") : h.n_positions;
    h.n_ff = c.contains("n_inner") && !c["n_inner"].is_null() ? positive_int(c, path, "n_inner") : 4 * h.n_embd;
    if (c.contains("layer_norm_epsilon")) {
        if (!c["layer_norm_epsilon"].is_number() || c["layer_norm_epsilon"].get<double>() <= 0)
            throw Error(path + ": \"layer_norm_epsilon\" must be a positive number");
        h.eps = c["layer_norm_epsilon"].get<double>();
    }
    if (h.n_embd % h.n_head != 0)
        throw Error(path + ": n_embd " + std::to_string(h.n_embd) + " is not a multiple of n_head " + std::to_string(h.n_head));
    return h;
}

// One tensor of the checkpoint as the GGUF holds it.
struct Expected {
    std::string hf_name;          // without the `transformer.` prefix
    std::string gguf_name;
    std::vector<int64_t> shape;   // PyTorch order, as config.json implies it
    bool conv1d = false;          // [in, out]: transposed on the way
    const st::Checkpoint::Entry* source = nullptr;
};

// In the order llama.cpp's GPT-2 layout lists them (and synth writes them).
std::vector<Expected> expected_tensors(const Hparams& h) {
    const int64_t C = h.n_embd, F = h.n_ff;
    std::vector<Expected> e;
    e.push_back({"wte.weight", "token_embd.weight", {h.vocab_size, C}});
    e.push_back({"wpe.weight", "position_embd.weight", {h.n_positions, C}});
    for (int64_t i = 0; i < h.n_layer; ++i) {
        const std::string hf = "h." + std::to_string(i) + ".", b = "blk." + std::to_string(i) + ".";
        e.push_back({hf + "ln_1.weight", b + "attn_norm.weight", {C}});
        e.push_back({hf + "ln_1.bias", b + "attn_norm.bias", {C}});
        e.push_back({hf + "attn.c_attn.weight", b + "attn_qkv.weight", {C, 3 * C}, true});
        e.push_back({hf + "attn.c_attn.bias", b + "attn_qkv.bias", {3 * C}});
        e.push_back({hf + "attn.c_proj.weight", b + "attn_output.weight", {C, C}, true});
        e.push_back({hf + "attn.c_proj.bias", b + "attn_output.bias", {C}});
        e.push_back({hf + "ln_2.weight", b + "ffn_norm.weight", {C}});
        e.push_back({hf + "ln_2.bias", b + "ffn_norm.bias", {C}});
        e.push_back({hf + "mlp.c_fc.weight", b + "ffn_up.weight", {C, F}, true});
        e.push_back({hf + "mlp.c_fc.bias", b + "ffn_up.bias", {F}});
        e.push_back({hf + "mlp.c_proj.weight", b + "ffn_down.weight", {F, C}, true});
        e.push_back({hf + "mlp.c_proj.bias", b + "ffn_down.bias", {C}});
    }
    e.push_back({"ln_f.weight", "output_norm.weight", {C}});
    e.push_back({"ln_f.bias", "output_norm.bias", {C}});
    return e;
}

std::string shape_string(const std::vector<int64_t>& shape) {
    std::string s = "[";
    for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
}

bool ends_with(const std::string& s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Matches the checkpoint's tensors to the expected ones (checking shapes); returns lm_head's entry
// or nullptr. Anything unexpected, missing, or present twice is an error naming it.
const st::Checkpoint::Entry* match_tensors(const st::Checkpoint& ckpt, const Hparams& h, std::vector<Expected>& expected) {
    std::map<std::string, Expected*> by_name;
    for (auto& e : expected) by_name[e.hf_name] = &e;
    const st::Checkpoint::Entry* lm_head = nullptr;
    std::map<std::string, std::string> seen;  // name without prefix -> name in the file
    for (const auto& entry : ckpt.tensors()) {
        const std::string& name = entry.info->name;
        const std::string file = entry.file->path();
        const std::string hf = name.rfind("transformer.", 0) == 0 ? name.substr(12) : name;
        if (auto [it, fresh] = seen.emplace(hf, name); !fresh)
            throw Error(file + ": tensor '" + name + "' is also present as '" + it->second + "'");
        if (ends_with(hf, ".attn.bias") || ends_with(hf, ".attn.masked_bias")) continue;  // causal-mask buffers
        std::vector<int64_t> want;
        if (hf == "lm_head.weight") {
            lm_head = &entry;
            want = {h.vocab_size, h.n_embd};
        } else if (auto it = by_name.find(hf); it != by_name.end()) {
            it->second->source = &entry;
            want = it->second->shape;
        } else {
            throw Error(file + ": unexpected tensor '" + name + "' (not part of a GPT-2 with config.json's n_layer " +
                        std::to_string(h.n_layer) + ")");
        }
        if (entry.info->shape != want)
            throw Error(file + ": tensor '" + name + "' has shape " + shape_string(entry.info->shape) +
                        " but config.json implies " + shape_string(want));
    }
    for (const auto& e : expected)
        if (!e.source) throw Error(ckpt.source() + ": missing tensor '" + e.hf_name + "'");
    return lm_head;
}

// count elements of `t` from element `first` on, as float32 (the data may be unaligned).
void read_floats(const st::TensorInfo& t, int64_t first, int64_t count, float* out) {
    const uint8_t* p = t.data + static_cast<uint64_t>(first) * st::dtype_size(t.dtype);
    switch (t.dtype) {
        case st::DType::F32: std::memcpy(out, p, static_cast<size_t>(count) * 4); return;
        case st::DType::F16:
        case st::DType::BF16:
            for (int64_t i = 0; i < count; ++i) {
                uint16_t x;
                std::memcpy(&x, p + 2 * i, 2);
                out[i] = t.dtype == st::DType::F16 ? fp16_to_f32(x) : bf16_to_f32(x);
            }
            return;
    }
}

// The storage type llama.cpp's converter picks for a tensor (see the file comment).
TensorType gguf_type(const std::string& gguf_name, size_t n_dims, int64_t row_length, TensorType outtype) {
    if (n_dims <= 1 || ends_with(gguf_name, "_norm.weight") || !ends_with(gguf_name, ".weight") ||
        gguf_name == "position_embd.weight")
        return TensorType::F32;
    if (row_length % type_traits(outtype).block_size != 0) return TensorType::F16;
    return outtype;
}

// The directory's name, as llama.cpp's general.name falls back to (no model card here).
std::string model_name(const std::string& dir) {
    fs::path p = fs::path(dir).lexically_normal();
    if (p.filename().empty()) p = p.parent_path();
    return p.filename().string();
}

struct Progress {
    std::function<void(double)> report;
    uint64_t total = 0, done = 0;
};

}  // namespace

std::vector<std::string> gpt2_outtype_names() { return {"f32", "f16", "bf16", "q8_0"}; }

Gpt2ConvertResult convert_gpt2(const std::string& hf_dir, const std::string& out_path, const Gpt2ConvertOptions& options) {
    TensorType outtype = TensorType::F16;
    {
        bool known = false;
        for (const auto& n : gpt2_outtype_names()) known |= n == options.outtype;
        if (!known) throw Error("unknown outtype '" + options.outtype + "' (expected f32, f16, bf16 or q8_0)");
        outtype = *type_from_name(options.outtype);
    }
    std::error_code ec;
    if (!fs::is_directory(hf_dir, ec)) throw Error(hf_dir + ": not a directory");

    const std::string config_path = (fs::path(hf_dir) / "config.json").string();
    const json config = read_json_file(config_path);
    const Hparams h = read_config(config_path, config);
    const HfTokenizer tok = read_hf_gpt2_tokenizer(hf_dir, config, h.vocab_size);

    const st::Checkpoint ckpt = st::Checkpoint::open(hf_dir);
    std::vector<Expected> tensors = expected_tensors(h);
    const st::Checkpoint::Entry* lm_head = match_tensors(ckpt, h, tensors);
    // A checkpoint may store the tied lm_head explicitly: the same bytes as wte are still tied.
    const st::Checkpoint::Entry* wte = tensors[0].source;
    const bool separate = lm_head && !(lm_head->info->dtype == wte->info->dtype &&
                                       std::memcmp(lm_head->info->data, wte->info->data, wte->info->nbytes()) == 0);
    tensors.push_back({"lm_head.weight", "output.weight", {h.vocab_size, h.n_embd}, false, separate ? lm_head : wte});

    gguf::Writer w;
    w.set("general.architecture", "gpt2");
    w.set("general.type", "model");
    w.set("general.name", model_name(hf_dir));
    w.set_u32("gpt2.block_count", static_cast<uint32_t>(h.n_layer));
    w.set_u32("gpt2.context_length", static_cast<uint32_t>(h.n_ctx));
    w.set_u32("gpt2.embedding_length", static_cast<uint32_t>(h.n_embd));
    w.set_u32("gpt2.feed_forward_length", static_cast<uint32_t>(h.n_ff));
    w.set_u32("gpt2.attention.head_count", static_cast<uint32_t>(h.n_head));
    w.set_f32("gpt2.attention.layer_norm_epsilon", static_cast<float>(h.eps));
    w.set_u32("general.file_type", gguf::llama_file_type(outtype));
    w.set_u32("general.quantization_version", gguf::kQuantizationVersion);
    gguf::set_bpe_tokenizer(w, tok.vocab);
    if (tok.add_bos >= 0) w.set_bool("tokenizer.ggml.add_bos_token", tok.add_bos == 1);

    Progress progress{options.progress};
    Gpt2ConvertResult result;
    result.separate_output = separate;
    for (const Expected& e : tensors) {
        const st::TensorInfo* src = e.source->info;
        // GGUF dims: the row length first. A Conv1D [in, out] becomes out rows of in values; any
        // other [rows, cols] stays rows of cols values.
        std::vector<int64_t> dims;
        if (e.shape.size() == 1) dims = {e.shape[0]};
        else if (e.conv1d) dims = {e.shape[0], e.shape[1]};
        else dims = {e.shape[1], e.shape[0]};
        const TensorType type = gguf_type(e.gguf_name, dims.size(), dims[0], outtype);
        const int64_t cols = dims[0], rows = dims.size() > 1 ? dims[1] : 1;
        const bool transpose = e.conv1d;
        const size_t nbytes = quantized_bytes(type, cols * rows);
        progress.total += nbytes;
        result.tensor_bytes += nbytes;
        ++result.n_tensors;
        Progress* pr = &progress;
        w.add_tensor(e.gguf_name, type, dims, [src, type, cols, rows, transpose, pr](std::span<uint8_t> out) {
            const size_t rb = row_bytes(type_traits(type), cols);
            std::vector<float> row(static_cast<size_t>(cols));
            std::vector<float> all;  // a Conv1D weight as stored, [cols][rows], to gather columns from
            if (transpose) {
                all.resize(static_cast<size_t>(cols * rows));
                read_floats(*src, 0, cols * rows, all.data());
            }
            for (int64_t r = 0; r < rows; ++r) {
                if (transpose)
                    for (int64_t c = 0; c < cols; ++c) row[c] = all[c * rows + r];
                else
                    read_floats(*src, r * cols, cols, row.data());
                quantize_row(type, row.data(), out.data() + r * rb, cols);
            }
            pr->done += out.size();
            if (pr->report) pr->report(static_cast<double>(pr->done) / static_cast<double>(pr->total));
        });
    }
    w.write(out_path);
    return result;
}

}  // namespace silica::convert
