// Summary statistics over a bench run's per-iteration figures and per-token latencies.
#pragma once
#include <cstddef>
#include <span>

namespace silica::bench {

struct Summary {
    size_t count = 0;
    double mean = 0.0;
    double median = 0.0;
    double stdev = 0.0;  // sample standard deviation (n - 1 in the denominator); 0 for one value
    double min = 0.0;
    double max = 0.0;
};

// Throws silica::Error if `values` is empty.
Summary summarize(std::span<const double> values);

// The p-th percentile (p in [0, 100]) with linear interpolation between the two closest ranks
// (rank = p/100 * (n - 1), the same rule as NumPy's default). Throws if `values` is empty or p is
// outside [0, 100].
double percentile(std::span<const double> values, double p);

}  // namespace silica::bench
