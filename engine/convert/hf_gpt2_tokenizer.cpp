#include "engine/convert/hf_gpt2_tokenizer.h"

#include <filesystem>
#include <fstream>
#include <map>

#include "engine/convert/json_file.h"
#include "silica/error.h"

namespace silica::convert {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> read_merges(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(path + ": cannot open");
    std::vector<std::string> merges;
    std::string line;
    for (int64_t line_no = 1; std::getline(in, line); ++line_no) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line_no == 1 && line.rfind("#", 0) == 0) continue;  // "#version: 0.2"
        // Two tokens separated by whitespace; byte-level tokens never contain a real space.
        const auto is_space = [](char c) { return c == ' ' || c == '\t'; };
        size_t a = 0;
        while (a < line.size() && is_space(line[a])) ++a;
        if (a == line.size()) continue;  // blank line
        size_t a_end = a;
        while (a_end < line.size() && !is_space(line[a_end])) ++a_end;
        size_t b = a_end;
        while (b < line.size() && is_space(line[b])) ++b;
        size_t b_end = b;
        while (b_end < line.size() && !is_space(line[b_end])) ++b_end;
        size_t rest = b_end;
        while (rest < line.size() && is_space(line[rest])) ++rest;
        if (b == line.size() || rest != line.size())
            throw Error(path + ": line " + std::to_string(line_no) + " is not two tokens separated by a space");
        merges.push_back(line.substr(a, a_end - a) + " " + line.substr(b, b_end - b));
    }
    if (merges.empty()) throw Error(path + ": no merges");
    return merges;
}

// config.json's "<what>_token_id" when it is an id of the vocabulary, else -1 (gguf-py skips
// out-of-range ids too).
int32_t special_id(const nlohmann::json& config, const char* key, int64_t vocab_size) {
    if (!config.contains(key) || !config[key].is_number_integer()) return -1;
    const int64_t id = config[key].get<int64_t>();
    return id >= 0 && id < vocab_size ? static_cast<int32_t>(id) : -1;
}

}  // namespace

HfTokenizer read_hf_gpt2_tokenizer(const std::string& dir, const nlohmann::json& config, int64_t vocab_size) {
    HfTokenizer out;
    BpeVocab& v = out.vocab;
    v.model = "gpt2";
    v.pre = "gpt-2";

    const std::string vocab_path = (fs::path(dir) / "vocab.json").string();
    const nlohmann::json vocab = read_json_file(vocab_path);
    if (!vocab.is_object()) throw Error(vocab_path + ": expected an object of token -> id");
    if (static_cast<int64_t>(vocab.size()) > vocab_size)
        throw Error(vocab_path + ": " + std::to_string(vocab.size()) + " tokens, more than config.json's vocab_size " +
                    std::to_string(vocab_size));
    std::vector<std::string> by_id(static_cast<size_t>(vocab_size));
    std::vector<bool> present(static_cast<size_t>(vocab_size), false);
    for (const auto& [token, id] : vocab.items()) {
        if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() >= vocab_size)
            throw Error(vocab_path + ": token '" + token + "' has id " + id.dump() + ", not in [0, " +
                        std::to_string(vocab_size) + ") (config.json's vocab_size)");
        const auto i = static_cast<size_t>(id.get<int64_t>());
        if (present[i]) throw Error(vocab_path + ": tokens '" + by_id[i] + "' and '" + token + "' share id " + std::to_string(i));
        present[i] = true;
        by_id[i] = token;
    }

    // Added tokens: tokenizer_config.json's added_tokens_decoder when there is one; otherwise
    // GPT2Tokenizer's only added token, <|endoftext|> (its bos, eos and unk), which is special.
    std::map<int64_t, bool> added;  // id -> special
    const std::string tc_path = (fs::path(dir) / "tokenizer_config.json").string();
    std::error_code ec;
    if (fs::exists(tc_path, ec)) {
        const nlohmann::json tc = read_json_file(tc_path);
        if (!tc.is_object()) throw Error(tc_path + ": expected an object");
        if (tc.contains("add_bos_token") && tc["add_bos_token"].is_boolean()) out.add_bos = tc["add_bos_token"].get<bool>();
        if (tc.contains("added_tokens_decoder") && tc["added_tokens_decoder"].is_object()) {
            for (const auto& [key, entry] : tc["added_tokens_decoder"].items()) {
                int64_t id = -1;
                try {
                    id = std::stoll(key);
                } catch (const std::exception&) {
                }
                if (id < 0 || id >= vocab_size || !entry.is_object() || !entry.contains("content") ||
                    !entry["content"].is_string())
                    throw Error(tc_path + ": added token '" + key + "' is not an id of the vocabulary with a content");
                const std::string content = entry["content"].get<std::string>();
                if (!present[id]) {
                    present[id] = true;
                    by_id[id] = content;
                }
                const bool special = entry.contains("special") && entry["special"] == true;
                // gguf-py also treats <|...|> tokens as control even when not flagged special.
                const bool looks_special = content.size() >= 4 && content.rfind("<|", 0) == 0 &&
                                           content.compare(content.size() - 2, 2, "|>") == 0;
                added[id] = special || looks_special;
            }
        }
    }
    if (added.empty())
        if (auto it = vocab.find("<|endoftext|>"); it != vocab.end()) added[it->get<int64_t>()] = true;

    v.tokens.resize(static_cast<size_t>(vocab_size));
    v.token_types.resize(static_cast<size_t>(vocab_size));
    for (int64_t i = 0; i < vocab_size; ++i) {
        if (!present[i]) {
            v.tokens[i] = "[PAD" + std::to_string(i) + "]";
            v.token_types[i] = kTokenUserDefined;
        } else if (auto it = added.find(i); it != added.end()) {
            v.tokens[i] = by_id[i];
            v.token_types[i] = it->second ? kTokenControl : kTokenUserDefined;
        } else {
            v.tokens[i] = by_id[i];
            v.token_types[i] = kTokenNormal;
        }
    }
    v.merges = read_merges((fs::path(dir) / "merges.txt").string());
    v.bos_id = special_id(config, "bos_token_id", vocab_size);
    v.eos_id = special_id(config, "eos_token_id", vocab_size);
    v.pad_id = special_id(config, "pad_token_id", vocab_size);
    return out;
}

}  // namespace silica::convert
