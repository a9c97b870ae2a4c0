// A chat request's messages as prompt tokens, in the model's chat format. GPT-OSS has harmony
// (tokenizer/harmony.h); a model without a chat format (GPT-2) gets a 400 that points to
// /v1/completions.
#pragma once
#include <cstdint>
#include <vector>

#include "apps/server/completion_request.h"

namespace silica {
class Tokenizer;
}

namespace silica::server {

// True when the vocabulary has harmony's structure tokens.
bool has_chat_format(const Tokenizer& tokenizer);

// system and developer messages become harmony's developer instructions (joined by blank lines,
// in order); user and assistant messages follow; the prompt ends with "<|start|>assistant".
// `current_date` ("YYYY-MM-DD") goes into the system message. Throws ApiError (400).
std::vector<int32_t> chat_prompt_tokens(const Tokenizer& tokenizer, const CompletionRequest& request,
                                        const std::string& current_date);

}  // namespace silica::server
