// Tests of the bench app's helpers that need no model: statistics, the weight-traffic estimate,
// the fixed prompt, /proc parsing, the noise rule, the result files and the SVG writer.
#include <catch2/catch.hpp>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include "apps/bench/ablations.h"
#include "apps/bench/bandwidth_probe.h"
#include "apps/bench/compare.h"
#include "apps/bench/plots.h"
#include "apps/bench/process_memory.h"
#include "apps/bench/prompt_tokens.h"
#include "apps/bench/report_table.h"
#include "apps/bench/results_files.h"
#include "apps/bench/run_identity.h"
#include "apps/bench/run_record.h"
#include "apps/bench/statistics.h"
#include "apps/bench/svg_chart.h"
#include "apps/bench/system_info.h"
#include "apps/bench/weight_traffic.h"
#include "silica/error.h"

using namespace silica::bench;
using nlohmann::json;

namespace {

// A fresh, empty folder under the build tree for one test.
std::filesystem::path scratch_dir(const std::string& name) {
    const auto dir = std::filesystem::path(SILICA_BINARY_DIR) / "tests" / "apps" / "scratch" / name;
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    return dir;
}

silica::gguf::TensorInfo tensor(const std::string& name, std::vector<int64_t> dims, uint64_t nbytes) {
    silica::gguf::TensorInfo t;
    t.name = name;
    t.n_dims = static_cast<uint32_t>(dims.size());
    for (size_t i = 0; i < dims.size(); ++i) t.ne[i] = dims[i];
    t.nbytes = nbytes;
    return t;
}

IterationTiming timing(double prefill_s, double ttft_s, std::vector<double> steps) {
    return IterationTiming{prefill_s, ttft_s, std::move(steps)};
}

RunRecord sample_record(int64_t gen_len) {
    RunRecord r;
    r.timestamp = "2025-01-31T12:34:56Z";
    r.git_revision = "abcdef123456";
    r.model = ModelIdentity{"tiny, \"quoted\"", "/m/tiny.gguf", "gpt2", 3000000, "0123456789abcdef", 1 << 20};
    r.workload = Workload{100, gen_len, 1, 2, 2, 100 + gen_len, "f16", "fixed"};
    std::vector<double> steps(static_cast<size_t>(gen_len), 0.01);
    r.iterations = {timing(0.5, 0.51, steps), timing(0.25, 0.26, steps)};
    r.memory.rss_after_load_mib = 10.0;
    r.memory.rss_after_first_iteration_mib = 12.0;
    r.memory.peak_rss_mib = 13.0;
    r.memory.kv_cache_bytes = 4096;
    r.system.cpu_model = "Some CPU, 4 GHz";
    r.system.isa = "avx512";
    r.system.topology = CpuTopology{1, 2, 4, 1};
    r.system.bandwidth = Bandwidth{20.0, uint64_t{1} << 30, 3, 2, 0.5};
    r.traffic.dense_bytes = 2000000;
    r.traffic.embedding_row_bytes = 1000;
    r.traffic.bytes_per_token = 2001000;
    return r;
}

}  // namespace

TEST_CASE("summarize: mean, median, sample stdev, min, max", "[bench][statistics]") {
    const std::vector<double> v{4.0, 1.0, 3.0, 2.0};
    const Summary s = summarize(v);
    CHECK(s.count == 4);
    CHECK(s.mean == Approx(2.5));
    CHECK(s.median == Approx(2.5));
    CHECK(s.stdev == Approx(std::sqrt(5.0 / 3.0)));
    CHECK(s.min == 1.0);
    CHECK(s.max == 4.0);
    const std::vector<double> one{7.0};
    CHECK(summarize(one).stdev == 0.0);
    CHECK(summarize(one).median == 7.0);
    CHECK_THROWS_AS(summarize(std::vector<double>{}), silica::Error);
}

