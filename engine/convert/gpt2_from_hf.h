// Hugging Face GPT-2 checkpoint directory (config.json, model.safetensors or its sharded index,
// vocab.json, merges.txt) -> the GGUF llama.cpp's convert_hf_to_gguf.py writes for it: the same
// tensor names, shapes and types, general.* / gpt2.* keys and tokenizer arrays (docs/DESIGN.md §3,
// silica-convert).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace silica::convert {

struct Gpt2ConvertOptions {
    std::string outtype = "f16";                 // f32, f16, bf16, q8_0 (llama.cpp's default is f16)
    std::function<void(double)> progress;        // fraction of tensor bytes written; may be empty
};

struct Gpt2ConvertResult {
    int64_t n_tensors = 0;
    uint64_t tensor_bytes = 0;
    bool separate_output = false;  // the checkpoint's lm_head differs from wte
};

std::vector<std::string> gpt2_outtype_names();

// Converts, streaming tensor by tensor (one tensor's float copy in memory at a time). Throws
// silica::Error with a one-line message naming the file and the problem.
Gpt2ConvertResult convert_gpt2(const std::string& hf_dir, const std::string& out_path,
                               const Gpt2ConvertOptions& options = {});

}  // namespace silica::convert
