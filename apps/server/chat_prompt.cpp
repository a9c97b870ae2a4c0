#include "apps/server/chat_prompt.h"

#include "apps/server/api_error.h"
#include "silica/tokenizer.h"
#include "tokenizer/harmony.h"

namespace silica::server {

bool has_chat_format(const Tokenizer& tokenizer) {
    for (const char* t : {"<|start|>", "<|message|>", "<|end|>", "<|channel|>", "<|return|>"})
        if (tokenizer.find_token(t) < 0) return false;
    return true;
}

std::vector<int32_t> chat_prompt_tokens(const Tokenizer& tokenizer, const CompletionRequest& request,
                                        const std::string& current_date) {
    if (!has_chat_format(tokenizer))
        throw ApiError(400, "invalid_request_error",
                       "this model has no chat format (no harmony tokens in its vocabulary); use /v1/completions",
                       "no_chat_format");
    harmony::SystemOptions sys;
    sys.current_date = current_date;
    if (!request.reasoning_effort.empty()) sys.reasoning = harmony::parse_reasoning(request.reasoning_effort);
    std::string instructions;
    std::vector<harmony::ChatMessage> messages;
    for (const ChatMessageIn& m : request.messages) {
        if (m.role == "system" || m.role == "developer") {
            if (!instructions.empty()) instructions += "\n\n";
            instructions += m.content;
        } else {
            messages.push_back({m.role, m.content, m.role == "assistant" ? "final" : ""});
        }
    }
    return harmony::encode_prompt(tokenizer, sys, instructions, messages);
}

}  // namespace silica::server
