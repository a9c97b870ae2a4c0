#include "apps/bench/compare.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "apps/bench/results_files.h"

namespace silica::bench {
namespace {

using nlohmann::json;

// The {mean, stdev} summary at `pointer`, if both are numbers and the mean is positive.
std::optional<std::pair<double, double>> mean_and_stdev(const json& run, const std::string& pointer) {
    const json::json_pointer p(pointer);
    if (!run.contains(p)) return std::nullopt;
    const json& s = run[p];
    if (!s.is_object() || !s.contains("mean") || !s["mean"].is_number()) return std::nullopt;
    const double mean = s["mean"].get<double>();
    const double stdev = s.contains("stdev") && s["stdev"].is_number() ? s["stdev"].get<double>() : 0.0;
    if (!(mean > 0.0)) return std::nullopt;
    return std::make_pair(mean, stdev);
}

MetricChange make_change(const std::string& metric, bool higher_is_better, double before, double after,
                         double threshold) {
    MetricChange c;
    c.metric = metric;
    c.higher_is_better = higher_is_better;
    c.before = before;
    c.after = after;
    c.change = (after - before) / before;
    c.threshold = threshold;
    const double gain = higher_is_better ? c.change : -c.change;
    if (gain < -threshold) c.verdict = "regression";
    else if (gain > threshold) c.verdict = "improvement";
    else c.verdict = "within noise";
    return c;
}

}  // namespace

double noise_threshold(double relative_stdev_before, double relative_stdev_after) {
    const double pooled = std::sqrt((relative_stdev_before * relative_stdev_before +
                                     relative_stdev_after * relative_stdev_after) / 2.0);
    return std::max(2.0 * pooled, kNoiseFloor);
}

std::vector<MetricChange> compare_runs(const json& before, const json& after) {
    struct Figure {
        const char* metric;
        const char* pointer;
        bool higher_is_better;
    };
    static const Figure figures[] = {
        {"prefill_tokens_per_s", "/summary/prefill_tokens_per_s", true},
        {"decode_tokens_per_s", "/summary/decode_tokens_per_s", true},
        {"ttft_ms", "/summary/ttft_ms", false},
    };
    std::vector<MetricChange> changes;
    for (const auto& f : figures) {
        const auto b = mean_and_stdev(before, f.pointer);
        const auto a = mean_and_stdev(after, f.pointer);
        if (!b || !a) continue;
        const double threshold = noise_threshold(b->second / b->first, a->second / a->first);
        changes.push_back(make_change(f.metric, f.higher_is_better, b->first, a->first, threshold));
    }
    const json::json_pointer peak("/peak_rss_mb");
    if (before.contains(peak) && after.contains(peak) && before[peak].is_number() && after[peak].is_number() &&
        before[peak].get<double>() > 0.0)
        changes.push_back(make_change("peak_rss_mb", false, before[peak].get<double>(), after[peak].get<double>(),
                                      kNoiseFloor));
    return changes;
}

std::optional<json> find_baseline(const std::vector<json>& entries, const json& run) {
    for (auto it = entries.rbegin(); it != entries.rend(); ++it)
        if (same_model(*it, run)) return *it;
    return std::nullopt;
}

std::vector<std::string> workload_differences(const json& before, const json& after) {
    std::vector<std::string> diffs;
    for (const char* key : {"prompt_len", "gen_len", "threads", "kv_type", "prompt"}) {
        const json b = before.value(key, json(nullptr));
        const json a = after.value(key, json(nullptr));
        if (b != a) diffs.push_back(fmt::format("{} {} -> {}", key, b.dump(), a.dump()));
    }
    return diffs;
}

json comparison_json(const std::string& file, const json& baseline, const std::vector<MetricChange>& changes,
                     const std::vector<std::string>& differences) {
    json metrics = json::array();
    bool regression = false;
    for (const auto& c : changes) {
        metrics.push_back(json{{"metric", c.metric},
                               {"higher_is_better", c.higher_is_better},
                               {"before", c.before},
                               {"after", c.after},
                               {"change", c.change},
                               {"threshold", c.threshold},
                               {"verdict", c.verdict}});
        regression = regression || c.verdict == "regression";
    }
    return json{{"file", file},
                {"baseline_timestamp", baseline.value("timestamp", "")},
                {"baseline_git_revision", baseline.value("git_revision", "")},
                {"workload_differences", differences},
                {"metrics", std::move(metrics)},
                {"regression", regression}};
}

std::string format_comparison(const json& comparison) {
    std::string out = fmt::format("compared with the run of {} (revision {}) in {}\n",
                                  comparison.value("baseline_timestamp", "?"),
                                  comparison.value("baseline_git_revision", "?"), comparison.value("file", "?"));
    for (const auto& d : comparison["workload_differences"])
        out += fmt::format("  note: the workloads differ: {}\n", d.get<std::string>());
    out += fmt::format("  {:<22} {:>12} {:>12} {:>9} {:>8}  {}\n", "figure", "before", "after", "change", "noise",
                       "verdict");
    for (const auto& m : comparison["metrics"]) {
        const std::string verdict = m["verdict"].get<std::string>();
        out += fmt::format("  {:<22} {:>12.2f} {:>12.2f} {:>+8.1f}% {:>7.1f}%  {}\n", m["metric"].get<std::string>(),
                           m["before"].get<double>(), m["after"].get<double>(), 100.0 * m["change"].get<double>(),
                           100.0 * m["threshold"].get<double>(), verdict == "regression" ? "REGRESSION" : verdict);
    }
    return out;
}

}  // namespace silica::bench
