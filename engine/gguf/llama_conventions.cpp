#include "engine/gguf/llama_conventions.h"

namespace silica::gguf {

uint32_t llama_file_type(TensorType t, bool moe_mxfp4) {
    if (moe_mxfp4 && t != TensorType::F32 && t != TensorType::F16 && t != TensorType::BF16) return 38;
    switch (t) {
        case TensorType::F32: return 0;
        case TensorType::F16: return 1;
        case TensorType::Q4_0: return 2;
        case TensorType::Q4_1: return 3;
        case TensorType::Q8_0: return 7;
        case TensorType::Q5_0: return 8;
        case TensorType::Q5_1: return 9;
        case TensorType::Q4_K: return 15;
        case TensorType::Q5_K: return 17;
        case TensorType::Q6_K: return 18;
        case TensorType::BF16: return 32;
        default: return 0;
    }
}

void set_bpe_tokenizer(Writer& w, const BpeVocab& v) {
    w.set("tokenizer.ggml.model", v.model);
    w.set("tokenizer.ggml.pre", v.pre);
    w.set_strings("tokenizer.ggml.tokens", v.tokens);
    w.set_i32s("tokenizer.ggml.token_type", v.token_types);
    w.set_strings("tokenizer.ggml.merges", v.merges);
    if (v.bos_id >= 0) w.set_u32("tokenizer.ggml.bos_token_id", static_cast<uint32_t>(v.bos_id));
    if (v.eos_id >= 0) w.set_u32("tokenizer.ggml.eos_token_id", static_cast<uint32_t>(v.eos_id));
    if (v.eot_id >= 0) w.set_u32("tokenizer.ggml.eot_token_id", static_cast<uint32_t>(v.eot_id));
    if (v.pad_id >= 0) w.set_u32("tokenizer.ggml.padding_token_id", static_cast<uint32_t>(v.pad_id));
    if (v.add_bos) w.set_bool("tokenizer.ggml.add_bos_token", true);  // the converters omit it otherwise
}

}  // namespace silica::gguf
