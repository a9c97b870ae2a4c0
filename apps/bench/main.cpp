// bench: measure prefill and decode speed, latency and memory of a GGUF model on this machine, and
// keep the results (JSON lines, CSV, SVG plots) to compare runs over time. Protocol and file
// formats: docs/BENCH.md. Exit status: 0 success, 1 runtime error, 2 usage error.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <cstdlib>
#include <optional>

#include "apps/bench/ablations.h"
#include "apps/bench/bandwidth_probe.h"
#include "apps/bench/compare.h"
#include "apps/bench/parallel_report.h"
#include "apps/bench/parallel_workload.h"
#include "apps/bench/speculative_workload.h"
#include "apps/bench/plots.h"
#include "apps/bench/process_memory.h"
#include "apps/bench/progress_bar.h"
#include "apps/bench/prompt_tokens.h"
#include "apps/bench/report_table.h"
#include "apps/bench/tensor_parallel_report.h"
#include "apps/bench/results_files.h"
#include "apps/bench/run_identity.h"
#include "apps/bench/run_record.h"
#include "apps/bench/system_info.h"
#include "apps/bench/weight_traffic.h"
#include "apps/bench/workload_runner.h"
#include "engine/gguf/gguf.h"
#include "engine/run_setup.h"
#include "kernels/isa.h"
#include "memory/rss.h"
#include "silica/error.h"
#include "silica/model.h"
#include "silica/session.h"
#include "silica/tokenizer.h"
#include "apps/common/run_main.h"
#include "apps/common/tensor_parallel_flags.h"

namespace {

using nlohmann::json;
using namespace silica::bench;

struct Options {
    std::string model;
    int64_t prompt_len = 512;
    int64_t gen_len = 128;
    int warmup = 1;
    int iterations = 10;
    int threads = 0;
    std::string kv_type = "f16";
    int64_t kv_hot = -1;
    double kv_budget_mib = 0;
    std::string numa = "auto";
    std::string out_dir = "./bench_results";
    std::vector<std::string> ablate;
    bool json_output = false;
    std::string compare_file;
    std::optional<std::string> prompt_text;
    std::vector<int> parallel;  // --parallel: sequence counts for the parallel-decode workload
    bool same_prompt = false;   // --same-prompt: every sequence of --parallel gets the same prompt
    // Speculative decoding (speculative_workload.h): --lookup / --draft-model, --verify-cost.
    std::string draft_model;
    bool lookup = false, verify_cost = false, no_adaptive = false;
    silica::app::TensorParallelFlags tp;  // --tp, --tp-timeout
    int draft_max = 8;
    float draft_p_min = 0.5f;
    float verify_cost_per_token = -1.0f;
};

// What bench needs from the GGUF file itself, read before the model is loaded: its identity
// (header hash) and the weight traffic per token from its tensor table (see weight_traffic.h).
struct FileFacts {
    HeaderHash header;
    WeightTraffic traffic;
    int64_t n_expert = 0, n_expert_used = 0;
};

FileFacts read_file_facts(const std::string& path) {
    const auto file = silica::gguf::File::open(path);
    const std::string arch = file.get_string("general.architecture", "");
    const int64_t n_expert = file.get_int(arch + ".expert_count", 0);
    const int64_t n_expert_used = file.get_int(arch + ".expert_used_count", 0);
    FileFacts facts;
    facts.n_expert = n_expert;
    facts.n_expert_used = n_expert_used;
    facts.traffic = estimate_weight_traffic(file.tensors(), n_expert, n_expert_used);
    facts.header = hash_file_header(path, file.data_offset());
    return facts;
}

// Restores the kernels' ISA choice when the simd ablation is done (or throws).
struct ScalarIsaScope {
    ScalarIsaScope() { silica::kernels::set_isa_for_testing(silica::kernels::Isa::scalar); }
    ~ScalarIsaScope() { silica::kernels::reset_isa_for_testing(); }
    ScalarIsaScope(const ScalarIsaScope&) = delete;
    ScalarIsaScope& operator=(const ScalarIsaScope&) = delete;
};

class Bench {
public:
    explicit Bench(const Options& o) : o_(o) {}

