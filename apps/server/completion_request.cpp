#include "apps/server/completion_request.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "apps/server/api_error.h"
#include "silica/tokenizer.h"

namespace silica::server {
namespace {

using json = nlohmann::json;

// Nesting deeper than this is refused before parsing (no request needs more than ~4 levels).
constexpr int kMaxJsonDepth = 32;

void check_nesting(std::string_view body) {
    int depth = 0;
    bool in_string = false, escaped = false;
    for (char c : body) {
        if (in_string) {
            if (escaped) escaped = false;
            else if (c == '\\') escaped = true;
            else if (c == '"') in_string = false;
            continue;
        }
        if (c == '"') in_string = true;
        else if (c == '[' || c == '{') {
            if (++depth > kMaxJsonDepth) throw invalid_request("request body is nested too deeply");
        } else if (c == ']' || c == '}') --depth;
    }
}

const json* field(const json& body, const char* name) {
    auto it = body.find(name);
    if (it == body.end() || it->is_null()) return nullptr;
    return &*it;
}

std::string type_error(const char* name, const char* expected) {
    return std::string("'") + name + "' must be " + expected;
}

double number_in(const json& body, const char* name, double lo, double hi, double fallback) {
    const json* v = field(body, name);
    if (!v) return fallback;
    if (!v->is_number()) throw invalid_request(type_error(name, "a number"), name);
    const double x = v->get<double>();
    if (!(x >= lo && x <= hi))
        throw invalid_request(std::string("'") + name + "' must be between " + json(lo).dump() + " and " + json(hi).dump(), name);
    return x;
}

std::optional<int64_t> integer_in(const json& body, const char* name, int64_t lo, int64_t hi) {
    const json* v = field(body, name);
    if (!v) return std::nullopt;
    if (!v->is_number_integer()) throw invalid_request(type_error(name, "an integer"), name);
    if (v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))
        throw invalid_request(std::string("'") + name + "' is too large", name);
    const int64_t x = v->get<int64_t>();
    if (x < lo || x > hi)
        throw invalid_request(std::string("'") + name + "' must be between " + std::to_string(lo) + " and " + std::to_string(hi), name);
    return x;
}

bool boolean(const json& body, const char* name, bool fallback) {
    const json* v = field(body, name);
    if (!v) return fallback;
    if (!v->is_boolean()) throw invalid_request(type_error(name, "a boolean"), name);
    return v->get<bool>();
}

std::string message_content(const json& m, size_t index) {
    const std::string param = "messages[" + std::to_string(index) + "].content";
    auto it = m.find("content");
    if (it == m.end() || it->is_null()) return {};
    if (it->is_string()) return it->get<std::string>();
    if (!it->is_array()) throw invalid_request("'" + param + "' must be a string or an array of text parts", param);
    std::string text;
    for (const json& part : *it) {
        if (!part.is_object()) throw invalid_request("'" + param + "' parts must be objects", param);
        auto type = part.find("type");
        if (type == part.end() || !type->is_string() || *type != "text")
            throw invalid_request("'" + param + "': only parts of type \"text\" are supported", param);
        auto t = part.find("text");
        if (t == part.end() || !t->is_string()) throw invalid_request("'" + param + "': a text part needs a string 'text'", param);
        text += t->get<std::string>();
    }
    return text;
}

void parse_messages(const json& body, const RequestLimits& limits, CompletionRequest& r) {
    const json* v = field(body, "messages");
    if (!v) throw invalid_request("'messages' is required", "messages");
    if (!v->is_array() || v->empty()) throw invalid_request("'messages' must be a non-empty array", "messages");
    if (v->size() > limits.max_messages)
        throw invalid_request("'messages' has " + std::to_string(v->size()) + " entries; at most " +
                                  std::to_string(limits.max_messages) + " are allowed", "messages");
    for (size_t i = 0; i < v->size(); ++i) {
        const json& m = (*v)[i];
        const std::string param = "messages[" + std::to_string(i) + "]";
        if (!m.is_object()) throw invalid_request("'" + param + "' must be an object", param);
        auto role = m.find("role");
        if (role == m.end() || !role->is_string()) throw invalid_request("'" + param + ".role' must be a string", param + ".role");
        const std::string rs = role->get<std::string>();
        if (rs != "system" && rs != "developer" && rs != "user" && rs != "assistant")
            throw invalid_request("'" + param + ".role' \"" + rs +
                                      "\" is not supported (system, developer, user and assistant are)", param + ".role");
        r.messages.push_back({rs, message_content(m, i)});
    }
}

void parse_prompt(const json& body, CompletionRequest& r) {
    const json* v = field(body, "prompt");
    if (!v) throw invalid_request("'prompt' is required", "prompt");
    const json* p = v;
    if (v->is_array() && v->size() == 1 && ((*v)[0].is_string() || (*v)[0].is_array())) p = &(*v)[0];
    if (p->is_string()) {
        r.prompt = p->get<std::string>();
        return;
    }
    if (p->is_array() && !p->empty() && std::all_of(p->begin(), p->end(), [](const json& t) { return t.is_number_integer(); })) {
        r.prompt_is_tokens = true;
        for (const json& t : *p) {
            const int64_t id = t.get<int64_t>();
            if (id < 0 || id > INT32_MAX) throw invalid_request("'prompt' has a token id out of range", "prompt");
            r.prompt_tokens.push_back(static_cast<int32_t>(id));
        }
        return;
    }
    if (p->is_array() && p != v) throw invalid_request("'prompt' must be a string or an array of token ids", "prompt");
    if (v->is_array() && v->size() > 1)
        throw invalid_request("'prompt' holds several prompts; send one prompt per request", "prompt");
    throw invalid_request("'prompt' must be a string or an array of token ids", "prompt");
}

void parse_stop(const json& body, const RequestLimits& limits, CompletionRequest& r) {
    const json* v = field(body, "stop");
    if (!v) return;
    if (v->is_string()) r.stop.push_back(v->get<std::string>());
    else if (v->is_array()) {
        for (const json& s : *v) {
            if (!s.is_string()) throw invalid_request("'stop' must be a string or an array of strings", "stop");
            r.stop.push_back(s.get<std::string>());
        }
    } else throw invalid_request("'stop' must be a string or an array of strings", "stop");
    if (r.stop.size() > limits.max_stop_strings)
        throw invalid_request("'stop' may hold at most " + std::to_string(limits.max_stop_strings) + " strings", "stop");
    for (const std::string& s : r.stop)
        if (s.empty()) throw invalid_request("'stop' strings must not be empty", "stop");
}

}  // namespace