TEST_CASE("percentile interpolates linearly between ranks", "[bench][statistics]") {
    const std::vector<double> v{5.0, 1.0, 4.0, 2.0, 3.0};
    CHECK(percentile(v, 0) == 1.0);
    CHECK(percentile(v, 50) == 3.0);
    CHECK(percentile(v, 90) == Approx(4.6));
    CHECK(percentile(v, 99) == Approx(4.96));
    CHECK(percentile(v, 100) == 5.0);
    CHECK_THROWS_AS(percentile(v, 101), silica::Error);
    CHECK_THROWS_AS(percentile(v, -1), silica::Error);
    CHECK_THROWS_AS(percentile(std::vector<double>{}, 50), silica::Error);
}

TEST_CASE("weight traffic: a tied embedding is read in full, lookups read one row", "[bench][roofline]") {
    // GPT-2 layout without output.weight: token_embd doubles as the output matrix.
    const std::vector<silica::gguf::TensorInfo> tensors = {
        tensor("token_embd.weight", {64, 1000}, 64000),
        tensor("position_embd.weight", {64, 128}, 32768),
        tensor("blk.0.attn_qkv.weight", {64, 192}, 13056),
        tensor("blk.0.attn_qkv.bias", {192}, 768),
        tensor("output_norm.weight", {64}, 256),
    };
    const WeightTraffic w = estimate_weight_traffic(tensors, 0, 0);
    CHECK(w.embedding_row_bytes == 64 + 256);
    CHECK(w.dense_bytes == 64000 + 13056 + 768 + 256);
    CHECK(w.expert_bytes == 0);
    CHECK(w.bytes_per_token == w.dense_bytes + w.embedding_row_bytes);
    CHECK(w.total_tensor_bytes == 64000 + 32768 + 13056 + 768 + 256);

    // With a separate output matrix the token embedding is only looked up.
    auto untied = tensors;
    untied.push_back(tensor("output.weight", {64, 1000}, 68000));
    const WeightTraffic u = estimate_weight_traffic(untied, 0, 0);
    CHECK(u.dense_bytes == 68000 + 13056 + 768 + 256);
    CHECK(u.embedding_row_bytes == 64 + 256);
}

TEST_CASE("weight traffic: only the used share of the experts counts", "[bench][roofline]") {
    const std::vector<silica::gguf::TensorInfo> tensors = {
        tensor("token_embd.weight", {32, 100}, 3200),
        tensor("output.weight", {32, 100}, 3400),
        tensor("blk.0.ffn_gate_exps.weight", {32, 64, 8}, 8 * 1088),
        tensor("blk.0.ffn_gate_exps.bias", {64, 8}, 8 * 256),
        tensor("blk.0.ffn_gate_inp.weight", {32, 8}, 1024),
    };
    const WeightTraffic w = estimate_weight_traffic(tensors, 8, 2);
    CHECK(w.expert_bytes == 2 * 1088 + 2 * 256);
    CHECK(w.dense_bytes == 3400 + 1024);
    CHECK(w.embedding_row_bytes == 32);
    CHECK(w.bytes_per_token == 2 * 1088 + 2 * 256 + 3400 + 1024 + 32);
    CHECK_THROWS_AS(estimate_weight_traffic(tensors, 0, 0), silica::Error);
    CHECK_THROWS_AS(estimate_weight_traffic(tensors, 4, 8), silica::Error);
}

