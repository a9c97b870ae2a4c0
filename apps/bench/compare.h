// --compare: the change of this run against an earlier one, with a noise rule that decides what
// counts as a regression (docs/BENCH.md, "Comparing runs").
//
// Noise rule, per figure: each run's relative spread is its stdev / mean over the measured
// iterations; the pooled relative spread is sqrt((r_before^2 + r_after^2) / 2); a change counts
// when |after - before| / before exceeds max(2 * pooled, 5%). Peak RSS has no spread across
// iterations, so only the 5% floor applies to it.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace silica::bench {

inline constexpr double kNoiseFloor = 0.05;

struct MetricChange {
    std::string metric;        // e.g. "decode_tokens_per_s"
    bool higher_is_better = true;
    double before = 0.0, after = 0.0;
    double change = 0.0;       // (after - before) / before
    double threshold = 0.0;    // the noise threshold for this figure, as a fraction
    std::string verdict;       // "regression", "improvement" or "within noise"
};

// The noise threshold for two runs' relative spreads (stdev / mean).
double noise_threshold(double relative_stdev_before, double relative_stdev_after);

// The figures both runs have: prefill and decode tokens/s (means), time to first token (mean),
// peak RSS.
std::vector<MetricChange> compare_runs(const nlohmann::json& before, const nlohmann::json& after);

// The last entry of `entries` that is of the same model as `run` (see same_model).
std::optional<nlohmann::json> find_baseline(const std::vector<nlohmann::json>& entries, const nlohmann::json& run);

// Differences in workload (prompt_len, gen_len, threads, kv_type) that make a comparison
// apples-to-oranges, as readable text; empty if none.
std::vector<std::string> workload_differences(const nlohmann::json& before, const nlohmann::json& after);

// The comparison as JSON: {file, baseline_timestamp, baseline_git_revision, workload_differences,
// metrics: [{metric, before, after, change, threshold, verdict}], regression}.
nlohmann::json comparison_json(const std::string& file, const nlohmann::json& baseline,
                               const std::vector<MetricChange>& changes, const std::vector<std::string>& differences);

// Readable lines for the terminal.
std::string format_comparison(const nlohmann::json& comparison);

}  // namespace silica::bench
