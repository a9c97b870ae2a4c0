#include "tokenizer/harmony.h"

#include <sstream>

#include "silica/error.h"

namespace silica::harmony {
namespace {

std::vector<std::string> words(std::string_view s) {
    std::vector<std::string> out;
    std::istringstream in{std::string(s)};
    for (std::string w; in >> w;) out.push_back(w);
    return out;
}

// A prompt built as a list of parts: structure tokens, or text to encode as plain text.
struct Part {
    std::string special;  // non-empty: a harmony token such as "<|start|>"
    std::string text;
};

std::vector<Part> prompt_parts(const SystemOptions& options, std::string_view developer_instructions,
                               std::span<const ChatMessage> messages) {
    std::vector<Part> parts;
    auto message = [&](const std::string& role, const std::string& channel, const std::string& content) {
        parts.push_back({"<|start|>", ""});
        parts.push_back({"", role});
        if (!channel.empty()) {
            parts.push_back({"<|channel|>", ""});
            parts.push_back({"", channel});
        }
        parts.push_back({"<|message|>", ""});
        parts.push_back({"", content});
        parts.push_back({"<|end|>", ""});
    };
    message("system", "", system_message_text(options));
    if (!developer_instructions.empty())
        message("developer", "", "# Instructions\n\n" + std::string(developer_instructions));
    for (const ChatMessage& m : messages) {
        if (m.role == "system") throw Error("harmony: the system message is made from SystemOptions, not given as a message");
        const bool assistant = m.role == "assistant";
        message(m.role, assistant ? (m.channel.empty() ? "final" : m.channel) : m.channel, m.content);
    }
    parts.push_back({"<|start|>", ""});
    parts.push_back({"", "assistant"});
    return parts;
}

int32_t required_token(const Tokenizer& tok, const char* text) {
    const int32_t id = tok.find_token(text);
    if (id < 0 || !tok.is_control(id))
        throw Error(std::string("harmony chat format needs the control token ") + text + ", which this tokenizer lacks");
    return id;
}

}  // namespace

Reasoning parse_reasoning(std::string_view level) {
    if (level == "low") return Reasoning::Low;
    if (level == "medium") return Reasoning::Medium;
    if (level == "high") return Reasoning::High;
    throw Error("reasoning level must be low, medium or high, not '" + std::string(level) + "'");
}

const char* to_string(Reasoning r) {
    switch (r) {
        case Reasoning::Low: return "low";
        case Reasoning::Medium: return "medium";
        case Reasoning::High: return "high";
    }
    return "medium";
}

std::string system_message_text(const SystemOptions& o) {
    std::string s = o.model_identity;
    if (!o.knowledge_cutoff.empty()) s += "\nKnowledge cutoff: " + o.knowledge_cutoff;
    if (!o.current_date.empty()) s += "\nCurrent date: " + o.current_date;
    s += "\n\nReasoning: ";
    s += to_string(o.reasoning);
    if (!o.channels.empty()) {
        s += "\n\n# Valid channels: ";
        for (size_t i = 0; i < o.channels.size(); ++i) s += (i ? ", " : "") + o.channels[i];
        s += ". Channel must be included for every message.";
    }
    if (o.function_tools) s += "\nCalls to these tools must go to the commentary channel: 'functions'.";
    return s;
}

std::string render_prompt(const SystemOptions& options, std::string_view developer_instructions,
                          std::span<const ChatMessage> messages) {
    std::string out;
    for (const Part& p : prompt_parts(options, developer_instructions, messages)) out += p.special.empty() ? p.text : p.special;
    return out;
}

std::vector<int32_t> encode_prompt(const Tokenizer& tok, const SystemOptions& options,
                                   std::string_view developer_instructions, std::span<const ChatMessage> messages) {
    std::vector<int32_t> ids;
    for (const Part& p : prompt_parts(options, developer_instructions, messages)) {
        if (!p.special.empty()) {
            ids.push_back(required_token(tok, p.special.c_str()));
        } else {
            const auto text_ids = tok.encode(p.text, false);
            ids.insert(ids.end(), text_ids.begin(), text_ids.end());
        }
    }
    return ids;
}

OutputParser::OutputParser(const Tokenizer& tok, std::string role)
    : tokenizer_(tok),
      start_(required_token(tok, "<|start|>")),
      end_(required_token(tok, "<|end|>")),
      message_(required_token(tok, "<|message|>")),
      channel_token_(required_token(tok, "<|channel|>")),
      constrain_(required_token(tok, "<|constrain|>")),
      return_(required_token(tok, "<|return|>")),
      call_(required_token(tok, "<|call|>")),
      endoftext_(tok.find_token("<|endoftext|>")),
      default_role_(std::move(role)) {}

Event OutputParser::make(Event::Kind kind) const {
    Event e{kind, role_, channel_, recipient_, content_type_, "", StopReason::None};
    return e;
}

// The header is complete (<|message|>): work out role, channel, recipient and content type.
void OutputParser::start_content(std::vector<Event>& events) {
    const auto role_words = words(role_text_), channel_words = words(channel_text_), type_words = words(content_type_text_);
    role_ = role_words.empty() ? default_role_ : role_words.front();
    channel_ = channel_words.empty() ? "" : channel_words.front();
    recipient_.clear();
    for (const auto* list : {&role_words, &channel_words, &type_words})
        for (const std::string& w : *list)
            if (w.rfind("to=", 0) == 0) recipient_ = w.substr(3);
    content_type_.clear();
    for (const std::string& w : type_words)
        if (w.rfind("to=", 0) != 0) content_type_ = w;
    state_ = State::Content;
    events.push_back(make(Event::Kind::MessageStart));
}

void OutputParser::end_message(std::vector<Event>& events) {
    Event tail = make(Event::Kind::Content);
    tail.text = decoder_.flush();
    if (!tail.text.empty()) events.push_back(std::move(tail));
    events.push_back(make(Event::Kind::MessageEnd));
    state_ = State::Between;
}

std::vector<Event> OutputParser::push(int32_t token) {
    std::vector<Event> events;
    if (state_ == State::Stopped) return events;
    const bool is_stop = token == return_ || token == call_ || (endoftext_ >= 0 && token == endoftext_);
    if (is_stop) {
        if (state_ == State::Content) end_message(events);
        Event stop = make(Event::Kind::Stop);
        stop.stop = token == return_ ? StopReason::Return : token == call_ ? StopReason::Call : StopReason::EndOfText;
        events.push_back(std::move(stop));
        state_ = State::Stopped;
        return events;
    }
    if (token == start_) {  // a new message (also closes one the model left open)
        if (state_ == State::Content) end_message(events);
        state_ = State::Header;
        part_ = HeaderPart::Role;
        role_text_.clear();
        channel_text_.clear();
        content_type_text_.clear();
        return events;
    }
    if (token == end_) {
        if (state_ == State::Content) end_message(events);
        else state_ = State::Between;  // an empty or broken header: nothing to report
        return events;
    }
    switch (state_) {
        case State::Header:
            if (token == channel_token_) part_ = HeaderPart::Channel;
            else if (token == constrain_) part_ = HeaderPart::ContentType;
            else if (token == message_) start_content(events);
            else if (!tokenizer_.is_control(token)) {
                std::string& target = part_ == HeaderPart::Role ? role_text_ : part_ == HeaderPart::Channel ? channel_text_ : content_type_text_;
                target += tokenizer_.token_bytes(token);
            }
            break;
        case State::Between:
            if (token == channel_token_) {  // a header without <|start|>: same role as before
                state_ = State::Header;
                part_ = HeaderPart::Channel;
                role_text_ = role_;
                channel_text_.clear();
                content_type_text_.clear();
                break;
            }
            // Text outside any message: report it as content of a message without header.
            if (tokenizer_.is_control(token)) break;
            role_text_.clear();
            channel_text_.clear();
            content_type_text_.clear();
            start_content(events);
            [[fallthrough]];
        case State::Content:
            if (!tokenizer_.is_control(token)) {
                Event e = make(Event::Kind::Content);
                e.text = decoder_.feed(tokenizer_.token_bytes(token));
                if (!e.text.empty()) events.push_back(std::move(e));
            }
            break;
        case State::Stopped:
            break;
    }
    return events;
}

std::vector<Event> OutputParser::finish() {
    std::vector<Event> events;
    if (state_ == State::Content) end_message(events);
    return events;
}

}  // namespace silica::harmony
