#include "apps/bench/report_table.h"

#include <fmt/format.h>

#include "apps/bench/svg_chart.h"

namespace silica::bench {
namespace {

using nlohmann::json;

std::string num(const json& v, const char* unit = "") {
    if (!v.is_number()) return "n/a";
    return format_number(v.get<double>()) + unit;
}

std::string stats_row(const char* label, const json& s) {
    if (!s.is_object()) return fmt::format("  {:<22} {:>10}\n", label, "n/a");
    return fmt::format("  {:<22} {:>10} {:>10} {:>10} {:>10} {:>10}\n", label, num(s["mean"]), num(s["median"]),
                       num(s["stdev"]), num(s["min"]), num(s["max"]));
}

std::string mib_text(const json& v) { return v.is_number() ? fmt::format("{:.1f} MiB", v.get<double>()) : "n/a"; }

std::string bytes_text(uint64_t bytes) {
    if (bytes >= (uint64_t{1} << 30)) return fmt::format("{:.2f} GiB", static_cast<double>(bytes) / (1 << 30));
    if (bytes >= (uint64_t{1} << 20)) return fmt::format("{:.2f} MiB", static_cast<double>(bytes) / (1 << 20));
    return fmt::format("{:.1f} KiB", static_cast<double>(bytes) / 1024.0);
}

std::string speedup_text(const json& v) { return v.is_number() ? fmt::format("{:.2f}x", v.get<double>()) : "n/a"; }

}  // namespace

std::string format_report(const json& run) {
    const json& model = run["model"];
    const json& summary = run["summary"];
    const json& system = run["system"];
    const json& memory = run["memory"];
    const json& roof = run["roofline"];
    std::string out;
    out += fmt::format("model     {} ({}, {}, header xxh3 {})\n", model.value("name", "?"),
                       model.value("architecture", "?"), bytes_text(model.value("file_size", uint64_t{0})),
                       model.value("header_xxh3", "?"));
    out += fmt::format("workload  prompt {} tokens ({}), gen {} tokens, KV {}, {} threads, warm-up {}, {} measured "
                       "iterations\n",
                       run.value("prompt_len", 0), run.value("prompt", "?"), run.value("gen_len", 0),
                       run.value("kv_type", "?"), run.value("threads", 0), run.value("warmup", 0),
                       run["iterations"].size());
    out += fmt::format("revision  {}   at {}\n\n", run.value("git_revision", "?"), run.value("timestamp", "?"));

    out += fmt::format("  {:<22} {:>10} {:>10} {:>10} {:>10} {:>10}\n", "", "mean", "median", "stdev", "min", "max");
    out += stats_row("prefill tokens/s", summary["prefill_tokens_per_s"]);
    out += stats_row("decode tokens/s", summary["decode_tokens_per_s"]);
    out += stats_row("time to first token ms", summary["ttft_ms"]);
    const json& lat = summary["decode_latency_ms"];
    if (lat.is_object())
        out += fmt::format("  {:<22} p50 {} ms   p90 {} ms   p99 {} ms   ({} steps)\n", "decode step latency",
                           num(lat["p50"]), num(lat["p90"]), num(lat["p99"]), lat.value("count", 0));
    out += "\n";

    out += fmt::format("memory    RSS after load {}, after first iteration {}, peak {}; KV cache {}\n",
                       mib_text(memory["rss_after_load_mb"]), mib_text(memory["rss_after_first_iteration_mb"]),
                       mib_text(memory["peak_rss_mb"]), bytes_text(memory.value("kv_cache_bytes", uint64_t{0})));
    if (memory.value("kv_hot_bytes_per_token", uint64_t{0}) > 0) {
        const int64_t hot_tokens = run.value("kv_hot_tokens", int64_t{-1});
        const uint64_t rings = memory.value("kv_window_bytes", uint64_t{0});
        out += fmt::format("          KV per token: {} hot ({}){}{}\n",
                           bytes_text(memory.value("kv_hot_bytes_per_token", uint64_t{0})),
                           hot_tokens < 0 ? std::string("every token") : fmt::format("newest {} tokens", hot_tokens),
                           hot_tokens < 0 ? std::string()
                                          : ", " + bytes_text(memory.value("kv_warm_bytes_per_token", uint64_t{0})) +
                                                " warm (q8_0, older)",
                           rings > 0 ? "; sliding-window rings " + bytes_text(rings) : std::string());
    }
    if (memory.contains("rss_anon_mb") && memory["rss_anon_mb"].is_number())
        out += fmt::format("          resident after the run: {} private, {} mapped file pages\n",
                           mib_text(memory["rss_anon_mb"]), mib_text(memory["rss_file_mb"]));
    out += fmt::format("system    {}; ISA {}; {} socket(s), {} cores, {} logical CPUs, {} NUMA node(s)\n",
                       system.value("cpu_model", "?"), system.value("isa", "?"), system.value("sockets", 0),
                       system.value("cores", 0), system.value("logical_cpus", 0), system.value("numa_nodes", 0));
    if (system["memory_bandwidth_gb_s"].is_number()) {
        const json& probe = system["bandwidth_probe"];
        out += fmt::format("bandwidth {:.1f} GB/s read ({} buffer, best of {} passes, {} threads)\n",
                           system["memory_bandwidth_gb_s"].get<double>(),
                           bytes_text(probe.value("buffer_bytes", uint64_t{0})), probe.value("passes", 0),
                           probe.value("threads", 0));
    } else {
        out += "bandwidth not measured\n";
    }
    out += fmt::format("roofline  {} of weights per token -> decode ceiling {} tokens/s",
                       bytes_text(roof.value("weight_bytes_per_token", uint64_t{0})),
                       num(roof["decode_tokens_per_s_ceiling"]));
    if (roof["decode_fraction_of_roofline"].is_number())
        out += fmt::format("; measured decode is {:.1f}% of it",
                           100.0 * roof["decode_fraction_of_roofline"].get<double>());
    out += "\n";
    if (roof.value("kv_bytes_per_decode_step", uint64_t{0}) > 0 &&
        roof["decode_fraction_of_weights_plus_kv_roofline"].is_number())
        out += fmt::format("          + {} of KV read per decode step (mean context): decode moves {:.1f}% of the "
                           "bandwidth\n",
                           bytes_text(roof.value("kv_bytes_per_decode_step", uint64_t{0})),
                           100.0 * roof["decode_fraction_of_weights_plus_kv_roofline"].get<double>());

    if (run.contains("ablations")) {
        out += fmt::format("\nablations (speedup = tokens/s with the optimization on / off)\n");
        out += fmt::format("  {:<10} {:>12} {:>12} {:>9} {:>12} {:>12} {:>9} {:>11} {:>11}\n", "switch",
                           "prefill on", "prefill off", "speedup", "decode on", "decode off", "speedup", "peak RSS on",
                           "peak RSS off");
        for (const auto& a : run["ablations"]) {
            const std::string name = a.value("name", "?");
            if (!a.value("available", false) || !a.contains("on") || !a.contains("off")) {
                out += fmt::format("  {:<10} {}\n", name, a.value("note", "not available in this build"));
                continue;
            }
            const json& on = a["on"];
            const json& off = a["off"];
            auto mean_of = [](const json& v, const char* key) {
                return v[key].is_object() ? num(v[key]["mean"]) : std::string("n/a");
            };
            out += fmt::format("  {:<10} {:>12} {:>12} {:>9} {:>12} {:>12} {:>9} {:>11} {:>11}\n", name,
                               mean_of(on, "prefill_tokens_per_s"), mean_of(off, "prefill_tokens_per_s"),
                               speedup_text(a["prefill_speedup"]), mean_of(on, "decode_tokens_per_s"),
                               mean_of(off, "decode_tokens_per_s"), speedup_text(a["decode_speedup"]),
                               mib_text(on["peak_rss_mb"]), mib_text(off["peak_rss_mb"]));
            out += fmt::format("  {:<10} on: {}; off: {}; KV cache {} vs {}\n", "", on.value("label", "?"),
                               off.value("label", "?"), bytes_text(on.value("kv_cache_bytes", uint64_t{0})),
                               bytes_text(off.value("kv_cache_bytes", uint64_t{0})));
        }
    }
    return out;
}

}  // namespace silica::bench
