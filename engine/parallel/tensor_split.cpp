#include "engine/parallel/tensor_split.h"

#include <algorithm>

#include "silica/error.h"

namespace silica::parallel {

Slice TensorSplit::share(int64_t n, int64_t unit, const std::string& what) const {
    const int64_t units = (n + unit - 1) / unit;
    if (units < n_ranks)
        throw Error("tensor parallelism: " + what + " (" + std::to_string(n) + ", in units of " +
                    std::to_string(unit) + ") cannot be split over " + std::to_string(n_ranks) + " ranks");
    const int64_t u0 = units * rank / n_ranks, u1 = units * (rank + 1) / n_ranks;
    return {std::min(n, u0 * unit), std::min(n, u1 * unit)};
}

}  // namespace silica::parallel