    int run() {
        const auto started = std::chrono::system_clock::now();
        // Read everything that can fail cheaply before spending minutes measuring.
        std::optional<std::vector<json>> compare_entries;
        if (!o_.compare_file.empty()) compare_entries = read_json_entries(o_.compare_file);
        const FileFacts facts = read_file_facts(o_.model);

        model_ = silica::Model::load(o_.model, load_options());
        // Under --tp every rank measures (all must run the same steps); rank 0 alone reports and writes.
        silica::app::print_on_first_rank_only(*model_);
        first_rank_ = model_->tp_rank() == 0;
        if (!o_.parallel.empty()) return run_parallel(started, facts);
        if (o_.lookup || !o_.draft_model.empty() || o_.verify_cost) return run_speculative(started, facts);
        const auto memory_after_load = read_process_memory();

        RunRecord record;
        record.timestamp = iso8601_utc(started);
        record.git_revision = git_revision();
        record.model = identify_model(facts.header);
        record.traffic = facts.traffic;

        // The identity is known now: find the baseline to compare with before measuring.
        std::optional<json> baseline;
        if (compare_entries) {
            json identity{{"model", {{"name", record.model.name},
                                     {"file_size", record.model.file_size},
                                     {"header_xxh3", record.model.header_xxh3}}}};
            baseline = find_baseline(*compare_entries, identity);
            if (!baseline)
                throw silica::Error(o_.compare_file + ": no run of model " + record.model.name + " (header xxh3 " +
                                    record.model.header_xxh3 + ") to compare with");
        }

        WorkloadOptions w;
        w.prompt = prompt_tokens();
        w.gen_len = o_.gen_len;
        w.warmup = o_.warmup;
        w.iterations = o_.iterations;
        w.session = session_options();

        record.system.isa = std::string(silica::kernels::isa_name(silica::kernels::active_isa()));
        if (silica::kernels::active_avx512_bf16()) record.system.isa += "+bf16";
        const WorkloadResult main_run = run_labelled("measuring", w);
        const auto memory_after_run = read_process_memory();
        const silica::RssInfo rss_split = silica::read_rss();

        record.workload.prompt_len = o_.prompt_len;
        record.workload.gen_len = o_.gen_len;
        record.workload.warmup = o_.warmup;
        record.workload.iterations = o_.iterations;
        record.workload.threads = main_run.threads;
        record.workload.n_ctx = main_run.n_ctx;
        record.workload.kv_type = o_.kv_type;
        record.workload.kv_hot_tokens = main_run.kv.hot_tokens;
        record.workload.kv_budget_mib = o_.kv_budget_mib;
        record.workload.prompt_source = o_.prompt_text ? "text" : "fixed";
        record.iterations = main_run.iterations;
        record.memory = memory_figures(memory_after_load, memory_after_run, rss_split, main_run);

        for (const auto& name : o_.ablate) record.ablations.push_back(ablate(name, w, main_run, record));

        const std::string tp_text = tensor_parallel_report(model_, session_options());
        // Last, so its 1 GiB buffer shows in no memory figure above (one rank probes under --tp).
        progress_.update("memory bandwidth probe", 0, 1);
        record.system.cpu_model = cpu_model_name();
        record.system.topology = detect_cpu_topology();
        if (first_rank_) record.system.bandwidth = measure_read_bandwidth(main_run.threads);
        progress_.clear();
        if (!first_rank_) return 0;

        json run = to_json(record);
        if (baseline) {
            const auto changes = compare_runs(*baseline, run);
            run["comparison"] = comparison_json(o_.compare_file, *baseline, changes, workload_differences(*baseline, run));
        }
        std::vector<std::string> written = write_outputs(run, started);

        // With --json, stdout carries the JSON object alone; the readable report goes to stderr.
        std::FILE* report = o_.json_output ? stderr : stdout;
        std::string text = format_report(run);
        if (run.contains("comparison")) text += "\n" + format_comparison(run["comparison"]);
        text += tp_text;
        text += "\nwritten:";
        for (const auto& path : written) text += " " + path;
        text += "\n";
        std::fputs(text.c_str(), report);
        std::fflush(report);
        if (o_.json_output) std::cout << run.dump(2) << std::endl;
        return 0;
    }

private:
    silica::LoadOptions load_options() const {
        silica::LoadOptions lo = silica::app::load_options_from_environment();
        silica::app::apply_tensor_parallel_flags(o_.tp, lo);
        lo.n_threads = o_.threads;  // weights placed for the sessions' threads
        lo.numa = o_.numa;
        return lo;
    }

