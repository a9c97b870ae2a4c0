// Everything one bench run measured, and its JSON form (the object printed by --json and appended
// to results.jsonl; the layout is documented in docs/BENCH.md).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "apps/bench/bandwidth_probe.h"
#include "apps/bench/statistics.h"
#include "apps/bench/system_info.h"
#include "apps/bench/weight_traffic.h"

namespace silica::bench {

// Version tag of the JSON layout; bump it when a field changes meaning.
inline constexpr const char* kFormatTag = "silica-bench/1";

// Raw timings of one measured iteration, in seconds.
struct IterationTiming {
    double prefill_s = 0.0;             // Session::decode of the whole prompt
    double ttft_s = 0.0;                // prefill + picking the first token from its logits
    std::vector<double> decode_step_s;  // one per decode step: decode(1 token) + picking the next
};

struct ModelIdentity {
    std::string name;          // general.name, else the file name
    std::string path;
    std::string architecture;
    uint64_t file_size = 0;
    std::string header_xxh3;   // 16 hex digits: XXH3-64 of the first header_bytes_hashed bytes
    uint64_t header_bytes_hashed = 0;
};

struct Workload {
    int64_t prompt_len = 512;
    int64_t gen_len = 128;
    int warmup = 1;
    int iterations = 10;
    int threads = 0;
    int64_t n_ctx = 0;
    std::string kv_type = "f16";
    std::string prompt_source = "fixed";  // "fixed" (fixed_prompt_tokens) or "text" (--prompt)
    int64_t kv_hot_tokens = -1;  // resolved (from --kv-hot or --kv-budget); -1: no warm tier
    double kv_budget_mib = 0;    // 0: none
};

struct MemoryFigures {
    std::optional<double> rss_after_load_mib;
    std::optional<double> rss_after_first_iteration_mib;
    std::optional<double> peak_rss_mib;
    // After the measured iterations: private (anonymous) and mapped-file resident memory.
    std::optional<double> rss_anon_mib;
    std::optional<double> rss_file_mib;
    uint64_t kv_cache_bytes = 0;  // in the KV cache's blocks at the end of an iteration (the largest)
    uint64_t kv_hot_bytes_per_token = 0, kv_warm_bytes_per_token = 0, kv_window_bytes = 0;
};

struct SystemFigures {
    std::string cpu_model;
    std::string isa;
    CpuTopology topology;
    std::optional<Bandwidth> bandwidth;
};

// The figures of one workload variant in an ablation.
struct VariantFigures {
    std::string label;  // e.g. "kv-cache on", "simd off (scalar)"
    std::vector<IterationTiming> iterations;
    std::optional<double> peak_rss_mib;
    uint64_t kv_cache_bytes = 0;
};

struct AblationRow {
    std::string name;
    bool available = false;
    std::string note;  // why not available, or what "off" means
    std::optional<VariantFigures> on, off;
};

struct RunRecord {
    std::string timestamp;     // ISO-8601 UTC, e.g. 2025-01-31T12:00:00Z
    std::string git_revision;  // "unknown" outside a git checkout
    ModelIdentity model;
    Workload workload;
    std::vector<IterationTiming> iterations;
    MemoryFigures memory;
    SystemFigures system;
    WeightTraffic traffic;
    std::vector<AblationRow> ablations;  // empty without --ablate
};

nlohmann::json summary_json(const Summary& s);
// Per-iteration object: prefill_ms, prefill_tokens_per_s, ttft_ms, decode_ms,
// decode_tokens_per_s (null when gen_len is 0), decode_latency_ms (list).
nlohmann::json iteration_json(const IterationTiming& it, int64_t prompt_len);
// {prefill_tokens_per_s, decode_tokens_per_s, ttft_ms, decode_latency_ms{p50,p90,p99}}; the
// decode entries are null when no decode step was measured. Throws if `iterations` is empty.
nlohmann::json summary_of_iterations(const std::vector<IterationTiming>& iterations, int64_t prompt_len);
// KV cache bytes one decode step reads at the run's mean decode context (prompt_len + (gen_len -
// 1) / 2 tokens): hot bytes per token for the newest kv_hot_tokens (all when -1), warm bytes for
// the rest. Sliding-window rings are left out (at most a few MiB; leaving them out can only lower
// the fraction reported against it). 0 when gen_len is 0.
uint64_t kv_bytes_read_per_decode_step(const Workload& w, const MemoryFigures& m);
nlohmann::json to_json(const RunRecord& run);

double mib(uint64_t bytes);

}  // namespace silica::bench
