#include "engine/arch/op_profiler.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace silica::arch {

OpProfiler::~OpProfiler() {
    if (!enabled() || steps_ == 0) return;
    const std::string text = report();
    std::fputs(text.c_str(), stderr);
}

void OpProfiler::begin_eval(size_t n_tokens) {
    counting_ = (mode_ == ProfileMode::decode && n_tokens == 1) || (mode_ == ProfileMode::prefill && n_tokens > 1) ||
                (mode_ == ProfileMode::batch && n_tokens > 1 && n_tokens <= 16);
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
    const char* what = mode_ == ProfileMode::prefill ? "prefill evals"
                       : mode_ == ProfileMode::batch ? "batch decode steps (2-16 rows)"
                                                     : "decode steps";
    if (steps_ == 0) return std::string("silica profile: no ") + what + "\n";
    const double steps = static_cast<double>(steps_);
    int64_t sum = 0;
    // Names in parentheses are parts of another entry's time: listed, not summed.
    for (const Entry& e : entries_)
        if (e.name[0] != '(') sum += e.ns;
    char line[200];
    std::snprintf(line, sizeof line, "silica profile: %lld %s, mean %.3f ms each (ops sum %.3f ms)\n",
                  static_cast<long long>(steps_), what, step_ns_ / steps / 1e6, sum / steps / 1e6);
    std::string out = line;
    for (const Entry& e : entries_) {
        std::snprintf(line, sizeof line, "  %-24s %8.3f ms  %5.1f%%  %6.1f calls each\n", e.name, e.ns / steps / 1e6,
                      step_ns_ > 0 ? 100.0 * static_cast<double>(e.ns) / static_cast<double>(step_ns_) : 0.0,
                      e.calls / steps);
        out += line;
    }
    return out;
}

}  // namespace silica::arch
