// Which storage type each tensor of a model gets when it is quantized to a named target
// ("Q4_K_M", "q8_0", ...): the per-tensor choices of llama.cpp's llama-quantize
// (llama_tensor_get_type in src/llama-quant.cpp), restated for the targets Silica runs.
// Pure rules over names and shapes: no file access, no quantization.
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "quant/types.h"

namespace silica {

// A quantization target as llama-quantize names it.
struct QuantMix {
    std::string_view name;  // canonical spelling: "Q4_K_M", "Q8_0", "F16", ...
    uint32_t file_type;     // llama.cpp's LLAMA_FTYPE_* value, written as general.file_type
    TensorType base;        // the type of the weights no rule singles out
};

// Looks a target up by name, case-insensitively; "Q4_K" and "Q5_K" are llama-quantize's aliases
// of "Q4_K_M" and "Q5_K_M". std::nullopt for an unknown name.
std::optional<QuantMix> find_quant_mix(std::string_view name);
// Canonical names of every target, in llama-quantize's order.
std::vector<std::string_view> quant_mix_names();

// What the rules need to know of one tensor.
struct TensorShape {
    std::string name;
    TensorType type = TensorType::F32;  // its type in the input file
    uint32_t n_dims = 0;
    std::array<int64_t, 4> ne{1, 1, 1, 1};  // ne[0] is the row length
};

// Model facts the rules depend on: block count (<arch>.block_count) and experts per MoE layer.
struct ModelShape {
    int64_t n_layer = 0;
    int64_t n_expert = 0;
};

// True for the tensors llama-quantize converts: weights ("...weight") of 2 or more dimensions,
// except norms, the MoE router (ffn_gate_inp) and position embeddings. Everything else (biases,
// norms, GPT-2's position_embd) is copied unchanged.
bool is_quantizable_weight(const TensorShape& t);

// One entry per tensor, in the same order: the type to store it in. `pure` (llama-quantize
// --pure) gives every quantizable tensor the target's base type, no per-tensor rules; the
// block-size fallbacks still apply. Tensors stored as MXFP4 stay MXFP4 (GPT-OSS experts).
struct TypeChoice {
    TensorType type;
    bool fallback = false;  // the rule's type did not fit the row length; a 32-block type replaced it
};
std::vector<TypeChoice> choose_tensor_types(const QuantMix& mix, std::span<const TensorShape> tensors,
                                            const ModelShape& model, bool pure = false);

}  // namespace silica