    // The smallest context that holds the workload: the KV cache figure is then that of the
    // workload, and GPT-2's trained context (its learned positions) is not exceeded needlessly.
    silica::SessionOptions session_options() const {
        silica::SessionOptions s;
        s.n_ctx = o_.prompt_len + o_.gen_len;
        s.n_threads = o_.threads;
        s.kv_type = silica::parse_kv_type(o_.kv_type);
        s.kv_hot_tokens = o_.kv_hot;
        s.kv_budget_bytes = static_cast<uint64_t>(o_.kv_budget_mib * 1024.0 * 1024.0);
        s.numa = o_.numa;
        s.profile = silica::app::profile_from_environment();
        return s;
    }

    std::vector<int32_t> prompt_tokens() const {
        if (o_.prompt_text) return repeat_to_length(model_->tokenizer().encode(*o_.prompt_text, false), o_.prompt_len);
        return fixed_prompt_tokens(o_.prompt_len, model_->params().n_vocab);
    }

    // --parallel: each sequence count in turn, one Engine each (parallel_workload.h).
    int run_parallel(std::chrono::system_clock::time_point started, const FileFacts& facts) {
        ParallelRecord record;
        record.timestamp = iso8601_utc(started);
        record.git_revision = git_revision();
        record.model = identify_model(facts.header);
        record.traffic = facts.traffic;
        record.n_expert = facts.n_expert;
        record.n_expert_used = facts.n_expert_used;
        record.prompt_len = o_.prompt_len;
        record.gen_len = o_.gen_len;
        record.warmup = o_.warmup;
        record.iterations = o_.iterations;
        record.kv_type = o_.kv_type;
        record.same_prompt = o_.same_prompt;
        ParallelOptions p;
        p.prompt = prompt_tokens();
        p.same_prompt = o_.same_prompt;
        p.gen_len = o_.gen_len;
        p.warmup = o_.warmup;
        p.iterations = o_.iterations;
        p.engine = silica::engine_options(session_options());
        for (size_t i = 0; i < o_.parallel.size(); ++i) {
            progress_.update("parallel " + std::to_string(o_.parallel[i]), static_cast<int>(i),
                             static_cast<int>(o_.parallel.size()));
            p.n_sequences = o_.parallel[i];
            record.runs.push_back(run_parallel_workload(model_, p));
        }
        progress_.update("memory bandwidth probe", 0, 1);
        record.system.cpu_model = cpu_model_name();
        record.system.isa = std::string(silica::kernels::isa_name(silica::kernels::active_isa()));
        if (silica::kernels::active_avx512_bf16()) record.system.isa += "+bf16";
        const std::string tp_text = tensor_parallel_report(model_, session_options());
        if (first_rank_) record.system.bandwidth = measure_read_bandwidth(record.runs.front().threads);
        progress_.clear();
        if (!first_rank_) return 0;

        const json run = to_json(record);
        const std::string path = append_json_line(o_.out_dir, "parallel.jsonl", run);
        std::FILE* report = o_.json_output ? stderr : stdout;
        std::fputs((format_parallel_report(run) + tp_text + "written: " + path + "\n").c_str(), report);
        std::fflush(report);
        if (o_.json_output) std::cout << run.dump(2) << std::endl;
        return 0;
    }

