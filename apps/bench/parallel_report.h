// bench --parallel's figures: its JSON object (docs/BENCH.md, "Parallel decode") and the table
// printed for people.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "apps/bench/bandwidth_probe.h"
#include "apps/bench/parallel_workload.h"
#include "apps/bench/run_record.h"
#include "apps/bench/weight_traffic.h"

namespace silica::bench {

struct ParallelRecord {
    std::string timestamp, git_revision;
    ModelIdentity model;
    SystemFigures system;
    WeightTraffic traffic;
    int64_t n_expert = 0, n_expert_used = 0;  // 0 for dense models
    int64_t prompt_len = 0, gen_len = 0;
    int warmup = 0, iterations = 0;
    std::string kv_type;
    bool same_prompt = false;  // --same-prompt: every sequence had the same prompt
    std::vector<ParallelResult> runs;  // one per --parallel value, in order
};

nlohmann::json to_json(const ParallelRecord& record);
std::string format_parallel_report(const nlohmann::json& run);

}  // namespace silica::bench