TEST_CASE("weight traffic of GPT-OSS-20B matches DESIGN section 5 (2.575 GB per token)", "[bench][roofline]") {
    // The 20B layout as llama.cpp's converter writes it: Q8_0 attention, router and output
    // matrices, MXFP4 experts (17 bytes per 32 weights), f32 norms, biases and sinks.
    const int64_t embd = 2880, q = 64 * 64, kv = 8 * 64, ff = 2880, experts = 32, vocab = 201088;
    auto q8 = [](int64_t n) { return static_cast<uint64_t>(n / 32 * 34); };
    auto mxfp4 = [](int64_t n) { return static_cast<uint64_t>(n / 32 * 17); };
    auto f32 = [](int64_t n) { return static_cast<uint64_t>(n * 4); };
    std::vector<silica::gguf::TensorInfo> t = {
        tensor("token_embd.weight", {embd, vocab}, q8(embd * vocab)),
        tensor("output.weight", {embd, vocab}, q8(embd * vocab)),
        tensor("output_norm.weight", {embd}, f32(embd)),
    };
    for (int l = 0; l < 24; ++l) {
        const std::string b = "blk." + std::to_string(l) + ".";
        t.push_back(tensor(b + "attn_norm.weight", {embd}, f32(embd)));
        t.push_back(tensor(b + "attn_q.weight", {embd, q}, q8(embd * q)));
        t.push_back(tensor(b + "attn_q.bias", {q}, f32(q)));
        t.push_back(tensor(b + "attn_k.weight", {embd, kv}, q8(embd * kv)));
        t.push_back(tensor(b + "attn_k.bias", {kv}, f32(kv)));
        t.push_back(tensor(b + "attn_v.weight", {embd, kv}, q8(embd * kv)));
        t.push_back(tensor(b + "attn_v.bias", {kv}, f32(kv)));
        t.push_back(tensor(b + "attn_output.weight", {q, embd}, q8(q * embd)));
        t.push_back(tensor(b + "attn_output.bias", {embd}, f32(embd)));
        t.push_back(tensor(b + "attn_sinks.weight", {64}, f32(64)));
        t.push_back(tensor(b + "post_attention_norm.weight", {embd}, f32(embd)));
        t.push_back(tensor(b + "ffn_gate_inp.weight", {embd, experts}, q8(embd * experts)));
        t.push_back(tensor(b + "ffn_gate_inp.bias", {experts}, f32(experts)));
        for (const char* m : {"gate", "up", "down"}) {
            t.push_back(tensor(b + "ffn_" + m + "_exps.weight", {embd, ff, experts}, mxfp4(embd * ff * experts)));
            t.push_back(tensor(b + "ffn_" + m + "_exps.bias", {ff, experts}, f32(ff * experts)));
        }
    }
    const WeightTraffic w = estimate_weight_traffic(t, experts, 4);
    CHECK(static_cast<double>(w.bytes_per_token) == Approx(2.575e9).epsilon(0.01));
    CHECK(w.embedding_row_bytes == q8(embd));
    // The experts: 3 matrices x 24 layers x 4 of 32 experts, plus their biases.
    CHECK(w.expert_bytes == 24 * 3 * (mxfp4(embd * ff * experts) / 32 * 4 + f32(ff * experts) / 32 * 4));
}

TEST_CASE("the fixed prompt is deterministic and within the vocabulary", "[bench][prompt]") {
    const auto a = fixed_prompt_tokens(600, 50257);
    REQUIRE(a.size() == 600);
    CHECK(a[0] == 13);
    CHECK(a[1] == 13 + 7919);
    CHECK(a[5] == (13 + 7919 * 5) % 32768);
    CHECK(a == fixed_prompt_tokens(600, 50257));
    for (int32_t id : fixed_prompt_tokens(300, 100)) CHECK((id >= 0 && id < 100));
    CHECK(fixed_prompt_tokens(0, 100).empty());
    CHECK_THROWS_AS(fixed_prompt_tokens(4, 0), silica::Error);

    CHECK(repeat_to_length({7, 8, 9}, 7) == std::vector<int32_t>{7, 8, 9, 7, 8, 9, 7});
    CHECK(repeat_to_length({7, 8, 9}, 2) == std::vector<int32_t>{7, 8});
    CHECK_THROWS_AS(repeat_to_length({}, 3), silica::Error);
}

TEST_CASE("process memory and CPU model are parsed from /proc text", "[bench][system]") {
    const auto m = parse_proc_status("Name:\tbench\nVmPeak:\t  999 kB\nVmHWM:\t    4096 kB\nVmRSS:\t    2048 kB\n");
    REQUIRE(m.has_value());
    CHECK(m->rss_mib == 2.0);
    CHECK(m->peak_rss_mib == 4.0);
    CHECK_FALSE(parse_proc_status("VmRSS: 12 kB\n").has_value());
    CHECK_FALSE(parse_proc_status("VmRSSX: 12 kB\nVmHWM: 1 kB\n").has_value());

    const auto live = read_process_memory();
    REQUIRE(live.has_value());
    CHECK(live->rss_mib > 0.0);
    CHECK(live->peak_rss_mib >= live->rss_mib);

    CHECK(parse_cpu_model("processor\t: 0\nmodel name\t: AMD Ryzen 9 7950X 16-Core Processor  \nflags: x\n") ==
          "AMD Ryzen 9 7950X 16-Core Processor");
    CHECK(parse_cpu_model("processor: 0\n") == "unknown");
    const CpuTopology t = detect_cpu_topology();
    CHECK(t.logical_cpus >= 1);
    CHECK(t.cores >= 1);
    CHECK(t.cores <= t.logical_cpus);
}

