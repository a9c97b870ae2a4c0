// The timing loop shared by the per-ISA peak probes (kernels/peak_throughput.h): runs `step` (one
// round of kChains independent instructions, kOpsPerStep operations in all) in batches until
// `seconds` have gone by, and returns operations per second in units of 10^9.
#pragma once
#include <chrono>
#include <cstdint>

namespace silica::kernels::detail {

template <class Step>
double ops_per_second(double seconds, double ops_per_step, Step&& step) {
    using Clock = std::chrono::steady_clock;
    constexpr int64_t kBatch = 4096;
    const auto start = Clock::now();
    int64_t steps = 0;
    double elapsed = 0.0;
    do {
        for (int64_t i = 0; i < kBatch; ++i) step();
        steps += kBatch;
        elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    } while (elapsed < seconds);
    return static_cast<double>(steps) * ops_per_step / elapsed * 1e-9;
}

}  // namespace silica::kernels::detail
