// Which slice of each layer a tensor-parallel rank holds (Megatron-style, as xFasterTransformer
// and vLLM split a model over sockets or devices):
//   - attention by heads: rank r keeps its key/value head groups (and their query heads): the
//     rows of Q, K, V for those heads, and the same columns of the output projection;
//   - a feed-forward (dense, or each expert of a MoE) by hidden features: those rows of up/gate
//     and the same columns of down;
//   - the output matrix by vocabulary rows.
// The norms, the router and the embedding are whole on every rank. Each layer's attention and
// feed-forward then give a partial sum on every rank: one allreduce after each (biases of the
// column-split matrices are added on rank 0 only). The logits are gathered from the vocabulary
// slices. Column slices are cut at block boundaries of the weight's type.
#pragma once
#include <cstdint>
#include <string>

namespace silica::parallel {

struct Slice {
    int64_t begin = 0, end = 0;
    int64_t size() const { return end - begin; }
};

struct TensorSplit {
    int rank = 0;
    int n_ranks = 1;
    bool active() const { return n_ranks > 1; }

    // This rank's part of n items dealt out in whole units of `unit` items (the last unit may be
    // short when unit does not divide n): contiguous, in rank order, sizes differing by at most one
    // unit. Throws silica::Error naming `what` when some rank would get nothing.
    Slice share(int64_t n, int64_t unit, const std::string& what) const;
};

}  // namespace silica::parallel
