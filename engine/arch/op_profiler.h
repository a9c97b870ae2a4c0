// Opt-in wall-clock timer per operation of a forward pass, to see where a decode step's time goes.
//
// Switch: SessionOptions/EngineOptions::profile, decode steps or multi-token evals (the apps take it
// from SILICA_PROFILE=1 or SILICA_PROFILE=prefill). Off (the default), every call below is one
// predictable branch on a bool and reads no clock.
//
// On, the forward times each operation (OpScope) of the evals profiled, and end_step() closes
// each. When the forward is destroyed it prints to stderr the mean time per step of each
// operation name, e.g.
//
//   silica profile: 64 decode steps, mean 7.61 ms each (ops sum 7.58 ms)
//     matmul qkv            1.203 ms  15.8%   12.0 calls each
//     ...
//
// "dispatch" entries are the part of a threaded operation's wall time not spent in its work on the
// slowest thread: waking the pool, waiting for it, and load imbalance (see Linear).
#pragma once
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "silica/session.h"

namespace silica::arch {

using ProfileMode = silica::OpProfile;

class OpProfiler {
public:
    using Clock = std::chrono::steady_clock;

    explicit OpProfiler(ProfileMode mode = ProfileMode::off) : mode_(mode) {}
    ~OpProfiler();  // prints the report when enabled and at least one step was closed
    OpProfiler(const OpProfiler&) = delete;
    OpProfiler& operator=(const OpProfiler&) = delete;

    bool enabled() const { return mode_ != ProfileMode::off; }
    // Starts a forward call of n_tokens: counted if the mode asks for it (1 token: decode).
    void begin_eval(size_t n_tokens);
    // Adds ns to the operation `name` (a string literal or other pointer that outlives the profiler).
    void add(const char* name, int64_t ns);
    // Closes the step begun by begin_eval (no-op when it is not counted).
    void end_step();
    bool counting() const { return counting_; }

    // The report as text (also what the destructor prints).
    std::string report() const;

private:
    struct Entry {
        const char* name;
        int64_t ns = 0;
        int64_t calls = 0;
    };
    ProfileMode mode_ = ProfileMode::off;
    bool counting_ = false;
    int64_t steps_ = 0;
    int64_t step_ns_ = 0;  // wall time of the closed steps, from begin_eval to end_step
    Clock::time_point step_start_{};
    std::vector<Entry> entries_;  // in order of first appearance
};

// Times its own lifetime into profiler.add(name, ...) when the profiler is counting.
class OpScope {
public:
    OpScope(OpProfiler& profiler, const char* name) : profiler_(profiler), name_(name) {
        if (profiler_.counting()) start_ = OpProfiler::Clock::now();
    }
    ~OpScope() {
        if (profiler_.counting())
            profiler_.add(name_, std::chrono::duration_cast<std::chrono::nanoseconds>(OpProfiler::Clock::now() - start_)
                                     .count());
    }
    OpScope(const OpScope&) = delete;
    OpScope& operator=(const OpScope&) = delete;

private:
    OpProfiler& profiler_;
    const char* name_;
    OpProfiler::Clock::time_point start_{};
};

}  // namespace silica::arch

namespace silica::arch {

// pool.run(task), and when the profiler is counting: the slowest thread's time in task under
// `name`, the rest of the call's wall time under "dispatch+imbalance". Pool: ThreadPool (a
// template so this header needs no threading include).
template <class Pool, class Task>
void run_profiled(Pool& pool, OpProfiler& profiler, const char* name, Task&& task) {
    if (!profiler.counting()) {
        pool.run(task);
        return;
    }
    using Clock = OpProfiler::Clock;
    auto ns = [](Clock::duration d) { return std::chrono::duration_cast<std::chrono::nanoseconds>(d).count(); };
    std::vector<int64_t> busy(static_cast<size_t>(pool.n_threads()), 0);
    const Clock::time_point start = Clock::now();
    pool.run([&](int tid, int nth) {
        const Clock::time_point t0 = Clock::now();
        task(tid, nth);
        busy[static_cast<size_t>(tid)] = ns(Clock::now() - t0);
    });
    const int64_t wall = ns(Clock::now() - start);
    int64_t slowest = 0;
    for (int64_t b : busy) slowest = b > slowest ? b : slowest;
    profiler.add(name, slowest);
    profiler.add("dispatch+imbalance", wall - slowest);
}

}  // namespace silica::arch
