// infer --chat: the prompt in the harmony conversation format of GPT-OSS. The generated tokens
// are split into channels by the library (silica/generation.h, GenerationOptions::harmony).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "tokenizer/harmony.h"

namespace silica::app {

struct ChatOptions {
    std::string system;           // developer instructions (--system)
    std::string reasoning = "medium";
    bool show_reasoning = false;
};

// Token ids of a first turn: system message, developer instructions, the user's message, and the
// assistant header the model continues from.
std::vector<int32_t> first_turn_tokens(const Tokenizer& tok, const ChatOptions& o, const std::string& user_text);
// Token ids that close the assistant's message and add the next user turn (interactive mode: the
// earlier turns stay in the KV cache).
std::vector<int32_t> next_turn_tokens(const Tokenizer& tok, const std::string& user_text);

}  // namespace silica::app
