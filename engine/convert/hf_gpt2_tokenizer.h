// The GPT-2 tokenizer of a Hugging Face checkpoint directory (vocab.json, merges.txt, optional
// tokenizer_config.json, special token ids from config.json) as the BpeVocab llama.cpp's converter
// writes for it: tokenizer.ggml.model "gpt2", pre "gpt-2", tokens ordered by id (ids vocab.json
// lacks below vocab_size become "[PAD<id>]", user-defined), token types normal / control (special
// added tokens such as <|endoftext|>), merges from merges.txt without its "#version" line.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "silica/tokenizer.h"

namespace silica::convert {

// llama.cpp's token types (gguf-py TokenType).
constexpr int32_t kTokenNormal = 1, kTokenControl = 3, kTokenUserDefined = 4;

struct HfTokenizer {
    BpeVocab vocab;
    int add_bos = -1;  // tokenizer_config.json's add_bos_token: -1 absent, 0 false, 1 true
};

// `config` is config.json (for bos/eos/pad ids); `vocab_size` its vocab_size. Throws
// silica::Error naming the file and the problem.
HfTokenizer read_hf_gpt2_tokenizer(const std::string& dir, const nlohmann::json& config, int64_t vocab_size);

}  // namespace silica::convert
