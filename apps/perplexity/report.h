// What silica-perplexity prints at the end of a run: llama-perplexity's figures as text, or one
// JSON object (--json) with the same figures.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "apps/perplexity/evaluation.h"

namespace silica::perplexity {

struct RunInfo {
    std::string model, text_file;
    std::string kv_type;
    int threads = 0;
    int64_t text_tokens = 0;
    ChunkPlan plan;
    std::string saved_base;  // --kl-base FILE
    std::string base;        // --kl FILE
};

// The final estimate, the token counts and speed, and with a base the comparison's statistics.
std::string report_text(const RunInfo& info, const EvalResult& result);
nlohmann::json report_json(const RunInfo& info, const EvalResult& result);

}  // namespace silica::perplexity