    // --lookup / --draft-model / --verify-cost: one JSON record in speculative.jsonl.
    int run_speculative(std::chrono::system_clock::time_point started, const FileFacts& facts) {
        json run{{"timestamp", iso8601_utc(started)}, {"git_revision", git_revision()},
                 {"model", identify_model(facts.header).name}, {"model_file", o_.model},
                 {"cpu", cpu_model_name()}, {"threads", silica::Session(model_, session_options()).n_threads()}};
        const auto prompt = prompt_tokens();
        std::string text;
        char line[256];
        if (o_.verify_cost) {
            progress_.update("verify cost", 0, 1);
            run["verify_cost"] = run_verify_cost(model_, prompt, session_options(), o_.draft_max, 5 * o_.iterations);
            std::snprintf(line, sizeof line, "verify cost after %zu prompt tokens: one decode step %.3f ms\n",
                          prompt.size(), run["verify_cost"]["step_ms"].get<double>());
            text += line;
            for (const auto& r : run["verify_cost"]["passes"]) {
                std::snprintf(line, sizeof line, "  k=%-2d %9.3f ms  %.2fx one step\n", r["k"].get<int>(),
                              r["pass_ms"].get<double>(), r["ratio"].get<double>());
                text += line;
            }
        }
        if (o_.lookup || !o_.draft_model.empty()) {
            progress_.update("speculative decoding", 0, 1);
            SpeculativeBenchOptions so;
            so.prompt = prompt;
            so.gen_len = o_.gen_len;
            so.warmup = o_.warmup;
            so.iterations = o_.iterations;
            so.session = session_options();
            if (!o_.draft_model.empty()) {
                so.draft = silica::Model::load(o_.draft_model, load_options());
                if (so.draft->tokenizer().n_vocab() != model_->tokenizer().n_vocab())
                    throw silica::Error("the draft model " + o_.draft_model + " has " +
                                        std::to_string(so.draft->tokenizer().n_vocab()) + " tokens, the model " +
                                        o_.model + " has " + std::to_string(model_->tokenizer().n_vocab()));
            }
            so.draft_max = o_.draft_max;
            so.draft_p_min = o_.draft_p_min;
            so.adaptive = !o_.no_adaptive;
            so.verify_cost_per_token = o_.verify_cost_per_token;
            const json r = run_speculative_workload(model_, so);
            run["speculative"] = r;
            std::snprintf(line, sizeof line,
                          "%s, k <= %d: %.1f tokens/s vs plain %.1f tokens/s (%.2fx); acceptance %.1f%%, %.2f "
                          "accepted per verify pass; greedy text %s\n",
                          r["proposer"].get<std::string>().c_str(), o_.draft_max,
                          r["speculative_tokens_per_s"].get<double>(), r["plain_tokens_per_s"].get<double>(),
                          r["speedup"].get<double>(), 100.0 * r["acceptance_rate"].get<double>(),
                          r["mean_accepted_length"].get<double>(),
                          r["identical_greedy_text"].get<bool>() ? "identical" : "DIFFERENT");
            text += line;
            if (so.draft) {
                std::snprintf(line, sizeof line, "draft prompt evaluation (prompt phase, not timed above): %.2f ms\n",
                              r["draft_prompt_ms"].get<double>());
                text += line;
            }
        }
        progress_.clear();
        const std::string path = append_json_line(o_.out_dir, "speculative.jsonl", run);
        std::FILE* report = o_.json_output ? stderr : stdout;
        std::fputs((text + "written: " + path + "\n").c_str(), report);
        std::fflush(report);
        if (o_.json_output) std::cout << run.dump(2) << std::endl;
        return 0;
    }

    ModelIdentity identify_model(const HeaderHash& header) const {
        const silica::ModelParams& params = model_->params();
        ModelIdentity id;
        id.name = params.name.empty() ? std::filesystem::path(o_.model).stem().string() : params.name;
        id.path = o_.model;
        id.architecture = params.architecture;
        id.file_size = model_->file_size();
        id.header_xxh3 = header.xxh3_hex;
        id.header_bytes_hashed = header.bytes_hashed;
        return id;
    }

    static MemoryFigures memory_figures(const std::optional<ProcessMemory>& after_load,
                                        const std::optional<ProcessMemory>& after_run, const silica::RssInfo& split,
                                        const WorkloadResult& main_run) {
        MemoryFigures m;
        if (after_load) m.rss_after_load_mib = after_load->rss_mib;
        m.rss_after_first_iteration_mib = main_run.rss_after_first_iteration_mib;
        // VmHWM is updated lazily (per-thread RSS counters are folded in now and then), so it can
        // trail an RSS read just before it by a few pages: the peak is at least every RSS seen.
        if (after_run)
            m.peak_rss_mib = std::max({after_run->peak_rss_mib, after_run->rss_mib,
                                       main_run.rss_after_first_iteration_mib.value_or(0.0)});
        if (split.valid) {
            m.rss_anon_mib = mib(split.anonymous);
            m.rss_file_mib = mib(split.file);
        }
        m.kv_cache_bytes = main_run.kv_cache_bytes;
        m.kv_hot_bytes_per_token = main_run.kv.hot_bytes_per_token;
        m.kv_warm_bytes_per_token = main_run.kv.warm_bytes_per_token;
        m.kv_window_bytes = main_run.kv.window_bytes;
        return m;
    }

    WorkloadResult run_labelled(const std::string& label, WorkloadOptions w) {
        w.progress = [this, label](int done, int total) { progress_.update(label, done, total); };
        WorkloadResult r = run_workload(model_, w);
        progress_.clear();
        return r;
    }

