#include "apps/infer/chat.h"

#include <chrono>
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

}  // namespace silica::app
