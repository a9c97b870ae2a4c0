// OpenAI's harmony chat format for GPT-OSS (openai/harmony docs/format.md): rendering a
// conversation into the prompt that ends with "<|start|>assistant", and a streaming parser of the
// generated tokens into per-channel messages (analysis = reasoning, final = answer, commentary).
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "silica/tokenizer.h"

namespace silica::harmony {

enum class Reasoning { Low, Medium, High };
Reasoning parse_reasoning(std::string_view level);  // "low" | "medium" | "high"; throws silica::Error
const char* to_string(Reasoning r);

// What the system message says.
struct SystemOptions {
    std::string model_identity = "You are ChatGPT, a large language model trained by OpenAI.";
    std::string knowledge_cutoff = "2024-06";
    std::string current_date;  // "YYYY-MM-DD"; the line is left out when empty
    Reasoning reasoning = Reasoning::Medium;
    std::vector<std::string> channels = {"analysis", "commentary", "final"};
    bool function_tools = false;  // adds: calls to 'functions' must go to the commentary channel
};

// One message of the conversation. role: "developer", "user", "assistant" (or a tool's name);
// channel: for assistant messages ("final" when empty).
struct ChatMessage {
    std::string role;
    std::string content;
    std::string channel;
};

// The system message's text (between <|message|> and <|end|>).
std::string system_message_text(const SystemOptions& options);

// The whole prompt as text: system message, a developer message "# Instructions\n\n..." when
// instructions are given, the messages, then "<|start|>assistant" for the model to continue.
std::string render_prompt(const SystemOptions& options, std::string_view developer_instructions,
                          std::span<const ChatMessage> messages);

// The same prompt as token ids. Structure tokens are inserted as ids and message text is encoded
// as plain text, so text such as "<|end|>" inside a message cannot forge structure.
// Throws silica::Error when the tokenizer lacks the harmony tokens.
std::vector<int32_t> encode_prompt(const Tokenizer& tokenizer, const SystemOptions& options,
                                   std::string_view developer_instructions, std::span<const ChatMessage> messages);

enum class StopReason { None, Return, Call, EndOfText };

struct Event {
    enum class Kind {
        MessageStart,  // header parsed: role, channel, recipient, content_type set
        Content,       // text: the next piece of the message's content (valid UTF-8)
        MessageEnd,    // <|end|>, or the message closed by a stop token
        Stop,          // stop: <|return|>, <|call|> or <|endoftext|>; generation is over
    };
    Kind kind;
    std::string role;
    std::string channel;
    std::string recipient;     // "functions.get_weather" from "to=functions.get_weather"
    std::string content_type;  // after <|constrain|>, e.g. "json"
    std::string text;
    StopReason stop = StopReason::None;
};

// Consumes generated token ids one at a time, starting right after a prompt from render_prompt /
// encode_prompt (so the first message's role, "assistant", is already known).
class OutputParser {
public:
    explicit OutputParser(const Tokenizer& tokenizer, std::string role = "assistant");

    // Events caused by this token (often none while a header is being read).
    std::vector<Event> push(int32_t token);
    // At the end of generation without a stop token: closes an open message (a dangling partial
    // UTF-8 character becomes U+FFFD).
    std::vector<Event> finish();

    bool stopped() const { return state_ == State::Stopped; }
    const std::string& channel() const { return channel_; }

private:
    enum class State { Header, Content, Between, Stopped };
    enum class HeaderPart { Role, Channel, ContentType };
    Event make(Event::Kind kind) const;
    void start_content(std::vector<Event>& events);
    void end_message(std::vector<Event>& events);

    const Tokenizer& tokenizer_;
    int32_t start_, end_, message_, channel_token_, constrain_, return_, call_, endoftext_;
    State state_ = State::Header;
    HeaderPart part_ = HeaderPart::Role;
    std::string role_text_, channel_text_, content_type_text_;
    std::string default_role_;
    std::string role_, channel_, recipient_, content_type_;
    Utf8StreamDecoder decoder_;
};

}  // namespace silica::harmony