    // One variant of an ablation, with its own peak RSS (VmHWM reset before it runs).
    VariantFigures measure_variant(const std::string& label, const WorkloadOptions& w) {
        const bool reset = reset_peak_rss();
        const WorkloadResult r = run_labelled("ablation: " + label, w);
        VariantFigures v;
        v.label = label;
        v.iterations = r.iterations;
        v.kv_cache_bytes = r.kv_cache_bytes;
        if (reset)
            if (auto m = read_process_memory())
                v.peak_rss_mib = std::max({m->peak_rss_mib, m->rss_mib, r.rss_after_first_iteration_mib.value_or(0.0)});
        return v;
    }

    VariantFigures main_variant(const std::string& label, const WorkloadResult& main_run, const RunRecord& record) {
        VariantFigures v;
        v.label = label;
        v.iterations = main_run.iterations;
        v.kv_cache_bytes = main_run.kv_cache_bytes;
        v.peak_rss_mib = record.memory.peak_rss_mib;
        return v;
    }

    AblationRow ablate(const std::string& name, const WorkloadOptions& w, const WorkloadResult& main_run,
                       const RunRecord& record) {
        AblationRow row;
        row.name = name;
        const std::string kv = o_.kv_type;
        if (name == "kv-cache") {
            row.available = true;
            row.note = "off: every decode step recomputes the whole sequence (no KV cache reuse)";
            row.on = main_variant("KV cache reused (this run)", main_run, record);
            WorkloadOptions off = w;
            off.use_kv_cache = false;
            row.off = measure_variant("no KV cache: full recompute per token", off);
        } else if (name == "kv-quant") {
            // on: this run's cache when it quantizes (q8_0, or a warm q8_0 tier), else all q8_0;
            // off: a plain f16 cache.
            const bool warm_tier = main_run.kv.hot_tokens >= 0;
            row.available = true;
            row.note = warm_tier ? "on: this run's warm q8_0 tier; off: --kv-type f16 without a warm tier"
                                 : "on: --kv-type q8_0; off: --kv-type f16";
            WorkloadOptions q8 = w, f16 = w;
            for (WorkloadOptions* v : {&q8, &f16}) {
                v->session.kv_hot_tokens = -1;
                v->session.kv_budget_bytes = 0;
            }
            q8.session.kv_type = silica::KvType::Q8_0;
            f16.session.kv_type = silica::KvType::F16;
            if (warm_tier)
                row.on = main_variant("KV " + kv + " hot " + std::to_string(main_run.kv.hot_tokens) +
                                          " + q8_0 warm (this run)",
                                      main_run, record);
            else
                row.on = kv == "q8_0" ? main_variant("KV q8_0 (this run)", main_run, record)
                                      : measure_variant("KV q8_0", q8);
            row.off = kv == "f16" && !warm_tier ? main_variant("KV f16 (this run)", main_run, record)
                                                : measure_variant("KV f16", f16);
        } else if (name == "simd") {
            const auto isa = silica::kernels::active_isa();
            if (isa == silica::kernels::Isa::scalar) {
                row.note = "not applicable: the kernels already run scalar (CPU or SILICA_ISA)";
            } else {
                row.available = true;
                row.note = "off: kernels forced to the scalar reference path (as SILICA_ISA=scalar would)";
                row.on = main_variant("ISA " + std::string(silica::kernels::isa_name(isa)) + " (this run)", main_run,
                                      record);
                ScalarIsaScope scalar;
                row.off = measure_variant("ISA scalar", w);
            }
        } else if (name == "numa") {
            // On a one-node machine this measures pinning one thread per core (what distribute
            // does per node) against letting the OS place threads. Weights are placed at load for
            // the threads' plan, so a variant other than this run's loads the model again.
            row.available = true;
            row.note = "on: --numa distribute (threads pinned per core across NUMA nodes, weights on their "
                       "readers' nodes); off: --numa none (first touch)";
            auto variant = [&](const std::string& mode) {
                if (w.session.numa == mode) return main_variant("numa " + mode + " (this run)", main_run, record);
                WorkloadOptions v = w;
                v.session.numa = mode;
                return measure_with_model_reloaded("numa " + mode, v, [&](silica::LoadOptions& lo) { lo.numa = mode; });
            };
            row.on = variant("distribute");
            row.off = variant("none");
        } else if (name == "repack") {
            row.available = true;
            row.note = "on: weights repacked at load into 16-row interleaved blocks; off: SILICA_REPACK=0 "
                       "(GGUF layout, zero-copy from the mapping)";
            row.on = main_variant("repacked (this run)", main_run, record);
            row.off = measure_with_model_reloaded("GGUF layout (SILICA_REPACK=0)", w, [](silica::LoadOptions& lo) {
                lo.repack = false;
            });
        } else {
            row.available = true;
            row.note = "on: software prefetch of weights (GEMV next blocks, chosen experts, the matrix after "
                       "attention); off: SILICA_PREFETCH=0";
            row.on = main_variant("prefetch on (this run)", main_run, record);
            const silica::KernelSettings as_run = silica::kernel_settings();
            silica::KernelSettings off = as_run;
            off.software_prefetch = false;
            silica::set_kernel_settings(off);
            try {
                row.off = measure_variant("prefetch off (SILICA_PREFETCH=0)", w);
            } catch (...) {
                silica::set_kernel_settings(as_run);
                throw;
            }
            silica::set_kernel_settings(as_run);
        }
        return row;
    }

