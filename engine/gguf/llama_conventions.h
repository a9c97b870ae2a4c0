// What llama.cpp's converters write, shared by the two writers that reproduce them: `synth`
// (synthetic models) and `silica-convert` (Hugging Face checkpoints).
#pragma once
#include <cstdint>

#include "engine/gguf/gguf.h"
#include "quant/types.h"
#include "silica/tokenizer.h"

namespace silica::gguf {

// llama.cpp's general.file_type numbering (LLAMA_FTYPE_*) for a file whose weights are mostly of
// type `t`; `moe_mxfp4`: the experts are MXFP4 (LLAMA_FTYPE_MOSTLY_MXFP4_MOE unless float).
uint32_t llama_file_type(TensorType t, bool moe_mxfp4 = false);

// llama.cpp's GGML_QUANT_VERSION (general.quantization_version).
constexpr uint32_t kQuantizationVersion = 2;

// The tokenizer.ggml.* keys of a byte-level BPE vocabulary, as gguf-py's vocabulary writer
// stores them (model, pre, tokens, token_type, merges, then the special token ids present).
void set_bpe_tokenizer(Writer& w, const BpeVocab& v);

}  // namespace silica::gguf
