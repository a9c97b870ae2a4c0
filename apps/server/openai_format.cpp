#include "apps/server/openai_format.h"

#include <nlohmann/json.hpp>

#include "silica/tokenizer.h"

namespace silica::server {
namespace {

using json = nlohmann::json;

// Invalid UTF-8 (a token that ends inside a character) becomes U+FFFD instead of an exception.
std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

std::string sse(const json& j) { return "data: " + dump(j) + "\n\n"; }

json bytes_of(const std::string& s) {
    json a = json::array();
    for (unsigned char c : s) a.push_back(static_cast<int>(c));
    return a;
}

// A chat logprobs entry: {"token", "logprob", "bytes", "top_logprobs": [...]}.
json chat_logprob(const Tokenizer& tok, const GenerationStep& s) {
    const std::string& t = tok.token_bytes(s.token);
    json top = json::array();
    for (const TokenLogprob& e : s.top_logprobs) {
        const std::string& b = tok.token_bytes(e.token);
        top.push_back({{"token", b}, {"logprob", e.logprob}, {"bytes", bytes_of(b)}});
    }
    return {{"token", t}, {"logprob", s.logprob}, {"bytes", bytes_of(t)}, {"top_logprobs", top}};
}

// The legacy completions logprobs object for a run of steps.
json completion_logprobs(const Tokenizer& tok, const std::vector<GenerationStep>& steps, const std::vector<int64_t>& offsets) {
    json tokens = json::array(), lps = json::array(), tops = json::array(), offs = json::array();
    for (size_t i = 0; i < steps.size(); ++i) {
        tokens.push_back(tok.token_bytes(steps[i].token));
        lps.push_back(steps[i].logprob);
        json top = json::object();  // keys: token text (invalid UTF-8 is replaced when dumped)
        for (const TokenLogprob& e : steps[i].top_logprobs) top[tok.token_bytes(e.token)] = e.logprob;
        tops.push_back(top);
        offs.push_back(offsets[i]);
    }
    return {{"tokens", tokens}, {"token_logprobs", lps}, {"top_logprobs", tops}, {"text_offset", offs}};
}

json usage_json(const Usage& u) {
    return {{"prompt_tokens", u.prompt_tokens},
            {"completion_tokens", u.completion_tokens},
            {"total_tokens", u.prompt_tokens + u.completion_tokens},
            {"prompt_tokens_details", {{"cached_tokens", u.cached_tokens}}}};
}

json envelope(const ResponseHeader& h, bool chunk) {
    const bool chat = h.endpoint == Endpoint::ChatCompletions;
    return {{"id", h.id},
            {"object", chat ? (chunk ? "chat.completion.chunk" : "chat.completion") : "text_completion"},
            {"created", h.created},
            {"model", h.model},
            {"system_fingerprint", "silica"}};
}

bool wants_logprob(const ResponseHeader& h, const GenerationStep& s) { return h.logprobs && s.token >= 0; }

}  // namespace

std::string error_body(int status, const std::string& type, const std::string& message, const std::string& code,
                       const std::string& param) {
    json e = {{"message", message}, {"type", type}, {"param", param.empty() ? json(nullptr) : json(param)},
              {"code", code.empty() ? json(status) : json(code)}};
    return dump(json{{"error", e}});
}

const char* openai_finish_reason(FinishReason reason) {
    switch (reason) {
        case FinishReason::Length:
        case FinishReason::ContextFull: return "length";
        default: return "stop";
    }
}

StreamEncoder::StreamEncoder(ResponseHeader header, const Tokenizer& tokenizer, int n)
    : header_(std::move(header)), tokenizer_(tokenizer), started_(static_cast<size_t>(n), 0), text_offset_(static_cast<size_t>(n), 0) {}

std::string StreamEncoder::step(int k, const GenerationStep& s) {
    const size_t i = static_cast<size_t>(k);
    std::string out;
    const bool chat = header_.endpoint == Endpoint::ChatCompletions;
    auto chunk = [&](json choice) {
        json j = envelope(header_, true);
        choice["index"] = k;
        if (!choice.contains("finish_reason")) choice["finish_reason"] = nullptr;
        if (!choice.contains("logprobs")) choice["logprobs"] = nullptr;
        j["choices"] = json::array({choice});
        out += sse(j);
    };
    if (chat && !started_[i]) {
        started_[i] = 1;
        chunk({{"delta", {{"role", "assistant"}, {"content", ""}}}});
    }
    const bool lp = wants_logprob(header_, s);
    if (!s.text.empty() || !s.reasoning.empty() || lp) {
        json choice;
        if (chat) {
            json delta = json::object();
            if (!s.text.empty()) delta["content"] = s.text;
            if (!s.reasoning.empty()) delta["reasoning_content"] = s.reasoning;
            choice["delta"] = delta;
            if (lp) choice["logprobs"] = {{"content", json::array({chat_logprob(tokenizer_, s)})}};
        } else {
            choice["text"] = s.text;
            if (lp) choice["logprobs"] = completion_logprobs(tokenizer_, {s}, {text_offset_[i]});
            text_offset_[i] += static_cast<int64_t>(s.text.size());
        }
        chunk(choice);
    }
    if (s.finished()) {
        json choice = chat ? json{{"delta", json::object()}} : json{{"text", ""}};
        choice["finish_reason"] = openai_finish_reason(s.finish);
        chunk(choice);
    }
    return out;
}

std::string StreamEncoder::error(int status, const std::string& type, const std::string& code, const std::string& message) const {
    return "data: " + error_body(status, type, message, code) + "\n\n";
}

std::string StreamEncoder::done(const Usage& usage, bool include_usage) const {
    std::string out;
    if (include_usage) {
        json j = envelope(header_, true);
        j["choices"] = json::array();
        j["usage"] = usage_json(usage);
        out += sse(j);
    }
    return out + "data: [DONE]\n\n";
}

ResponseAccumulator::ResponseAccumulator(ResponseHeader header, const Tokenizer& tokenizer, int n)
    : header_(std::move(header)), tokenizer_(tokenizer), choices_(static_cast<size_t>(n)) {}

void ResponseAccumulator::step(int k, const GenerationStep& s) {
    Choice& c = choices_[static_cast<size_t>(k)];
    if (wants_logprob(header_, s)) {
        GenerationStep kept;
        kept.token = s.token;
        kept.logprob = s.logprob;
        kept.top_logprobs = s.top_logprobs;
        c.logprob_steps.push_back(std::move(kept));
        c.text_offsets.push_back(static_cast<int64_t>(c.text.size()));
    }
    c.text += s.text;
    c.reasoning += s.reasoning;
    if (s.finished()) c.finish = s.finish;
}

std::string ResponseAccumulator::body(const Usage& usage) const {
    json j = envelope(header_, false);
    json choices = json::array();
    const bool chat = header_.endpoint == Endpoint::ChatCompletions;
    for (size_t k = 0; k < choices_.size(); ++k) {
        const Choice& c = choices_[k];
        json choice = {{"index", k}, {"finish_reason", openai_finish_reason(c.finish)}, {"logprobs", nullptr}};
        if (chat) {
            json message = {{"role", "assistant"}, {"content", c.text}};
            if (!c.reasoning.empty()) message["reasoning_content"] = c.reasoning;
            choice["message"] = message;
            if (header_.logprobs) {
                json content = json::array();
                for (const GenerationStep& s : c.logprob_steps) content.push_back(chat_logprob(tokenizer_, s));
                choice["logprobs"] = {{"content", content}};
            }
        } else {
            choice["text"] = c.text;
            if (header_.logprobs) choice["logprobs"] = completion_logprobs(tokenizer_, c.logprob_steps, c.text_offsets);
        }
        choices.push_back(choice);
    }
    j["choices"] = choices;
    j["usage"] = usage_json(usage);
    return dump(j);
}

}  // namespace silica::server
