// Resident memory of this process, from /proc/self/status (Linux).
// Sizes are MiB (2^20 bytes) although the JSON keys say "mb", following the usual habit.
#pragma once
#include <optional>
#include <string_view>

namespace silica::bench {

struct ProcessMemory {
    double rss_mib = 0.0;       // VmRSS: resident now (private memory + mapped file pages in RAM)
    double peak_rss_mib = 0.0;  // VmHWM: the highest VmRSS since start or the last reset
};

// Parses the text of /proc/<pid>/status; std::nullopt if VmRSS or VmHWM is missing.
std::optional<ProcessMemory> parse_proc_status(std::string_view status_text);

// Reads /proc/self/status; std::nullopt where it cannot be read (not Linux, restricted /proc).
std::optional<ProcessMemory> read_process_memory();

// Sets VmHWM back to the current VmRSS (writes "5" to /proc/self/clear_refs, Linux >= 4.0), so
// the peak of one phase can be measured on its own. Returns false if the kernel refused.
bool reset_peak_rss();

}  // namespace silica::bench
