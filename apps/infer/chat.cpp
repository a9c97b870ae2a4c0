#include "apps/infer/chat.h"

#include <chrono>
#include <cstdio>
#include <ctime>

#include "silica/error.h"

namespace silica::app {
namespace {

std::string today() {
    const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    std::tm utc{};
    gmtime_r(&now, &utc);
    char buf[16];
    std::strftime(buf, sizeof buf, "%Y-%m-%d", &utc);
    return buf;
}

int32_t special(const Tokenizer& tok, const char* text) {
    const int32_t id = tok.find_token(text);
    if (id < 0) throw Error(std::string("the model's vocabulary has no ") + text + " token: it has no harmony chat format");
    return id;
}

void append(std::vector<int32_t>& out, const std::vector<int32_t>& more) { out.insert(out.end(), more.begin(), more.end()); }

}  // namespace

std::vector<int32_t> first_turn_tokens(const Tokenizer& tok, const ChatOptions& o, const std::string& user_text) {
    special(tok, "<|start|>");  // fail early, with a clear message, on non-harmony vocabularies
    harmony::SystemOptions sys;
    sys.current_date = today();
    sys.reasoning = harmony::parse_reasoning(o.reasoning);
    const harmony::ChatMessage user{"user", user_text, ""};
    return harmony::encode_prompt(tok, sys, o.system, std::span<const harmony::ChatMessage>(&user, 1));
}

std::vector<int32_t> next_turn_tokens(const Tokenizer& tok, const std::string& user_text) {
    const int32_t start = special(tok, "<|start|>"), message = special(tok, "<|message|>"), end = special(tok, "<|end|>");
    std::vector<int32_t> ids = {end, start};
    append(ids, tok.encode("user", false));
    ids.push_back(message);
    append(ids, tok.encode(user_text, false));
    ids.push_back(end);
    ids.push_back(start);
    append(ids, tok.encode("assistant", false));
    return ids;
}

ChatPrinter::ChatPrinter(const Tokenizer& tok, bool show_reasoning, bool stderr_is_terminal)
    : tok_(tok), parser_(tok), show_reasoning_(show_reasoning), dim_(stderr_is_terminal) {}

bool ChatPrinter::push(int32_t token) {
    if (raw_) {
        if (tok_.is_end_of_generation(token)) return true;
        std::fputs(raw_text_.feed(tok_.token_bytes(token)).c_str(), stdout);
        std::fflush(stdout);
        return false;
    }
    bool stop = false;
    pending_raw_ += tok_.token_bytes(token);
    for (const auto& e : parser_.push(token)) {
        print(e);
        stop = stop || e.kind == harmony::Event::Kind::Stop;
        if (e.kind == harmony::Event::Kind::MessageStart) tokens_without_message_ = -1;
    }
    if (tokens_without_message_ >= 0 && ++tokens_without_message_ > kMaxHeaderTokens) {
        raw_ = true;
        std::fprintf(stderr, "silica: the model's output is not in the harmony format; showing it as plain text\n");
        std::fputs(raw_text_.feed(pending_raw_).c_str(), stdout);
        std::fflush(stdout);
    }
    return stop || parser_.stopped();
}

void ChatPrinter::finish() {
    if (raw_) {
        std::fputs(raw_text_.flush().c_str(), stdout);
        return;
    }
    for (const auto& e : parser_.finish()) print(e);
}

void ChatPrinter::print(const harmony::Event& e) {
    using Kind = harmony::Event::Kind;
    const bool answer = e.channel == "final" || e.channel.empty();
    if (e.kind == Kind::Content) {
        if (answer) {
            std::fputs(e.text.c_str(), stdout);
            std::fflush(stdout);
        } else if (show_reasoning_) {
            std::fprintf(stderr, "%s%s%s", dim_ ? "\033[2m" : "", e.text.c_str(), dim_ ? "\033[0m" : "");
        }
    } else if (e.kind == Kind::MessageStart && !answer && show_reasoning_) {
        std::fprintf(stderr, "%s[%s]%s ", dim_ ? "\033[2m" : "", e.channel.c_str(), dim_ ? "\033[0m" : "");
    } else if (e.kind == Kind::MessageEnd && !answer && show_reasoning_) {
        std::fputs("\n", stderr);
    }
}

}  // namespace silica::app
