#include "apps/server/metrics.h"

#include <cstdio>

namespace silica::server {
namespace {

std::string number(double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.9g", v);
    return buf;
}

void line(std::string& out, const std::string& name, double value) { out += name + " " + number(value) + "\n"; }

void header(std::string& out, const char* name, const char* type, const char* help) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

}  // namespace

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::observe(double value) {
    size_t i = 0;
    while (i < bounds_.size() && value > bounds_[i]) ++i;
    ++counts_[i];
    sum_ += value;
    ++count_;
}

void Histogram::render(std::string& out, const std::string& name) const {
    uint64_t cumulative = 0;
    for (size_t i = 0; i < bounds_.size(); ++i) {
        cumulative += counts_[i];
        out += name + "_bucket{le=\"" + number(bounds_[i]) + "\"} " + std::to_string(cumulative) + "\n";
    }
    out += name + "_bucket{le=\"+Inf\"} " + std::to_string(count_) + "\n";
    line(out, name + "_sum", sum_);
    out += name + "_count " + std::to_string(count_) + "\n";
}

Metrics::Metrics()
    : ttft_({0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}),
      itl_({0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1}) {}

void Metrics::request_finished(const std::string& endpoint, int status) {
    std::lock_guard<std::mutex> lock(mutex_);
    ++requests_[{endpoint, status}];
}
void Metrics::prompt_tokens(int64_t n, int64_t cached) {
    std::lock_guard<std::mutex> lock(mutex_);
    prompt_tokens_ += static_cast<uint64_t>(n);
    cached_prompt_tokens_ += static_cast<uint64_t>(cached);
}
void Metrics::generated_tokens(int64_t n) {
    std::lock_guard<std::mutex> lock(mutex_);
    generated_tokens_ += static_cast<uint64_t>(n);
}
void Metrics::time_to_first_token(double s) {
    std::lock_guard<std::mutex> lock(mutex_);
    ttft_.observe(s);
}
void Metrics::inter_token_latency(double s) {
    std::lock_guard<std::mutex> lock(mutex_);
    itl_.observe(s);
}
void Metrics::speculative_pass(int64_t proposed, int64_t accepted) {
    std::lock_guard<std::mutex> lock(mutex_);
    ++verify_passes_;
    proposed_tokens_ += static_cast<uint64_t>(proposed);
    accepted_tokens_ += static_cast<uint64_t>(accepted);
}
void Metrics::draft_passes(int64_t n) {
    std::lock_guard<std::mutex> lock(mutex_);
    draft_passes_ += static_cast<uint64_t>(n);
}

void Metrics::cancelled() {
    std::lock_guard<std::mutex> lock(mutex_);
    ++cancelled_;
}
void Metrics::set_gauges(const SchedulerGauges& g) {
    std::lock_guard<std::mutex> lock(mutex_);
    gauges_ = g;
}
SchedulerGauges Metrics::gauges() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return gauges_;
}

std::string Metrics::render() const {
    std::lock_guard<std::mutex> lock(mutex_);
    std::string out;
    header(out, "silica_requests_total", "counter", "HTTP requests answered, by endpoint and status");
    for (const auto& [key, n] : requests_)
        out += "silica_requests_total{endpoint=\"" + key.first + "\",status=\"" + std::to_string(key.second) + "\"} " +
               std::to_string(n) + "\n";
    // One sample per metric: name, type, help, value.
    struct Sample {
        const char* name;
        const char* type;
        const char* help;
        double value;
    };
    const auto d = [](auto v) { return static_cast<double>(v); };
    const Sample samples[] = {
        {"silica_prompt_tokens_total", "counter", "prompt tokens of accepted requests", d(prompt_tokens_)},
        {"silica_prompt_tokens_cached_total", "counter", "prompt tokens taken from the prefix cache", d(cached_prompt_tokens_)},
        {"silica_generated_tokens_total", "counter", "tokens generated", d(generated_tokens_)},
        {"silica_requests_cancelled_total", "counter", "requests whose client went away before the end", d(cancelled_)},
        {"silica_speculative_passes_total", "counter", "engine passes that verified proposals (n-gram lookup or draft model)", d(verify_passes_)},
        {"silica_speculative_proposed_tokens_total", "counter", "proposed tokens verified", d(proposed_tokens_)},
        {"silica_speculative_accepted_tokens_total", "counter", "proposed tokens kept", d(accepted_tokens_)},
        {"silica_speculative_draft_passes_total", "counter", "decode calls of the draft model's engine", d(draft_passes_)},
        {"silica_queue_length", "gauge", "requests waiting for a slot", d(gauges_.queued_jobs)},
        {"silica_running_requests", "gauge", "requests holding slots", d(gauges_.running_jobs)},
        {"silica_active_sequences", "gauge", "sequences in the engine", d(gauges_.active_sequences)},
        {"silica_draft_sequences", "gauge", "sequences in the draft model's engine", d(gauges_.draft_sequences)},
        {"silica_kv_sequence_blocks", "gauge", "live KV blocks that some sequence holds", d(gauges_.kv_blocks_in_sequences)},
        {"silica_kv_shared_blocks", "gauge", "KV blocks held by more than one owner", d(gauges_.kv_shared_blocks)},
        {"silica_kv_prefix_cache_blocks", "gauge", "token blocks the prefix cache holds", d(gauges_.kv_prefix_cache_blocks)},
        {"silica_kv_committed_bytes", "gauge", "KV pool pages committed", d(gauges_.kv_committed_bytes)},
        {"silica_kv_capacity_bytes", "gauge", "KV pool capacity", d(gauges_.kv_capacity_bytes)},
        {"silica_engine_steps_total", "counter", "engine forward passes", d(gauges_.engine_steps)},
    };
    for (const Sample& m : samples) {
        header(out, m.name, m.type, m.help);
        line(out, m.name, m.value);
    }
    header(out, "silica_kv_blocks", "gauge", "live KV blocks by tier (a shared block counts once)");
    out += "silica_kv_blocks{tier=\"hot\"} " + std::to_string(gauges_.kv_hot_blocks) + "\n";
    out += "silica_kv_blocks{tier=\"warm\"} " + std::to_string(gauges_.kv_warm_blocks) + "\n";
    header(out, "silica_time_to_first_token_seconds", "histogram", "from request accepted to first token");
    ttft_.render(out, "silica_time_to_first_token_seconds");
    header(out, "silica_inter_token_latency_seconds", "histogram", "between consecutive tokens of a choice");
    itl_.render(out, "silica_inter_token_latency_seconds");
    return out;
}

}  // namespace silica::server
