// The body of POST /v1/chat/completions and /v1/completions, parsed and checked against OpenAI's
// API reference. Everything a client can send goes through parse_completion_request (fuzzed by
// tests/fuzz/server_request_fuzz.cpp); unknown fields are ignored, wrong ones are a 400 naming
// the field.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "silica/sampler.h"

namespace silica::server {

enum class Endpoint { ChatCompletions, Completions };

struct ChatMessageIn {
    std::string role;     // "system", "developer", "user", "assistant"
    std::string content;  // text parts joined
};

// Bounds on what one request may ask for (server flags).
struct RequestLimits {
    int max_n = 8;                 // choices per request (also <= --parallel)
    int max_top_logprobs = 20;     // OpenAI's own limit
    size_t max_messages = 512;
    size_t max_stop_strings = 4;   // OpenAI's own limit
    int64_t max_tokens = 1 << 20;  // the context bounds it further at scheduling time
};

struct CompletionRequest {
    Endpoint endpoint = Endpoint::ChatCompletions;
    std::string model;  // may be empty (then the served model)
    // chat: the conversation; completions: the prompt as text or as token ids
    std::vector<ChatMessageIn> messages;
    std::string prompt;
    std::vector<int32_t> prompt_tokens;
    bool prompt_is_tokens = false;
    std::optional<int64_t> max_tokens;  // max_tokens or max_completion_tokens
    SamplerOptions sampling;            // OpenAI's defaults: temperature 1, top_p 1, no top-k, no min-p
    bool seed_given = false;
    std::vector<std::string> stop;
    int n = 1;
    bool stream = false;
    bool include_usage = false;  // stream_options.include_usage
    bool logprobs = false;
    int top_logprobs = 0;
    std::string reasoning_effort;  // "low" | "medium" | "high" | "" (the model's default)
    bool ignore_eos = false;       // llama-server's extension: end-of-text tokens do not stop (benchmarks)
    // Silica's extensions: speculative decoding by n-gram lookup (server default: --lookup) or by
    // the server's draft model (default: on when it has one), and the most tokens proposed per
    // pass (default: --draft-max). The text is the same either way.
    std::optional<bool> lookup;
    std::optional<bool> draft;
    std::optional<int> draft_max;
};

// Throws ApiError (400) for malformed JSON, invalid UTF-8, a wrong type or value of a known field,
// or a request beyond `limits`.
CompletionRequest parse_completion_request(std::string_view body, Endpoint endpoint, const RequestLimits& limits);

enum class Proposer { None, Lookup, DraftModel };
// What a request speculates with, given the server's default for lookup (--lookup) and whether
// it has a draft model (then the default). Throws a 400: "draft": true without a draft model
// (param "draft"), lookup with the draft model on (param "lookup": choose one proposer).
Proposer choose_proposer(const CompletionRequest& r, bool lookup_default, bool draft_loaded);

}  // namespace silica::server