    // Measures w with the model loaded again with load options changed by `change`, then loads
    // it as it was. The main model is released first: a second copy of a 12 GB model would not
    // fit next to it.
    template <class Change>
    VariantFigures measure_with_model_reloaded(const std::string& label, const WorkloadOptions& w, Change&& change) {
        const silica::LoadOptions as_run = load_options();
        silica::LoadOptions changed = as_run;
        change(changed);
        model_.reset();
        model_ = silica::Model::load(o_.model, changed);
        VariantFigures v = measure_variant(label, w);
        model_.reset();
        model_ = silica::Model::load(o_.model, as_run);
        return v;
    }

    std::vector<std::string> write_outputs(const json& run, std::chrono::system_clock::time_point started) {
        namespace fs = std::filesystem;
        std::vector<std::string> written;
        const std::string stamp = compact_utc(started);
        const fs::path dir(o_.out_dir);
        const std::string warning = append_results(o_.out_dir, run);
        if (!warning.empty()) std::fprintf(stderr, "warning: %s\n", warning.c_str());
        written.push_back((dir / "results.jsonl").string());
        if (warning.empty()) written.push_back((dir / "results.csv").string());

        const std::string run_svg = (dir / ("run_" + stamp + ".svg")).string();
        write_text_file(run_svg, run_plot_svg(run));
        written.push_back(run_svg);
        if (run.contains("ablations")) {
            const std::string ablate_svg = (dir / ("ablate_" + stamp + ".svg")).string();
            write_text_file(ablate_svg, ablation_plot_svg(run));
            written.push_back(ablate_svg);
        }
        std::vector<json> history;
        for (auto& entry : read_json_entries((dir / "results.jsonl").string()))
            if (same_model(entry, run)) history.push_back(std::move(entry));
        // The name alone is not unique (synth names every tiny GPT-2 alike, whatever its weight
        // type): the start of the header hash tells such models apart.
        const std::string model_tag = file_name_safe(run["model"]["name"].get<std::string>()) + "-" +
                                      run["model"]["header_xxh3"].get<std::string>().substr(0, 8);
        const std::string history_svg = (dir / ("history_" + model_tag + ".svg")).string();
        write_text_file(history_svg, history_plot_svg(history));
        written.push_back(history_svg);
        return written;
    }

    const Options& o_;
    std::shared_ptr<const silica::Model> model_;
    bool first_rank_ = true;  // --tp: only rank 0 reports and writes files
    ProgressBar progress_;
};

}  // namespace