TEST_CASE("the bandwidth probe reports a positive rate", "[bench][system]") {
    const Bandwidth b = measure_read_bandwidth(2, uint64_t{16} << 20, 2);
    CHECK(b.gb_per_s > 0.0);
    CHECK(std::isfinite(b.gb_per_s));
    CHECK(b.buffer_bytes == uint64_t{16} << 20);
    CHECK(b.threads == 2);
    CHECK(b.passes == 2);
    CHECK_THROWS_AS(measure_read_bandwidth(2, 16, 1), silica::Error);
}

TEST_CASE("noise rule: the larger of twice the pooled relative stdev and 5%", "[bench][compare]") {
    CHECK(noise_threshold(0.0, 0.0) == Approx(0.05));
    CHECK(noise_threshold(0.1, 0.1) == Approx(0.2));
    CHECK(noise_threshold(0.03, 0.04) == Approx(2.0 * std::sqrt((0.0009 + 0.0016) / 2.0)));

    json before = to_json(sample_record(4));
    json after = before;
    // Prefill 20% slower (its spread is ~47% here, so within noise); decode 20% faster with no
    // spread (an improvement); peak RSS up 10% (a regression).
    for (auto* run : {&after}) {
        (*run)["summary"]["prefill_tokens_per_s"]["mean"] = before["summary"]["prefill_tokens_per_s"]["mean"].get<double>() * 0.8;
        (*run)["summary"]["decode_tokens_per_s"]["mean"] = before["summary"]["decode_tokens_per_s"]["mean"].get<double>() * 1.2;
        (*run)["peak_rss_mb"] = 13.0 * 1.1;
    }
    const auto changes = compare_runs(before, after);
    REQUIRE(changes.size() == 4);
    CHECK(changes[0].metric == "prefill_tokens_per_s");
    CHECK(changes[0].change == Approx(-0.2));
    CHECK(changes[0].verdict == "within noise");
    CHECK(changes[1].metric == "decode_tokens_per_s");
    CHECK(changes[1].threshold == Approx(0.05));
    CHECK(changes[1].verdict == "improvement");
    CHECK(changes[2].metric == "ttft_ms");
    CHECK(changes[2].verdict == "within noise");
    CHECK(changes[3].metric == "peak_rss_mb");
    CHECK(changes[3].verdict == "regression");

    // A slower decode beyond the noise is a regression; a prefill-only run has no decode figure.
    after["summary"]["decode_tokens_per_s"]["mean"] = before["summary"]["decode_tokens_per_s"]["mean"].get<double>() * 0.9;
    CHECK(compare_runs(before, after)[1].verdict == "regression");
    const json prefill_only = to_json(sample_record(0));
    for (const auto& c : compare_runs(before, prefill_only)) CHECK(c.metric != "decode_tokens_per_s");

    const json comparison = comparison_json("f.jsonl", before, compare_runs(before, after),
                                            workload_differences(before, prefill_only));
    CHECK(comparison["regression"] == true);
    CHECK(comparison["workload_differences"].size() == 1);
    CHECK(format_comparison(comparison).find("REGRESSION") != std::string::npos);
}

TEST_CASE("the baseline is the last run of the same model", "[bench][compare]") {
    json a = to_json(sample_record(4));
    json b = a;
    b["timestamp"] = "2025-02-01T00:00:00Z";
    json other = a;
    other["model"]["header_xxh3"] = "ffffffffffffffff";
    const auto found = find_baseline({a, b, other}, a);
    REQUIRE(found.has_value());
    CHECK((*found)["timestamp"] == "2025-02-01T00:00:00Z");
    CHECK_FALSE(find_baseline({other}, a).has_value());
}

