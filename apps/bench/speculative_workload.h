// bench --lookup / --draft-model / --verify-cost: speculative decoding against plain decoding in
// the same run, and the engine's cost of verifying k tokens in one pass (docs/BENCH.md).
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include <nlohmann/json.hpp>

#include "silica/model.h"
#include "silica/session.h"

namespace silica::bench {

struct SpeculativeBenchOptions {
    std::vector<int32_t> prompt;
    int64_t gen_len = 128;
    int warmup = 1, iterations = 3;
    SessionOptions session;
    std::shared_ptr<const Model> draft;  // null: n-gram lookup
    int draft_max = 8;
    float draft_p_min = 0.5f;
    bool adaptive = true;
    float verify_cost_per_token = -1.0f;  // SpeculativeOptions::verify_cost_per_token
};

// Per iteration: plain greedy decoding of gen_len tokens and the same with speculation (which goes
// first alternates from one iteration to the next), each
// from a freshly evaluated prompt (prompt time excluded). JSON: tokens/s of both, the speedup,
// acceptance, mean accepted length, and whether the texts were identical.
nlohmann::json run_speculative_workload(const std::shared_ptr<const Model>& model, const SpeculativeBenchOptions& o);

// After the prompt: the median time of one single-token decode step, and of one k-token pass
// with logits for every token (as a verify pass), k = 1..k_max, each ÷ the single step.
nlohmann::json run_verify_cost(const std::shared_ptr<const Model>& model, const std::vector<int32_t>& prompt,
                               const SessionOptions& session, int k_max, int repetitions);

}  // namespace silica::bench
