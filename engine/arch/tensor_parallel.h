// A forward's view of tensor parallelism (engine/parallel/tensor_split.h): which slice of each
// layer this process holds, and the two exchanges a split forward makes — summing the ranks'
// partial block outputs, and gathering the logits of the output matrix's vocabulary slices.
// With no communicator (one process) the split is the whole model and both are no-ops, so the
// forwards are written once for both cases.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <vector>

#include "engine/arch/op_profiler.h"
#include "engine/parallel/communicator.h"
#include "engine/parallel/tensor_split.h"

namespace silica::arch {

class TensorParallel {
public:
    TensorParallel() = default;  // one process: the whole model
    explicit TensorParallel(std::shared_ptr<parallel::Communicator> comm);

    const parallel::TensorSplit& split() const { return split_; }
    bool active() const { return split_.active(); }
    bool first_rank() const { return split_.rank == 0; }
    parallel::Communicator* communicator() const { return comm_.get(); }

    // This rank's share of the vocabulary (rows of the output matrix), and every rank's.
    parallel::Slice vocab_share(int64_t n_vocab, int rank) const;
    // x[0..n) = the sum over ranks of each rank's x (profiled as "tp: allreduce").
    void sum(float* x, size_t n, OpProfiler& profiler) const;
    // local: rows x (this rank's vocabulary share) logits; out: rows x n_vocab, whole rows.
    void gather_logits(const float* local, int64_t rows, int64_t n_vocab, float* out, std::vector<float>& scratch,
                       OpProfiler& profiler) const;

    // The bias of a matrix split by columns: every rank's partial sum would add it, so only the
    // first rank keeps it (the others get an empty vector: bias_or_null gives them no bias).
    std::vector<float> first_rank_only(std::vector<float> bias) const {
        return first_rank() ? std::move(bias) : std::vector<float>{};
    }

private:
    std::shared_ptr<parallel::Communicator> comm_;
    parallel::TensorSplit split_;
};

// The elements of `values` in the slices, in order (biases of a matrix split by rows).
std::vector<float> slice_of(const std::vector<float>& values, std::initializer_list<parallel::Slice> slices);
// Elements [slice.begin, slice.end) of each of the n_groups groups of group_size values (an expert
// stack's biases).
std::vector<float> slice_of_groups(const std::vector<float>& values, int64_t group_size, parallel::Slice slice);

// A bias for Linear: null when empty.
inline const float* bias_or_null(const std::vector<float>& bias) { return bias.empty() ? nullptr : bias.data(); }

}  // namespace silica::arch