TEST_CASE("run JSON: per-iteration rates, summary, roofline", "[bench][json]") {
    const json j = to_json(sample_record(4));
    CHECK(j["format"] == kFormatTag);
    REQUIRE(j["iterations"].size() == 2);
    CHECK(j["iterations"][0]["prefill_tokens_per_s"].get<double>() == Approx(200.0));
    CHECK(j["iterations"][1]["prefill_tokens_per_s"].get<double>() == Approx(400.0));
    CHECK(j["iterations"][0]["decode_tokens_per_s"].get<double>() == Approx(100.0));
    CHECK(j["iterations"][0]["decode_latency_ms"].size() == 4);
    CHECK(j["summary"]["prefill_tokens_per_s"]["mean"].get<double>() == Approx(300.0));
    CHECK(j["summary"]["ttft_ms"]["max"].get<double>() == Approx(510.0));
    CHECK(j["summary"]["decode_latency_ms"]["p50"].get<double>() == Approx(10.0));
    const double ceiling = 20e9 / 2001000.0;
    CHECK(j["roofline"]["decode_tokens_per_s_ceiling"].get<double>() == Approx(ceiling));
    CHECK(j["roofline"]["decode_fraction_of_roofline"].get<double>() == Approx(100.0 / ceiling));
    CHECK(j["peak_rss_mb"].get<double>() == 13.0);
    CHECK_FALSE(j.contains("ablations"));

    const json p = to_json(sample_record(0));
    CHECK(p["iterations"][0]["decode_tokens_per_s"].is_null());
    CHECK(p["summary"]["decode_tokens_per_s"].is_null());
    CHECK(p["summary"]["decode_latency_ms"].is_null());
    CHECK(p["roofline"]["decode_fraction_of_roofline"].is_null());
}

TEST_CASE("ablation rows: speedups, unavailable switches, report and plot", "[bench][ablate]") {
    RunRecord r = sample_record(4);
    AblationRow kv;
    kv.name = "kv-cache";
    kv.available = true;
    kv.on = VariantFigures{"on", r.iterations, 13.0, 4096};
    kv.off = VariantFigures{"off", {timing(0.5, 0.51, {0.04, 0.04, 0.04, 0.04})}, 14.0, 4096};
    AblationRow repack;
    repack.name = "repack";
    repack.note = "not available in this build";
    r.ablations = {kv, repack};
    const json j = to_json(r);
    REQUIRE(j["ablations"].size() == 2);
    CHECK(j["ablations"][0]["decode_speedup"].get<double>() == Approx(4.0));
    CHECK(j["ablations"][0]["prefill_speedup"].get<double>() == Approx(1.5));
    CHECK_FALSE(j["ablations"][1].contains("on"));
    const std::string report = format_report(j);
    CHECK(report.find("repack     not available in this build") != std::string::npos);
    CHECK(report.find("4.00x") != std::string::npos);
    const std::string svg = ablation_plot_svg(j);
    CHECK(svg.find("n/a") != std::string::npos);
    CHECK(svg.find("kv-cache") != std::string::npos);

    CHECK(parse_ablation_list("kv-cache, simd,kv-cache") == std::vector<std::string>{"kv-cache", "simd"});
    CHECK_THROWS_AS(parse_ablation_list("kv-cache,turbo"), silica::Error);
    CHECK_THROWS_AS(parse_ablation_list(" , "), silica::Error);
}

