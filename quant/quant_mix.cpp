#include "quant/quant_mix.h"

#include <algorithm>
#include <cctype>
#include <cstdio>

namespace silica {
namespace {

// llama.cpp's LLAMA_FTYPE_* numbers of the targets below.
constexpr uint32_t kFtypeF32 = 0, kFtypeF16 = 1, kFtypeQ4_0 = 2, kFtypeQ4_1 = 3, kFtypeQ8_0 = 7, kFtypeQ5_0 = 8,
                   kFtypeQ5_1 = 9, kFtypeQ4_K_S = 14, kFtypeQ4_K_M = 15, kFtypeQ5_K_S = 16, kFtypeQ5_K_M = 17,
                   kFtypeQ6_K = 18, kFtypeBF16 = 32;

constexpr std::array kMixes = {
    QuantMix{"Q4_0", kFtypeQ4_0, TensorType::Q4_0},       QuantMix{"Q4_1", kFtypeQ4_1, TensorType::Q4_1},
    QuantMix{"Q5_0", kFtypeQ5_0, TensorType::Q5_0},       QuantMix{"Q5_1", kFtypeQ5_1, TensorType::Q5_1},
    QuantMix{"Q4_K_S", kFtypeQ4_K_S, TensorType::Q4_K},   QuantMix{"Q4_K_M", kFtypeQ4_K_M, TensorType::Q4_K},
    QuantMix{"Q5_K_S", kFtypeQ5_K_S, TensorType::Q5_K},   QuantMix{"Q5_K_M", kFtypeQ5_K_M, TensorType::Q5_K},
    QuantMix{"Q6_K", kFtypeQ6_K, TensorType::Q6_K},       QuantMix{"Q8_0", kFtypeQ8_0, TensorType::Q8_0},
    QuantMix{"F16", kFtypeF16, TensorType::F16},          QuantMix{"BF16", kFtypeBF16, TensorType::BF16},
    QuantMix{"F32", kFtypeF32, TensorType::F32},
};

std::string upper(std::string_view s) {
    std::string u(s);
    for (auto& c : u) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return u;
}

bool contains(const std::string& s, std::string_view part) { return s.find(part) != std::string::npos; }
bool ends_with(const std::string& s, std::string_view tail) {
    return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// The broad roles llama.cpp's rules tell apart (its tensor_category), found from the name.
enum class Role { TokenEmbd, Output, AttnV, AttnK, AttnOutput, FfnDown, Other };

Role role_of(const std::string& name) {
    if (name == "output.weight") return Role::Output;
    if (name == "token_embd.weight") return Role::TokenEmbd;
    // A fused QKV (GPT-2) and MLA's kv_b are treated like attn_v: they carry the value projection.
    if (contains(name, "attn_qkv.weight") || contains(name, "attn_kv_b.weight") || contains(name, "attn_v.weight"))
        return Role::AttnV;
    if (contains(name, "attn_k.weight")) return Role::AttnK;
    if (contains(name, "attn_output.weight")) return Role::AttnOutput;
    if (contains(name, "ffn_down")) return Role::FfnDown;
    return Role::Other;
}

// The layer of "blk.N.…", -1 for tensors outside the blocks.
int layer_of(const std::string& name) {
    int layer = -1;
    if (std::sscanf(name.c_str(), "blk.%d.", &layer) != 1) return -1;
    return layer;
}

bool is_quantized(TensorType t) { return type_traits(t).block_size > 1; }

// The layers that get more bits in the _M mixes: the first and last eighth, and every third one
// in between.
bool use_more_bits(int64_t i_layer, int64_t n_layers) {
    return i_layer < n_layers / 8 || i_layer >= 7 * n_layers / 8 || (i_layer - n_layers / 8) % 3 == 2;
}

// The type llama.cpp's rules give a quantizable tensor, before the row-length fallback.
// `ordinal` is the tensor's position among those of its role (attn_v-like, or ffn_down) in
// llama.cpp's tensor order; `n_role` is how many attn_v-like tensors there are.
TensorType rule_type(uint32_t ftype, TensorType base, const TensorShape& t, Role role, bool tied_embeddings,
                     int64_t ordinal, int64_t n_attn_v, const ModelShape& model) {
    if (role == Role::Output || (tied_embeddings && role == Role::TokenEmbd)) {
        // The output matrix (or the token embedding that doubles as it) is the most sensitive.
        if (t.ne[0] % type_traits(base).block_size != 0) return TensorType::Q8_0;
        return base == TensorType::Q8_0 ? TensorType::Q8_0 : TensorType::Q6_K;
    }
    const bool m_mix = ftype == kFtypeQ4_K_M || ftype == kFtypeQ5_K_M;
    switch (role) {
        case Role::AttnV: {
            TensorType type = base;
            if (m_mix && use_more_bits(ordinal, n_attn_v))
                type = TensorType::Q6_K;
            else if (ftype == kFtypeQ4_K_S && ordinal < 4)
                type = TensorType::Q5_K;
            if (model.n_expert == 8) type = TensorType::Q8_0;  // Mixtral-style: costs little
            return type;
        }
        case Role::AttnK:
            return model.n_expert == 8 ? TensorType::Q8_0 : base;
        case Role::AttnOutput:
            if (model.n_expert == 8 && (ftype == kFtypeQ4_K_S || ftype == kFtypeQ4_K_M)) return TensorType::Q5_K;
            return base;
        case Role::FfnDown: {
            // MoE files sprinkle experts, so the layer comes from the name; otherwise the count.
            const int64_t i_layer = model.n_expert > 1 ? layer_of(t.name) : ordinal;
            const int64_t n_layer = model.n_layer;
            if (m_mix && use_more_bits(i_layer, n_layer)) return TensorType::Q6_K;
            if (ftype == kFtypeQ4_K_S && i_layer < n_layer / 8) return TensorType::Q5_K;
            return base;
        }
        default:
            return base;
    }
}

// A K-quant needs rows of whole 256-blocks; llama.cpp then takes a 32-block type of similar size.
TensorType fallback_type(TensorType type) {
    switch (type) {
        case TensorType::Q2_K:
        case TensorType::Q3_K: return TensorType::Q4_0;
        case TensorType::Q4_K: return TensorType::Q5_0;
        case TensorType::Q5_K: return TensorType::Q5_1;
        case TensorType::Q6_K: return TensorType::Q8_0;
        default: return TensorType::F16;
    }
}

}  // namespace

std::optional<QuantMix> find_quant_mix(std::string_view name) {
    std::string u = upper(name);
    if (u == "Q4_K") u = "Q4_K_M";
    if (u == "Q5_K") u = "Q5_K_M";
    for (const QuantMix& m : kMixes)
        if (m.name == u) return m;
    return std::nullopt;
}

std::vector<std::string_view> quant_mix_names() {
    std::vector<std::string_view> names;
    for (const QuantMix& m : kMixes) names.push_back(m.name);
    return names;
}

bool is_quantizable_weight(const TensorShape& t) {
    if (t.n_dims < 2) return false;
    if (!ends_with(t.name, "weight")) return false;
    if (contains(t.name, "_norm.weight")) return false;
    if (contains(t.name, "ffn_gate_inp.weight")) return false;  // the MoE router: small and sensitive
    if (t.name == "position_embd.weight" || contains(t.name, ".position_embd")) return false;
    if (t.name == "token_types.weight") return false;
    return true;
}

std::vector<TypeChoice> choose_tensor_types(const QuantMix& mix, std::span<const TensorShape> tensors,
                                            const ModelShape& model, bool pure) {
    // llama.cpp visits tensors ordered by layer, then name; the _M rules count attn_v and
    // ffn_down tensors in that order.
    std::vector<size_t> order(tensors.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        const int la = layer_of(tensors[a].name), lb = layer_of(tensors[b].name);
        return la != lb ? la < lb : tensors[a].name < tensors[b].name;
    });
    bool tied_embeddings = true;
    int64_t n_attn_v = 0;
    for (const TensorShape& t : tensors) {
        if (t.name == "output.weight") tied_embeddings = false;
        if (role_of(t.name) == Role::AttnV) ++n_attn_v;
    }

    std::vector<TypeChoice> choices(tensors.size());
    int64_t next_attn_v = 0, next_ffn_down = 0;
    for (size_t i : order) {
        const TensorShape& t = tensors[i];
        if (!is_quantizable_weight(t) || t.type == TensorType::MXFP4) {
            choices[i] = {t.type, false};
            continue;
        }
        TensorType type = mix.base;
        if (is_quantized(mix.base)) {
            if (!pure) {
                const Role role = role_of(t.name);
                int64_t ordinal = 0;
                if (role == Role::AttnV) ordinal = next_attn_v++;
                if (role == Role::FfnDown) ordinal = next_ffn_down++;
                type = rule_type(mix.file_type, mix.base, t, role, tied_embeddings, ordinal, n_attn_v, model);
            }
            bool fell_back = false;
            if (t.ne[0] % type_traits(type).block_size != 0) {
                type = fallback_type(type);
                fell_back = true;
                if (t.ne[0] % type_traits(type).block_size != 0) type = TensorType::F16;  // rows not of 32s
            }
            choices[i] = {type, fell_back};
        } else {
            choices[i] = {type, false};
        }
    }
    return choices;
}

}  // namespace silica
