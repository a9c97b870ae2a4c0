// Synthetic models: GGUF files with the exact tensor names, shapes, types and metadata of the
// published GPT-2 / GPT-OSS conversions (as llama.cpp's converter writes them), random but
// well-conditioned weights, and the real tokenizer. Used by tests, benchmarks and `synth`.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "quant/types.h"

namespace silica::synth {

struct Spec {
    std::string arch;    // "gpt2" or "gpt-oss"
    std::string preset;  // tiny, gpt2-124m, gpt2-355m, ..., gpt-oss-20b
    std::string wtype = "f16";  // storage type of the 2-D weights (GPT-OSS experts are always MXFP4)
    uint64_t seed = 1;
    std::string tokenizer_dir;  // folder with gpt2.vocab.gz / o200k_harmony.vocab.gz
    // Overrides for tests (0 = the preset's value).
    int64_t n_layer = 0;
    int64_t n_ctx = 0;
};

std::vector<std::string> preset_names(const std::string& arch);
std::vector<std::string> weight_type_names();

// Writes the model to `path`, streaming tensor data. `progress` (may be empty) gets the fraction
// of bytes written. Throws silica::Error on bad specs or I/O failures.
void write_model(const Spec& spec, const std::string& path, const std::function<void(double)>& progress = {});

// Where the tokenizer files are: the installed share/silica/tokenizers, or else the source
// tree's models/tokenizers (synth's --tokenizer-dir / SILICA_TOKENIZER_DIR come first).
std::string default_tokenizer_dir(const std::string& installed_dir, const std::string& source_dir);

}  // namespace silica::synth
