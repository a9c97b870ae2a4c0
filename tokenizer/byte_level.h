// GPT-2's byte-level mapping: each byte is shown as a printable character so that BPE tokens are
// text ("Ġ" is a space, "Ċ" a newline). GGUF stores normal tokens in this form.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace silica::tokenizer {

// The code point that stands for `byte`.
uint32_t byte_to_code_point(uint8_t byte);
// The raw bytes of a byte-level token string, or nullopt if it holds a character that stands for
// no byte (or is not valid UTF-8).
std::optional<std::string> byte_level_decode(std::string_view token_text);
// The byte-level form of raw bytes.
std::string byte_level_encode(std::string_view bytes);

}  // namespace silica::tokenizer
