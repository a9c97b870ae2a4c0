#include "apps/bench/parallel_report.h"

#include <algorithm>
#include <cstdio>
#include <optional>

#include "apps/bench/statistics.h"
#include "silica/error.h"

namespace silica::bench {
namespace {

using nlohmann::json;

double total(const std::vector<double>& xs) {
    double s = 0;
    for (double x : xs) s += x;
    return s;
}

// Distinct experts per layer per decode step, as measured (the engine counts the experts each
// pass reads); nullopt for a dense model or without decode steps.
std::optional<double> measured_distinct_experts(const ParallelRecord& r, const ParallelResult& p) {
    if (r.n_expert_used <= 0 || p.n_layer <= 0) return std::nullopt;
    double reads = 0, steps = 0;
    for (const ParallelIteration& it : p.iterations) {
        reads += static_cast<double>(it.decode_expert_reads);
        steps += static_cast<double>(it.decode_step_s.size());
    }
    if (steps == 0) return std::nullopt;
    return reads / (steps * static_cast<double>(p.n_layer));
}

// Weight bytes one decode step of N sequences reads: the dense weights once, one embedding row per
// sequence, and for a mixture of experts each distinct expert of a layer once: `distinct` per
// layer (measured), or the upper bound min(N * k, E) when not given.
double weight_bytes_per_step(const ParallelRecord& r, int n, std::optional<double> distinct) {
    double bytes = static_cast<double>(r.traffic.dense_bytes) + static_cast<double>(n) * r.traffic.embedding_row_bytes;
    if (r.n_expert_used > 0) {
        const double d = distinct ? *distinct : std::min<double>(static_cast<double>(n) * r.n_expert_used, r.n_expert);
        bytes += static_cast<double>(r.traffic.expert_bytes) * d / r.n_expert_used;
    }
    return bytes;
}

json run_json(const ParallelRecord& r, const ParallelResult& p) {
    if (p.iterations.empty()) throw Error("no measured iterations to summarize");
    std::vector<double> aggregate, per_sequence, prefill, latencies_ms;
    for (const ParallelIteration& it : p.iterations) {
        const double decode_s = total(it.decode_step_s);
        if (decode_s > 0) {
            const double steps = static_cast<double>(it.decode_step_s.size());
            aggregate.push_back(steps * p.n_sequences / decode_s);
            per_sequence.push_back(steps / decode_s);
        }
        prefill.push_back(static_cast<double>(r.prompt_len) * p.n_sequences / it.prefill_s);
        for (double s : it.decode_step_s) latencies_ms.push_back(s * 1e3);
    }
    json j;
    j["parallel"] = p.n_sequences;
    j["threads"] = p.threads;
    json& s = j["summary"];
    s["prefill_tokens_per_s"] = summary_json(summarize(prefill));
    if (aggregate.empty()) {
        s["aggregate_decode_tokens_per_s"] = s["per_sequence_decode_tokens_per_s"] = s["step_latency_ms"] = nullptr;
    } else {
        s["aggregate_decode_tokens_per_s"] = summary_json(summarize(aggregate));
        s["per_sequence_decode_tokens_per_s"] = summary_json(summarize(per_sequence));
        s["step_latency_ms"] = json{{"p50", percentile(latencies_ms, 50)}, {"p99", percentile(latencies_ms, 99)}};
    }
    const std::optional<double> distinct = measured_distinct_experts(r, p);
    j["distinct_experts_per_layer_step"] = distinct ? json(*distinct) : json(nullptr);
    const double bytes = weight_bytes_per_step(r, p.n_sequences, distinct);
    j["weight_bytes_per_step"] = bytes;
    if (r.system.bandwidth && r.system.bandwidth->gb_per_s > 0)
        j["roofline_aggregate_tokens_per_s"] = r.system.bandwidth->gb_per_s * 1e9 / bytes * p.n_sequences;
    else
        j["roofline_aggregate_tokens_per_s"] = nullptr;
    j["rss_mib"] = p.rss_mib ? json(*p.rss_mib) : json(nullptr);
    j["kv_cache_bytes"] = p.kv_cache_bytes;
    return j;
}

}  // namespace

json to_json(const ParallelRecord& r) {
    json j;
    j["format"] = "silica-bench-parallel/1";
    j["timestamp"] = r.timestamp;
    j["git_revision"] = r.git_revision;
    j["model"] = {{"name", r.model.name},           {"path", r.model.path},
                  {"architecture", r.model.architecture}, {"file_size", r.model.file_size},
                  {"header_xxh3", r.model.header_xxh3}};
    j["system"] = {{"cpu_model", r.system.cpu_model}, {"isa", r.system.isa}};
    j["system"]["bandwidth_gb_per_s"] = r.system.bandwidth ? json(r.system.bandwidth->gb_per_s) : json(nullptr);
    j["workload"] = {{"prompt_len", r.prompt_len}, {"gen_len", r.gen_len}, {"warmup", r.warmup},
                     {"iterations", r.iterations}, {"kv_type", r.kv_type}, {"same_prompt", r.same_prompt}};
    j["runs"] = json::array();
    for (const ParallelResult& p : r.runs) j["runs"].push_back(run_json(r, p));
    // Aggregate decode at each N against N = 1 of the same sitting, when N = 1 was measured.
    const json* single = nullptr;
    for (const json& run : j["runs"])
        if (run["parallel"] == 1) single = &run;
    for (json& run : j["runs"]) {
        const json& agg = run["summary"]["aggregate_decode_tokens_per_s"];
        run["speedup_vs_1"] = single && !agg.is_null() && !(*single)["summary"]["aggregate_decode_tokens_per_s"].is_null()
                                  ? json(agg["median"].get<double>() /
                                         (*single)["summary"]["aggregate_decode_tokens_per_s"]["median"].get<double>())
                                  : json(nullptr);
    }
    return j;
}

std::string format_parallel_report(const json& run) {
    std::string out = "model " + run["model"]["name"].get<std::string>() + ", " +
                      run["system"]["cpu_model"].get<std::string>() + " (" + run["system"]["isa"].get<std::string>() +
                      "), prompt " + std::to_string(run["workload"]["prompt_len"].get<int64_t>()) + " + " +
                      std::to_string(run["workload"]["gen_len"].get<int64_t>()) + " tokens per sequence" +
                      (run["workload"].value("same_prompt", false) ? " (the same prompt for all)" : "") + ", medians of " +
                      std::to_string(run["workload"]["iterations"].get<int>()) + " iterations\n";
    char line[256];
    std::snprintf(line, sizeof line, "%9s %8s %14s %12s %10s %10s %12s %10s %9s %8s\n", "parallel", "threads",
                  "decode tok/s", "per seq", "vs N=1", "step p50", "step p99", "roofline", "RSS MiB", "experts");
    out += line;
    for (const json& r : run["runs"]) {
        const json& s = r["summary"];
        auto num = [](const json& v, double scale = 1.0) { return v.is_null() ? -1.0 : v.get<double>() * scale; };
        std::snprintf(line, sizeof line, "%9d %8d %14.1f %12.1f %9.2fx %8.2fms %10.2fms %10.1f %9.0f %8.1f\n",
                      r["parallel"].get<int>(), r["threads"].get<int>(),
                      s["aggregate_decode_tokens_per_s"].is_null() ? -1.0 : num(s["aggregate_decode_tokens_per_s"]["median"]),
                      s["per_sequence_decode_tokens_per_s"].is_null() ? -1.0
                                                                      : num(s["per_sequence_decode_tokens_per_s"]["median"]),
                      num(r["speedup_vs_1"]), s["step_latency_ms"].is_null() ? -1.0 : num(s["step_latency_ms"]["p50"]),
                      s["step_latency_ms"].is_null() ? -1.0 : num(s["step_latency_ms"]["p99"]),
                      num(r["roofline_aggregate_tokens_per_s"]), num(r["rss_mib"]),
                      r.contains("distinct_experts_per_layer_step") ? num(r["distinct_experts_per_layer_step"]) : -1.0);
        out += line;
    }
    out += "(decode tok/s: all sequences together; roofline: read bandwidth / weight bytes per step x N; experts: "
           "distinct experts per layer per decode step (MoE); -1: not measured)\n";
    return out;
}

}  // namespace silica::bench