int main(int argc, char** argv) {
    Options o;
    std::string ablate_list, prompt_text;
    CLI::App app{"bench: measure prefill/decode speed, latency and memory of a GGUF model (docs/BENCH.md)"};
    app.add_option("-m,--model", o.model, "GGUF model file")->required();
    app.add_option("--prompt-len", o.prompt_len, "prompt tokens per iteration (>= 1)")
        ->check(CLI::Range(int64_t{1}, int64_t{1} << 24));
    app.add_option("--gen-len", o.gen_len, "greedy decode steps per iteration (0: prefill only)")
        ->check(CLI::Range(int64_t{0}, int64_t{1} << 24));
    app.add_option("--warmup", o.warmup, "iterations run first and discarded")->check(CLI::Range(0, 1000000));
    app.add_option("--iterations", o.iterations, "measured iterations")->check(CLI::Range(1, 1000000));
    app.add_option("-t,--threads", o.threads, "threads (default: one per physical core)")->check(CLI::Range(1, 1024));
    app.add_option("--kv-type", o.kv_type, "KV cache storage type")->check(CLI::IsMember({"f32", "f16", "bf16", "q8_0"}));
    app.add_option("--kv-hot", o.kv_hot, "keep the newest N tokens in --kv-type and older KV blocks in q8_0 (warm tier)")
        ->check(CLI::Range(int64_t{0}, int64_t{1} << 40));
    app.add_option("--kv-budget", o.kv_budget_mib, "MiB the whole context's KV cache must fit in (picks --kv-hot)")
        ->check(CLI::PositiveNumber);
    app.add_option("--numa", o.numa, "thread and weight placement: auto, none, distribute, isolate (as infer)")
        ->check(CLI::IsMember({"auto", "none", "distribute", "isolate"}));
    app.add_option("--out-dir", o.out_dir, "folder for results.jsonl, results.csv and the SVG plots");
    app.add_option("--ablate", ablate_list, "comma-separated optimizations to switch off one at a time: kv-cache, "
                                            "kv-quant, simd, repack, prefetch, numa");
    app.add_flag("--json", o.json_output, "print the run's JSON object on stdout (the report goes to stderr)");
    app.add_option("--compare", o.compare_file, "results.jsonl or JSON file: compare with its last run of this model");
    app.add_option("--parallel", o.parallel, "comma-separated numbers of sequences decoded together, e.g. 1,2,4,8,16: "
                                             "measures the parallel-decode workload instead (docs/BENCH.md)")
        ->delimiter(',')
        ->check(CLI::Range(1, 4096));
    app.add_flag("--same-prompt", o.same_prompt,
                 "--parallel: every sequence gets the same prompt, as in llama-batched-bench (a MoE's sequences then "
                 "route alike and read fewer experts), instead of each its own");
    auto* draft_option = app.add_option("--draft-model", o.draft_model,
                                        "speculative decoding with this draft model vs plain decoding (docs/BENCH.md)");
    auto* lookup_option = app.add_flag("--lookup", o.lookup, "speculative decoding by n-gram lookup vs plain decoding");
    draft_option->excludes(lookup_option);
    app.add_flag("--verify-cost", o.verify_cost, "time of one k-token verify pass / one decode step, k = 1..--draft-max");
    app.add_option("--draft-max", o.draft_max, "tokens proposed per verify pass (and k_max of --verify-cost)")
        ->check(CLI::Range(1, 64));
    app.add_option("--draft-p-min", o.draft_p_min, "--draft-model: stop proposing below this probability")
        ->check(CLI::Range(0.0f, 1.0f));
    app.add_flag("--no-adaptive", o.no_adaptive, "speculate on every step (no adaptive switch)");
    app.add_option("--verify-cost-per-token", o.verify_cost_per_token,
                   "adaptive switch: the model's cost of one more verified token, in steps (default 0.1 dense, 0.4 MoE)")
        ->check(CLI::Range(0.0f, 100.0f));
    silica::app::add_tensor_parallel_flags(app, o.tp);
    auto* prompt_option = app.add_option("--prompt", prompt_text, "prompt text, tokenized and repeated or cut to "
                                                                  "--prompt-len tokens (default: a fixed token sequence)");
    auto parse = [&] {
        app.parse(argc, argv);
        if (app.count("--ablate")) {
            try {
                o.ablate = parse_ablation_list(ablate_list);
            } catch (const silica::Error& e) {
                throw CLI::ValidationError("--ablate", e.what());
            }
        }
        if (o.same_prompt && o.parallel.empty()) throw CLI::ValidationError("--same-prompt", "needs --parallel");
        if ((o.lookup || !o.draft_model.empty() || o.verify_cost) && (!o.parallel.empty() || !o.ablate.empty()))
            throw CLI::ValidationError("--lookup/--draft-model/--verify-cost", "cannot be combined with --parallel or --ablate");
        if (prompt_option->count()) {
            if (prompt_text.empty()) throw CLI::ValidationError("--prompt", "the prompt text is empty");
            o.prompt_text = prompt_text;
        }
    };
    return silica::app::run_main(app, parse, [&] {
        Bench bench(o);
        return bench.run();
    });
}
