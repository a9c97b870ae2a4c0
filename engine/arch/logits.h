// The end of every forward, a building block shared by the architectures: the final norm of the
// rows of a batch that want logits, then the output matrix.
#pragma once
#include <cstdint>
#include <vector>

#include "engine/arch/batch.h"
#include "engine/arch/linear.h"
#include "engine/arch/norm.h"
#include "engine/arch/op_profiler.h"
#include "engine/arch/tensor_parallel.h"
#include "engine/arch/weight.h"

namespace silica::arch {

// For each row t of the batch that wants logits: x += h (when add_residual: the last block's
// output is still in h), then norm(x) into the next free row of h from the top (row n <= t, so
// each row of h is read before it is overwritten). Then out = output · those n rows, n_vocab each.
// Under tensor parallelism `output` is this rank's vocabulary slice: its logits go to scratch.slice
// first and are gathered into whole rows of out (TensorParallel::gather_logits).
struct LogitsScratch {
    std::vector<float> slice, gathered;
};
void final_norm_and_logits(Linear& linear, OpProfiler& profiler, const Batch& batch, const Norm& norm,
                           bool add_residual, float* x, float* h, int64_t C, const Weight& output,
                           const TensorParallel& tp, int64_t n_vocab, LogitsScratch& scratch, float* out);

}  // namespace silica::arch
