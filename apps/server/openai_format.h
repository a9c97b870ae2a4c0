// OpenAI's response shapes: the whole response of a non-streamed request, the SSE chunks of a
// streamed one, usage, logprobs and error objects. Strings that may hold partial UTF-8 (a token's
// bytes) are rendered with U+FFFD in place of invalid bytes; `bytes` arrays carry the exact ones.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "apps/server/api_error.h"
#include "apps/server/completion_request.h"
#include "silica/generation.h"

namespace silica {
class Tokenizer;
}

namespace silica::server {

std::string error_body(int status, const std::string& type, const std::string& message, const std::string& code = {},
                       const std::string& param = {});
inline std::string error_body(const ApiError& e) { return error_body(e.status, e.type, e.what(), e.code, e.param); }

// "stop" or "length" (the other reasons never reach a client).
const char* openai_finish_reason(FinishReason reason);

struct Usage {
    int64_t prompt_tokens = 0;
    int64_t cached_tokens = 0;
    int64_t completion_tokens = 0;
};

// What identifies one response: every chunk repeats it.
struct ResponseHeader {
    Endpoint endpoint = Endpoint::ChatCompletions;
    std::string id;  // "chatcmpl-..." / "cmpl-..."
    int64_t created = 0;
    std::string model;
    bool logprobs = false;
};

// Streamed: each call returns zero or more complete SSE events ("data: {...}\n\n").
class StreamEncoder {
public:
    StreamEncoder(ResponseHeader header, const Tokenizer& tokenizer, int n_choices);
    std::string step(int choice, const GenerationStep& step);
    std::string error(int status, const std::string& type, const std::string& code, const std::string& message) const;
    // The usage chunk (when asked) and "data: [DONE]".
    std::string done(const Usage& usage, bool include_usage) const;

private:
    ResponseHeader header_;
    const Tokenizer& tokenizer_;
    std::vector<uint8_t> started_;      // per choice: the role delta was sent (chat)
    std::vector<int64_t> text_offset_;  // per choice: answer bytes so far (completions logprobs)
};

// Not streamed: collects every step, then renders the whole response.
class ResponseAccumulator {
public:
    ResponseAccumulator(ResponseHeader header, const Tokenizer& tokenizer, int n_choices);
    void step(int choice, const GenerationStep& step);
    std::string body(const Usage& usage) const;
    // The answer text of each choice so far (tests).
    const std::string& text(int choice) const { return choices_[static_cast<size_t>(choice)].text; }

private:
    struct Choice {
        std::string text, reasoning;
        FinishReason finish = FinishReason::None;
        std::vector<GenerationStep> logprob_steps;  // token, logprob, top_logprobs (text cleared)
        std::vector<int64_t> text_offsets;
    };
    ResponseHeader header_;
    const Tokenizer& tokenizer_;
    std::vector<Choice> choices_;
};

}  // namespace silica::server
