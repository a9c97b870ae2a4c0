#include "engine/arch/op_profiler.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace silica::arch {

bool profiling_enabled_by_environment() {
    const char* v = std::getenv("SILICA_PROFILE");
    return v && std::strcmp(v, "1") == 0;
}

OpProfiler::~OpProfiler() {
    if (!enabled_ || steps_ == 0) return;
    const std::string text = report();
    std::fputs(text.c_str(), stderr);
}

void OpProfiler::begin_eval(bool counting) {
    counting_ = enabled_ && counting;
    if (counting_) step_start_ = Clock::now();
}

void OpProfiler::add(const char* name, int64_t ns) {
    if (!counting_) return;
    // A handful of names: a linear search is cheaper than hashing, and only runs when profiling.
    for (Entry& e : entries_)
        if (e.name == name || std::strcmp(e.name, name) == 0) {
            e.ns += ns;
            ++e.calls;
            return;
        }
    entries_.push_back(Entry{name, ns, 1});
}

void OpProfiler::end_step() {
    if (!counting_) return;
    step_ns_ += std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - step_start_).count();
    ++steps_;
    counting_ = false;
}

std::string OpProfiler::report() const {
    if (steps_ == 0) return "silica profile: no decode step\n";
    const double steps = static_cast<double>(steps_);
    int64_t sum = 0;
    // Names in parentheses are parts of another entry's time: listed, not summed.
    for (const Entry& e : entries_)
        if (e.name[0] != '(') sum += e.ns;
    char line[200];
    std::snprintf(line, sizeof line, "silica profile: %lld decode steps, mean %.3f ms/step (ops sum %.3f ms)\n",
                  static_cast<long long>(steps_), step_ns_ / steps / 1e6, sum / steps / 1e6);
    std::string out = line;
    for (const Entry& e : entries_) {
        std::snprintf(line, sizeof line, "  %-24s %8.3f ms  %5.1f%%  %6.1f calls/step\n", e.name, e.ns / steps / 1e6,
                      step_ns_ > 0 ? 100.0 * static_cast<double>(e.ns) / static_cast<double>(step_ns_) : 0.0,
                      e.calls / steps);
        out += line;
    }
    return out;
}

}  // namespace silica::arch
