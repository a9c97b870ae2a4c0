// The human-readable report of a run (stdout, or stderr with --json).
#pragma once
#include <string>

#include <nlohmann/json.hpp>

namespace silica::bench {

// A multi-line table of a run's JSON object: workload, tokens/s statistics, latency percentiles,
// memory, system, roofline and (if present) ablations.
std::string format_report(const nlohmann::json& run);

}  // namespace silica::bench
