// infer --chat: the harmony conversation format of GPT-OSS — the prompt as harmony messages, and
// generated tokens split into channels: `final` is the answer (stdout), `analysis` is reasoning
// (stderr, dimmed, only with --show-reasoning).
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

// Prints the parser's events: final-channel text to stdout, analysis to stderr when asked.
class ChatPrinter {
public:
    ChatPrinter(const Tokenizer& tok, bool show_reasoning, bool stderr_is_terminal);
    // Returns true when generation should stop (<|return|>, <|call|>, <|endoftext|>).
    bool push(int32_t token);
    void finish();

private:
    void print(const harmony::Event& e);
    const Tokenizer& tok_;
    harmony::OutputParser parser_;
    bool show_reasoning_, dim_;
    // A model that does not follow harmony (e.g. random synthetic weights) would print nothing:
    // after this many tokens without a message header, its output is shown as plain text.
    static constexpr int kMaxHeaderTokens = 32;
    int tokens_without_message_ = 0;
    bool raw_ = false;
    std::string pending_raw_;
    Utf8StreamDecoder raw_text_;
};

}  // namespace silica::app
