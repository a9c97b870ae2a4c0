#include "apps/bench/plots.h"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>

#include <fmt/format.h>

#include "apps/bench/svg_chart.h"
#include "silica/error.h"

namespace silica::bench {
namespace {

using nlohmann::json;

constexpr const char* kPrefillColor = "#4e79a7";
constexpr const char* kDecodeColor = "#f28e2b";
constexpr const char* kOffColor = "#9c9c9c";
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double number_at(const json& j, const std::string& pointer) {
    const json::json_pointer p(pointer);
    if (!j.contains(p) || !j[p].is_number()) return kNaN;
    return j[p].get<double>();
}

std::string workload_line(const json& run) {
    return fmt::format("{} ({}), {} threads, KV {}, prompt {} + gen {} tokens, git {}, {}",
                       run["model"].value("name", "?"), run["model"].value("architecture", "?"),
                       run.value("threads", 0), run.value("kv_type", "?"), run.value("prompt_len", 0),
                       run.value("gen_len", 0), run.value("git_revision", "?"), run.value("timestamp", "?"));
}

}  // namespace

std::string run_plot_svg(const json& run) {
    std::vector<std::string> labels;
    ChartSeries prefill{"prefill", kPrefillColor, {}}, decode{"decode", kDecodeColor, {}};
    int i = 0;
    for (const auto& it : run["iterations"]) {
        labels.push_back(std::to_string(++i));
        prefill.values.push_back(number_at(it, "/prefill_tokens_per_s"));
        decode.values.push_back(number_at(it, "/decode_tokens_per_s"));
    }
    std::vector<ChartPanel> panels;
    ChartPanel p;
    p.title = "Prefill tokens/s per measured iteration";
    p.y_label = "tokens/s";
    p.x_labels = labels;
    p.series = {prefill};
    p.reference_lines = {{"mean", number_at(run, "/summary/prefill_tokens_per_s/mean")}};
    panels.push_back(p);
    if (!run["summary"]["decode_tokens_per_s"].is_null()) {
        ChartPanel d = p;
        d.title = "Decode tokens/s per measured iteration";
        d.series = {decode};
        d.reference_lines = {{"mean", number_at(run, "/summary/decode_tokens_per_s/mean")}};
        panels.push_back(d);
    }
    std::string foot = workload_line(run);
    const double roof = number_at(run, "/roofline/decode_tokens_per_s_ceiling");
    if (std::isfinite(roof)) foot += fmt::format("; decode roofline {} tokens/s", format_number(roof));
    return render_chart("bench run: tokens/s per iteration", panels, foot);
}

std::string ablation_plot_svg(const json& run) {
    if (!run.contains("ablations")) throw Error("the run has no ablations to plot");
    std::vector<std::string> labels;
    ChartSeries prefill_on{"optimization on", kPrefillColor, {}}, prefill_off{"optimization off", kOffColor, {}};
    ChartSeries decode_on{"optimization on", kDecodeColor, {}}, decode_off{"optimization off", kOffColor, {}};
    for (const auto& a : run["ablations"]) {
        labels.push_back(a.value("name", "?"));
        const bool ok = a.value("available", false) && a.contains("on") && a.contains("off");
        prefill_on.values.push_back(ok ? number_at(a, "/on/prefill_tokens_per_s/mean") : kNaN);
        prefill_off.values.push_back(ok ? number_at(a, "/off/prefill_tokens_per_s/mean") : kNaN);
        decode_on.values.push_back(ok ? number_at(a, "/on/decode_tokens_per_s/mean") : kNaN);
        decode_off.values.push_back(ok ? number_at(a, "/off/decode_tokens_per_s/mean") : kNaN);
    }
    ChartPanel p;
    p.title = "Prefill tokens/s (mean) with each optimization on and off";
    p.y_label = "tokens/s";
    p.x_labels = labels;
    p.series = {prefill_on, prefill_off};
    std::vector<ChartPanel> panels{p};
    if (run.value("gen_len", 0) > 0) {
        ChartPanel d = p;
        d.title = "Decode tokens/s (mean) with each optimization on and off";
        d.series = {decode_on, decode_off};
        panels.push_back(d);
    }
    return render_chart("bench ablations", panels, workload_line(run) + "; n/a = not available in this build");
}

std::string history_plot_svg(const std::vector<json>& runs) {
    if (runs.empty()) throw Error("no runs to plot");
    std::vector<std::string> labels;
    ChartSeries prefill{"prefill mean", kPrefillColor, {}}, decode{"decode mean", kDecodeColor, {}};
    for (const auto& r : runs) {
        // "2025-01-31T12:34:56Z" -> "01-31 12:34:56", plus the first 7 digits of the revision.
        const std::string ts = r.value("timestamp", "");
        const std::string when = ts.size() >= 19 ? ts.substr(5, 5) + " " + ts.substr(11, 8) : ts;
        labels.push_back(when + "\n" + r.value("git_revision", "?").substr(0, 7));
        prefill.values.push_back(number_at(r, "/summary/prefill_tokens_per_s/mean"));
        decode.values.push_back(number_at(r, "/summary/decode_tokens_per_s/mean"));
    }
    ChartPanel p;
    p.kind = ChartPanel::Kind::lines;
    p.title = "Prefill tokens/s, mean of each run";
    p.y_label = "tokens/s";
    p.x_labels = labels;
    p.series = {prefill};
    ChartPanel d = p;
    d.title = "Decode tokens/s, mean of each run";
    d.series = {decode};
    const json& last = runs.back();
    return render_chart(fmt::format("bench history: {} ({} runs)", last["model"].value("name", "?"), runs.size()),
                        {p, d},
                        "runs of every workload of this model file, oldest first; last: " + workload_line(last));
}

void write_text_file(const std::string& path, const std::string& content) {
    const std::string temporary = path + ".tmp";
    {
        std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
        if (!out) throw Error(temporary + ": cannot create");
        out << content;
        if (!out.flush()) throw Error(temporary + ": write failed");
    }
    if (std::rename(temporary.c_str(), path.c_str()) != 0) {
        std::remove(temporary.c_str());
        throw Error(path + ": cannot write");
    }
}

}  // namespace silica::bench
