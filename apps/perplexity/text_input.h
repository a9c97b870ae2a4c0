// The text a perplexity run scores: read byte for byte, checked to be UTF-8, and tokenized the
// way llama-perplexity tokenizes it.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace silica {
class Tokenizer;
}

namespace silica::perplexity {

// The file's bytes. Throws silica::Error("<path>: ...") when it cannot be read or is not valid
// UTF-8 (naming the byte offset of the first bad byte).
std::string read_text_file(const std::string& path);

// Plain text (special-token strings stay text), with the BOS token first when the tokenizer's
// add_bos says so (llama-perplexity tokenizes with add_special; GPT-2 and GPT-OSS add none).
std::vector<int32_t> text_tokens(const Tokenizer& tokenizer, std::string_view text);

}  // namespace silica::perplexity
