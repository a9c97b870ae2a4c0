#include "apps/bench/process_memory.h"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>
#include <string>

namespace silica::bench {
namespace {

// The value in kB of a line "Key:   1234 kB", or std::nullopt.
std::optional<double> field_kib(std::string_view text, std::string_view key) {
    size_t pos = 0;
    while (pos < text.size()) {
        const size_t end = std::min(text.find('\n', pos), text.size());
        std::string_view line = text.substr(pos, end - pos);
        pos = end + 1;
        if (line.size() <= key.size() || line.substr(0, key.size()) != key || line[key.size()] != ':') continue;
        std::string_view rest = line.substr(key.size() + 1);
        while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t')) rest.remove_prefix(1);
        unsigned long long kib = 0;
        const auto [ptr, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), kib);
        if (ec != std::errc() || ptr == rest.data()) return std::nullopt;
        return static_cast<double>(kib);
    }
    return std::nullopt;
}

}  // namespace

std::optional<ProcessMemory> parse_proc_status(std::string_view status_text) {
    const auto rss = field_kib(status_text, "VmRSS");
    const auto hwm = field_kib(status_text, "VmHWM");
    if (!rss || !hwm) return std::nullopt;
    return ProcessMemory{*rss / 1024.0, *hwm / 1024.0};
}

std::optional<ProcessMemory> read_process_memory() {
    std::ifstream in("/proc/self/status");
    if (!in) return std::nullopt;
    std::ostringstream text;
    text << in.rdbuf();
    return parse_proc_status(text.str());
}

bool reset_peak_rss() {
    std::ofstream out("/proc/self/clear_refs");
    if (!out) return false;
    out << "5";
    out.flush();
    return static_cast<bool>(out);
}

}  // namespace silica::bench
