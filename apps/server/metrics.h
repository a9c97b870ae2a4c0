// The server's counters, gauges and latency histograms, rendered as Prometheus text for
// GET /metrics. Thread-safe: HTTP threads and the scheduler update it.
#pragma once
#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace silica::server {

class Histogram {
public:
    explicit Histogram(std::vector<double> bounds);
    void observe(double value);
    // "name_bucket{le=...} n" lines, name_sum and name_count.
    void render(std::string& out, const std::string& name) const;

private:
    std::vector<double> bounds_;
    std::vector<uint64_t> counts_;  // per bound, plus +Inf
    double sum_ = 0.0;
    uint64_t count_ = 0;
};

// What the scheduler reports after each step.
struct SchedulerGauges {
    int64_t queued_jobs = 0;
    int64_t running_jobs = 0;
    int64_t active_sequences = 0;
    int64_t kv_hot_blocks = 0, kv_warm_blocks = 0, kv_shared_blocks = 0, kv_prefix_cache_blocks = 0;
    int64_t kv_blocks_in_sequences = 0;  // live blocks minus those only the prefix cache holds
    uint64_t kv_committed_bytes = 0, kv_capacity_bytes = 0;
    uint64_t engine_steps = 0;
    int64_t draft_sequences = 0;  // in the draft model's engine (0 without one)
};

class Metrics {
public:
    Metrics();
    void request_finished(const std::string& endpoint, int status);
    void prompt_tokens(int64_t n, int64_t cached);
    void generated_tokens(int64_t n);
    void time_to_first_token(double seconds);
    void inter_token_latency(double seconds);
    void cancelled();
    // A verify pass of proposals (n-gram lookup or draft model): `proposed` checked, `accepted` kept.
    void speculative_pass(int64_t proposed, int64_t accepted);
    // Decode calls of the draft model's engine.
    void draft_passes(int64_t n);
    void set_gauges(const SchedulerGauges& g);
    SchedulerGauges gauges() const;
    std::string render() const;

private:
    mutable std::mutex mutex_;
    std::map<std::pair<std::string, int>, uint64_t> requests_;
    uint64_t prompt_tokens_ = 0, cached_prompt_tokens_ = 0, generated_tokens_ = 0, cancelled_ = 0;
    uint64_t verify_passes_ = 0, proposed_tokens_ = 0, accepted_tokens_ = 0, draft_passes_ = 0;
    Histogram ttft_, itl_;
    SchedulerGauges gauges_;
};

}  // namespace silica::server