TEST_CASE("CSV rows match the fixed header", "[bench][files]") {
    const json j = to_json(sample_record(4));
    const std::string header = csv_header();
    const std::string row = csv_row(j);
    CHECK(header.rfind("timestamp,git_revision,model_name,", 0) == 0);
    // The model name and CPU model hold commas and quotes: they are quoted, quotes doubled.
    CHECK(row.find("\"tiny, \"\"quoted\"\"\"") != std::string::npos);
    CHECK(row.find("\"Some CPU, 4 GHz\"") != std::string::npos);
    auto count_fields = [](const std::string& line) {
        size_t fields = 1;
        bool quoted = false;
        for (char c : line) {
            if (c == '"') quoted = !quoted;
            else if (c == ',' && !quoted) ++fields;
        }
        return fields;
    };
    CHECK(count_fields(row) == count_fields(header));
    // A prefill-only run leaves the decode columns empty.
    const std::string prefill_row = csv_row(to_json(sample_record(0)));
    CHECK(count_fields(prefill_row) == count_fields(header));
    CHECK(prefill_row.find(",,,,,") != std::string::npos);
}

TEST_CASE("results.jsonl and results.csv are appended and read back", "[bench][files]") {
    const auto dir = scratch_dir("append");
    const json a = to_json(sample_record(4));
    json b = a;
    b["timestamp"] = "2025-02-01T00:00:00Z";
    CHECK(append_results((dir / "out").string(), a).empty());
    CHECK(append_results((dir / "out").string(), b).empty());
    const auto entries = read_json_entries((dir / "out" / "results.jsonl").string());
    REQUIRE(entries.size() == 2);
    CHECK(entries[0] == a);
    CHECK(entries[1] == b);
    std::ifstream csv(dir / "out" / "results.csv");
    std::string line;
    std::vector<std::string> lines;
    while (std::getline(csv, line)) lines.push_back(line);
    REQUIRE(lines.size() == 3);
    CHECK(lines[0] == csv_header());

    // A single pretty-printed object, an array, and a broken JSON-lines file.
    std::ofstream(dir / "one.json") << a.dump(2);
    CHECK(read_json_entries((dir / "one.json").string()).size() == 1);
    std::ofstream(dir / "many.json") << json::array({a, b}).dump();
    CHECK(read_json_entries((dir / "many.json").string()).size() == 2);
    std::ofstream(dir / "bad.jsonl") << a.dump() << "\n{not json\n";
    CHECK_THROWS_WITH(read_json_entries((dir / "bad.jsonl").string()), Catch::Contains("bad.jsonl:2"));
    CHECK_THROWS_AS(read_json_entries((dir / "missing.jsonl").string()), silica::Error);

    // A CSV with another header is left alone, with a warning.
    std::ofstream(dir / "old" / "results.csv") << "";
    std::filesystem::create_directories(dir / "old");
    std::ofstream(dir / "old" / "results.csv") << "timestamp,something_else\n";
    CHECK_FALSE(append_results((dir / "old").string(), a).empty());
    CHECK(read_json_entries((dir / "old" / "results.jsonl").string()).size() == 1);
}

