// Reading the JSON files of a Hugging Face checkpoint directory with one-line errors that name
// the file (config.json, vocab.json, tokenizer_config.json).
#pragma once
#include <nlohmann/json.hpp>
#include <string>

namespace silica::convert {

// Throws silica::Error("<path>: cannot open" / "<path>: not valid JSON: <where>").
nlohmann::json read_json_file(const std::string& path);

}  // namespace silica::convert
