#include "apps/bench/run_record.h"

#include <algorithm>

#include "silica/error.h"

namespace silica::bench {
namespace {

using nlohmann::json;

json optional_number(const std::optional<double>& v) { return v ? json(*v) : json(nullptr); }

double sum(const std::vector<double>& xs) {
    double s = 0.0;
    for (double x : xs) s += x;
    return s;
}

json variant_json(const VariantFigures& v, int64_t prompt_len) {
    json j = summary_of_iterations(v.iterations, prompt_len);
    j["label"] = v.label;
    j["peak_rss_mb"] = optional_number(v.peak_rss_mib);
    j["kv_cache_bytes"] = v.kv_cache_bytes;
    return j;
}

// on / off of a mean figure, or null when either side lacks it.
json speedup(const json& on, const json& off, const char* key) {
    if (!on.contains(key) || !off.contains(key) || on[key].is_null() || off[key].is_null()) return nullptr;
    const double off_mean = off[key]["mean"].get<double>();
    if (off_mean <= 0.0) return nullptr;
    return on[key]["mean"].get<double>() / off_mean;
}

}  // namespace

double mib(uint64_t bytes) { return static_cast<double>(bytes) / (1024.0 * 1024.0); }

json summary_json(const Summary& s) {
    return json{{"mean", s.mean}, {"median", s.median}, {"stdev", s.stdev}, {"min", s.min}, {"max", s.max}};
}

json iteration_json(const IterationTiming& it, int64_t prompt_len) {
    json j;
    j["prefill_ms"] = it.prefill_s * 1e3;
    j["prefill_tokens_per_s"] = it.prefill_s > 0.0 ? static_cast<double>(prompt_len) / it.prefill_s : 0.0;
    j["ttft_ms"] = it.ttft_s * 1e3;
    const double decode_s = sum(it.decode_step_s);
    j["decode_ms"] = decode_s * 1e3;
    if (it.decode_step_s.empty() || decode_s <= 0.0) j["decode_tokens_per_s"] = nullptr;
    else j["decode_tokens_per_s"] = static_cast<double>(it.decode_step_s.size()) / decode_s;
    json latencies = json::array();
    for (double s : it.decode_step_s) latencies.push_back(s * 1e3);
    j["decode_latency_ms"] = std::move(latencies);
    return j;
}

json summary_of_iterations(const std::vector<IterationTiming>& iterations, int64_t prompt_len) {
    if (iterations.empty()) throw Error("no measured iterations to summarize");
    std::vector<double> prefill, decode, ttft, latencies_ms;
    for (const auto& it : iterations) {
        const json one = iteration_json(it, prompt_len);
        prefill.push_back(one["prefill_tokens_per_s"].get<double>());
        ttft.push_back(one["ttft_ms"].get<double>());
        if (!one["decode_tokens_per_s"].is_null()) decode.push_back(one["decode_tokens_per_s"].get<double>());
        for (double s : it.decode_step_s) latencies_ms.push_back(s * 1e3);
    }
    json j;
    j["prefill_tokens_per_s"] = summary_json(summarize(prefill));
    // Every iteration has the same gen_len, so either all or none have a decode rate.
    j["decode_tokens_per_s"] = decode.size() == iterations.size() ? summary_json(summarize(decode)) : json(nullptr);
    j["ttft_ms"] = summary_json(summarize(ttft));
    if (latencies_ms.empty()) {
        j["decode_latency_ms"] = nullptr;
    } else {
        j["decode_latency_ms"] = json{{"p50", percentile(latencies_ms, 50.0)},
                                      {"p90", percentile(latencies_ms, 90.0)},
                                      {"p99", percentile(latencies_ms, 99.0)},
                                      {"count", latencies_ms.size()}};
    }
    return j;
}

uint64_t kv_bytes_read_per_decode_step(const Workload& w, const MemoryFigures& m) {
    if (w.gen_len <= 0) return 0;
    // Step t (0-based) attends over prompt_len + t tokens; the mean over the run's steps:
    const double context = static_cast<double>(w.prompt_len) + static_cast<double>(w.gen_len - 1) / 2.0;
    const double hot = w.kv_hot_tokens >= 0 ? std::min(context, static_cast<double>(w.kv_hot_tokens)) : context;
    const double bytes = hot * static_cast<double>(m.kv_hot_bytes_per_token) +
                         (context - hot) * static_cast<double>(m.kv_warm_bytes_per_token);
    return static_cast<uint64_t>(bytes);
}

json to_json(const RunRecord& run) {
    const Workload& w = run.workload;
    json j;
    j["format"] = kFormatTag;
    j["timestamp"] = run.timestamp;
    j["git_revision"] = run.git_revision;
    j["model"] = json{{"name", run.model.name},
                      {"path", run.model.path},
                      {"architecture", run.model.architecture},
                      {"file_size", run.model.file_size},
                      {"header_xxh3", run.model.header_xxh3},
                      {"header_bytes_hashed", run.model.header_bytes_hashed}};
    j["threads"] = w.threads;
    j["kv_type"] = w.kv_type;
    j["kv_hot_tokens"] = w.kv_hot_tokens;
    j["kv_budget_mb"] = w.kv_budget_mib;
    j["n_ctx"] = w.n_ctx;
    j["prompt_len"] = w.prompt_len;
    j["gen_len"] = w.gen_len;
    j["warmup"] = w.warmup;
    j["prompt"] = w.prompt_source;

    json iterations = json::array();
    for (const auto& it : run.iterations) iterations.push_back(iteration_json(it, w.prompt_len));
    j["iterations"] = std::move(iterations);
    j["summary"] = summary_of_iterations(run.iterations, w.prompt_len);

    j["memory"] = json{{"rss_after_load_mb", optional_number(run.memory.rss_after_load_mib)},
                       {"rss_after_first_iteration_mb", optional_number(run.memory.rss_after_first_iteration_mib)},
                       {"peak_rss_mb", optional_number(run.memory.peak_rss_mib)},
                       {"rss_anon_mb", optional_number(run.memory.rss_anon_mib)},
                       {"rss_file_mb", optional_number(run.memory.rss_file_mib)},
                       {"kv_cache_bytes", run.memory.kv_cache_bytes},
                       {"kv_hot_bytes_per_token", run.memory.kv_hot_bytes_per_token},
                       {"kv_warm_bytes_per_token", run.memory.kv_warm_bytes_per_token},
                       {"kv_window_bytes", run.memory.kv_window_bytes}};
    j["peak_rss_mb"] = optional_number(run.memory.peak_rss_mib);

    const SystemFigures& s = run.system;
    json system{{"cpu_model", s.cpu_model},
                {"isa", s.isa},
                {"sockets", s.topology.sockets},
                {"cores", s.topology.cores},
                {"logical_cpus", s.topology.logical_cpus},
                {"numa_nodes", s.topology.numa_nodes},
                {"threads", w.threads}};
    if (s.bandwidth) {
        system["memory_bandwidth_gb_s"] = s.bandwidth->gb_per_s;
        system["bandwidth_probe"] = json{{"buffer_bytes", s.bandwidth->buffer_bytes},
                                         {"passes", s.bandwidth->passes},
                                         {"threads", s.bandwidth->threads},
                                         {"seconds", s.bandwidth->seconds}};
    } else {
        system["memory_bandwidth_gb_s"] = nullptr;
    }
    j["system"] = std::move(system);

    json roofline{{"weight_bytes_per_token", run.traffic.bytes_per_token},
                  {"dense_bytes", run.traffic.dense_bytes},
                  {"expert_bytes", run.traffic.expert_bytes},
                  {"embedding_row_bytes", run.traffic.embedding_row_bytes},
                  {"decode_tokens_per_s_ceiling", nullptr},
                  {"decode_fraction_of_roofline", nullptr}};
    // A decode step also reads the KV cache of its context: bytes touched per token = weights + KV.
    const uint64_t kv_read = kv_bytes_read_per_decode_step(w, run.memory);
    roofline["kv_bytes_per_decode_step"] = kv_read;
    roofline["decode_fraction_of_weights_plus_kv_roofline"] = nullptr;
    if (s.bandwidth && s.bandwidth->gb_per_s > 0.0 && run.traffic.bytes_per_token > 0) {
        const double bytes_per_s = s.bandwidth->gb_per_s * 1e9;
        const double ceiling = bytes_per_s / static_cast<double>(run.traffic.bytes_per_token);
        roofline["decode_tokens_per_s_ceiling"] = ceiling;
        const json& decode = j["summary"]["decode_tokens_per_s"];
        if (!decode.is_null()) {
            const double tps = decode["mean"].get<double>();
            roofline["decode_fraction_of_roofline"] = tps / ceiling;
            roofline["decode_fraction_of_weights_plus_kv_roofline"] =
                tps * static_cast<double>(run.traffic.bytes_per_token + kv_read) / bytes_per_s;
        }
    }
    j["roofline"] = std::move(roofline);

    if (!run.ablations.empty()) {
        json rows = json::array();
        for (const auto& a : run.ablations) {
            json row{{"name", a.name}, {"available", a.available}, {"note", a.note}};
            if (a.available && a.on && a.off) {
                row["on"] = variant_json(*a.on, w.prompt_len);
                row["off"] = variant_json(*a.off, w.prompt_len);
                row["prefill_speedup"] = speedup(row["on"], row["off"], "prefill_tokens_per_s");
                row["decode_speedup"] = speedup(row["on"], row["off"], "decode_tokens_per_s");
            }
            rows.push_back(std::move(row));
        }
        j["ablations"] = std::move(rows);
    }
    return j;
}

}  // namespace silica::bench