TEST_CASE("SVG charts are well-formed and escape text", "[bench][svg]") {
    CHECK(nice_axis(7.3) == std::make_pair(8.0, 2.0));
    CHECK(nice_axis(100.0) == std::make_pair(100.0, 20.0));
    CHECK(nice_axis(0.0) == std::make_pair(1.0, 0.2));
    CHECK(nice_axis(1234.0).first >= 1234.0);
    CHECK(xml_escape("a<b & \"c\"") == "a&lt;b &amp; &quot;c&quot;");
    CHECK(format_number(1234.4) == "1234");
    CHECK(format_number(56.78) == "56.8");

    ChartPanel p;
    p.title = "tokens <per> second";
    p.x_labels = {"1", "2", "3"};
    p.series = {ChartSeries{"prefill", "#4e79a7", {1.0, std::numeric_limits<double>::quiet_NaN(), 3.0}}};
    p.reference_lines = {{"mean", 2.0}};
    const std::string svg = render_chart("t & t", {p}, "foot");
    CHECK(svg.rfind("<?xml", 0) == 0);
    CHECK(svg.find("<svg xmlns=\"http://www.w3.org/2000/svg\"") != std::string::npos);
    CHECK(svg.find("tokens &lt;per&gt; second") != std::string::npos);
    CHECK(svg.find("t &amp; t") != std::string::npos);
    CHECK(svg.find("n/a") != std::string::npos);
    CHECK(svg.find("stroke-dasharray") != std::string::npos);
    CHECK(svg.find("</svg>") != std::string::npos);
    // A long footnote is wrapped onto several lines instead of running off the picture.
    std::string foot;
    for (int i = 0; i < 30; ++i) foot += "abcdefghij ";
    const std::string wrapped = render_chart("t", {p}, foot);
    size_t foot_lines = 0;
    for (size_t at = wrapped.find("fill=\"#555555\">abcdefghij"); at != std::string::npos;
         at = wrapped.find("fill=\"#555555\">abcdefghij", at + 1)) {
        ++foot_lines;
        CHECK(wrapped.find("</text>", at) - at < 140);
    }
    CHECK(foot_lines == 3);  // 330 characters, at most 125 a line
    // Two finite values -> two bars (plus the white background rect).
    size_t bars = 0;
    for (size_t at = svg.find("<rect x="); at != std::string::npos; at = svg.find("<rect x=", at + 1)) ++bars;
    CHECK(bars == 2 + 1);  // + the legend swatch

    const json run = to_json(sample_record(4));
    CHECK(run_plot_svg(run).find("Decode tokens/s per measured iteration") != std::string::npos);
    CHECK(run_plot_svg(to_json(sample_record(0))).find("Decode tokens/s") == std::string::npos);
    const std::string history = history_plot_svg({run, run});
    CHECK(history.find("<polyline") != std::string::npos);
    CHECK(history.find("01-31 12:34:56<") != std::string::npos);
    CHECK(history.find(">abcdef1<") != std::string::npos);
}

TEST_CASE("run identity: header hash, timestamps, file names", "[bench][identity]") {
    const auto dir = scratch_dir("identity");
    std::string bytes(5000, 'x');
    std::ofstream(dir / "big.bin", std::ios::binary) << bytes;
    const HeaderHash h = hash_file_header((dir / "big.bin").string(), 4000);
    CHECK(h.bytes_hashed == 4000);
    CHECK(h.xxh3_hex.size() == 16);
    bytes.back() = 'y';  // past the header: same identity
    std::ofstream(dir / "big.bin", std::ios::binary | std::ios::trunc) << bytes;
    CHECK(hash_file_header((dir / "big.bin").string(), 4000).xxh3_hex == h.xxh3_hex);
    bytes[10] = 'y';  // inside it: a different one
    std::ofstream(dir / "big.bin", std::ios::binary | std::ios::trunc) << bytes;
    CHECK(hash_file_header((dir / "big.bin").string(), 4000).xxh3_hex != h.xxh3_hex);
    std::ofstream(dir / "small.bin", std::ios::binary) << "abc";
    CHECK(hash_file_header((dir / "small.bin").string(), 4000).bytes_hashed == 3);
    CHECK_THROWS_AS(hash_file_header((dir / "missing.bin").string(), 4000), silica::Error);

    const auto epoch = std::chrono::system_clock::time_point{} + std::chrono::seconds(86400 + 3661);
    CHECK(iso8601_utc(epoch) == "1970-01-02T01:01:01Z");
    CHECK(compact_utc(epoch) == "19700102T010101Z");
    CHECK(file_name_safe("GPT-2 tiny/v1.0") == "GPT-2_tiny_v1.0");
    CHECK(file_name_safe("..") == "model");
    CHECK_FALSE(git_revision().empty());
}

TEST_CASE("KV read per decode step: the mean decode context, hot then warm bytes", "[bench][roofline]") {
    Workload w;
    w.prompt_len = 100;
    w.gen_len = 21;  // steps at contexts 100..120: mean 110
    MemoryFigures m;
    m.kv_hot_bytes_per_token = 1000;
    m.kv_warm_bytes_per_token = 300;
    CHECK(kv_bytes_read_per_decode_step(w, m) == 110 * 1000);
    w.kv_hot_tokens = 40;  // 40 hot tokens, 70 warm
    CHECK(kv_bytes_read_per_decode_step(w, m) == 40 * 1000 + 70 * 300);
    w.gen_len = 0;
    CHECK(kv_bytes_read_per_decode_step(w, m) == 0);
}
