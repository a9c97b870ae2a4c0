// The three SVG plots a bench run writes into --out-dir, built from run JSON objects.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace silica::bench {

// run_<timestamp>.svg: prefill and decode tokens/s of each measured iteration, with the mean.
std::string run_plot_svg(const nlohmann::json& run);

// ablate_<timestamp>.svg: for each --ablate entry, mean tokens/s with the optimization on and off
// ("n/a" where the switch is not available in this build). Needs run["ablations"].
std::string ablation_plot_svg(const nlohmann::json& run);

// history_<model>.svg: mean prefill and decode tokens/s of every run of one model, oldest first.
std::string history_plot_svg(const std::vector<nlohmann::json>& runs);

// Writes `content` to `path` via a temporary file renamed into place; throws silica::Error.
void write_text_file(const std::string& path, const std::string& content);

}  // namespace silica::bench
