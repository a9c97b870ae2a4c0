#include "apps/bench/statistics.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "silica/error.h"

namespace silica::bench {

Summary summarize(std::span<const double> values) {
    if (values.empty()) throw Error("cannot summarize an empty list of values");
    Summary s;
    s.count = values.size();
    double sum = 0.0;
    for (double v : values) sum += v;
    s.mean = sum / static_cast<double>(s.count);
    double squares = 0.0;
    for (double v : values) squares += (v - s.mean) * (v - s.mean);
    s.stdev = s.count > 1 ? std::sqrt(squares / static_cast<double>(s.count - 1)) : 0.0;
    s.median = percentile(values, 50.0);
    const auto [lo, hi] = std::minmax_element(values.begin(), values.end());
    s.min = *lo;
    s.max = *hi;
    return s;
}

double percentile(std::span<const double> values, double p) {
    if (values.empty()) throw Error("cannot take a percentile of an empty list of values");
    if (!(p >= 0.0 && p <= 100.0)) throw Error("percentile " + std::to_string(p) + " is outside [0, 100]");
    std::vector<double> sorted(values.begin(), values.end());
    std::sort(sorted.begin(), sorted.end());
    const double rank = p / 100.0 * static_cast<double>(sorted.size() - 1);
    const size_t below = static_cast<size_t>(std::floor(rank));
    const size_t above = std::min(below + 1, sorted.size() - 1);
    const double fraction = rank - static_cast<double>(below);
    return sorted[below] + fraction * (sorted[above] - sorted[below]);
}

}  // namespace silica::bench