CompletionRequest parse_completion_request(std::string_view text, Endpoint endpoint, const RequestLimits& limits) {
    if (auto bad = find_invalid_utf8(text)) throw invalid_request("request body is not valid UTF-8 (byte " + std::to_string(*bad) + ")");
    check_nesting(text);
    json body;
    try {
        body = json::parse(text);
    } catch (const json::exception& e) {
        throw invalid_request(std::string("request body is not valid JSON: ") + e.what());
    }
    if (!body.is_object()) throw invalid_request("request body must be a JSON object");

    CompletionRequest r;
    r.endpoint = endpoint;
    if (const json* m = field(body, "model")) {
        if (!m->is_string()) throw invalid_request(type_error("model", "a string"), "model");
        r.model = m->get<std::string>();
    }
    if (endpoint == Endpoint::ChatCompletions) parse_messages(body, limits, r);
    else parse_prompt(body, r);

    r.max_tokens = integer_in(body, "max_tokens", 1, limits.max_tokens);
    if (auto m = integer_in(body, "max_completion_tokens", 1, limits.max_tokens)) r.max_tokens = m;

    // OpenAI's defaults, not the command line's: temperature 1, nucleus and top-k off.
    r.sampling.temperature = static_cast<float>(number_in(body, "temperature", 0.0, 2.0, 1.0));
    r.sampling.top_p = static_cast<float>(number_in(body, "top_p", 0.0, 1.0, 1.0));
    r.sampling.top_k = static_cast<int>(integer_in(body, "top_k", 0, INT32_MAX).value_or(0));
    r.sampling.min_p = static_cast<float>(number_in(body, "min_p", 0.0, 1.0, 0.0));
    r.sampling.presence_penalty = static_cast<float>(number_in(body, "presence_penalty", -2.0, 2.0, 0.0));
    r.sampling.frequency_penalty = static_cast<float>(number_in(body, "frequency_penalty", -2.0, 2.0, 0.0));
    r.sampling.repeat_penalty = 1.0f;
    r.sampling.repeat_last_n = -1;  // OpenAI's penalties look at all the text so far
    if (auto seed = integer_in(body, "seed", INT64_MIN, INT64_MAX)) {
        r.seed_given = true;
        r.sampling.seed = static_cast<uint64_t>(*seed);
    }
    parse_stop(body, limits, r);
    r.n = static_cast<int>(integer_in(body, "n", 1, limits.max_n).value_or(1));
    r.stream = boolean(body, "stream", false);
    r.ignore_eos = boolean(body, "ignore_eos", false);
    if (field(body, "lookup")) r.lookup = boolean(body, "lookup", false);
    if (field(body, "draft")) r.draft = boolean(body, "draft", false);
    if (auto k = integer_in(body, "draft_max", 1, 64)) r.draft_max = static_cast<int>(*k);
    if (const json* so = field(body, "stream_options")) {
        if (!so->is_object()) throw invalid_request(type_error("stream_options", "an object"), "stream_options");
        r.include_usage = boolean(*so, "include_usage", false);
    }
    if (endpoint == Endpoint::ChatCompletions) {
        r.logprobs = boolean(body, "logprobs", false);
        r.top_logprobs = static_cast<int>(integer_in(body, "top_logprobs", 0, limits.max_top_logprobs).value_or(0));
        if (r.top_logprobs > 0 && !r.logprobs)
            throw invalid_request("'top_logprobs' requires 'logprobs' to be true", "top_logprobs");
        if (const json* e = field(body, "reasoning_effort")) {
            if (!e->is_string() || (*e != "low" && *e != "medium" && *e != "high"))
                throw invalid_request("'reasoning_effort' must be \"low\", \"medium\" or \"high\"", "reasoning_effort");
            r.reasoning_effort = e->get<std::string>();
        }
    } else if (auto lp = integer_in(body, "logprobs", 0, 5)) {  // the legacy API: how many top tokens
        r.logprobs = true;
        r.top_logprobs = static_cast<int>(*lp);
    }
    return r;
}

Proposer choose_proposer(const CompletionRequest& r, bool lookup_default, bool draft_loaded) {
    if (r.draft == true && !draft_loaded)
        throw invalid_request("'draft' is true but this server has no draft model (start it with --draft-model)", "draft");
    const bool draft = r.draft.value_or(draft_loaded);
    const bool lookup = r.lookup.value_or(lookup_default);
    if (lookup && draft)
        throw invalid_request("'lookup' is true and the draft model is on: choose one proposer (\"draft\": false for lookup)", "lookup");
    return draft ? Proposer::DraftModel : lookup ? Proposer::Lookup : Proposer::None;
}

}  // namespace silica::server
