// The mixture-of-experts block, a building block for the forwards (GPT-OSS uses it): a router
// picks the top k of E experts for each row (softmax over the chosen k only); each expert is a
// gated FFN with a clamped SwiGLU,
//     g = min(gate(h), limit), u = clamp(up(h), -limit, limit), a = g * sigmoid(alpha * g) * (u + 1),
//     y = down(a) + b_down,
// and the residual stream gets x += sum over the chosen experts of (router weight * y).
//
// Rows are grouped by expert, so each chosen expert's weights are read once per call for all the
// rows that chose it: for many rows (prefill) expert by expert, two dispatches each, the experts'
// rows as GEMMs; for a few (decoding sequences) the whole block in one dispatch. Either way a
// row's result does not depend on which other rows share the call.
#pragma once
#include <cstdint>
#include <vector>

#include "engine/arch/linear.h"
#include "engine/arch/op_profiler.h"
#include "engine/arch/weight.h"
#include "engine/threading/thread_pool.h"
#include "kernels/matmul.h"

namespace silica::arch {

struct MoeWeights {
    Weight router;  // [E][C]
    std::vector<float> router_b;
    Weight gate, up, down;                    // [E][F][C] / [E][C][F] stacks; expert(e) selects one
    std::vector<float> gate_b, up_b, down_b;  // [E][F], [E][F], [E][C]
};

struct MoeShape {
    int64_t n_embd = 0, n_ff = 0;  // C, and F per expert
    int64_t n_expert = 0, n_expert_used = 0;
    float swiglu_alpha = 1.702f, swiglu_limit = 7.0f;
};

// Router: indices of the top-k logits (ties to the lower index) and their softmax weights.
void route_top_k(const float* logits, int64_t n_expert, int64_t k, int32_t* idx, float* weight);

class MoeBlock {
public:
    MoeBlock(ThreadPool& pool, OpProfiler& profiler, Linear& linear)
        : pool_(pool), profiler_(profiler), linear_(linear) {}

    // x += MoE(h) for T rows of C values. Returns the number of expert weight sets it read (the
    // distinct experts chosen by the rows).
    int64_t run(const MoeWeights& w, const MoeShape& s, const float* h, float* x, int64_t T);

private:
    // Many rows: expert by expert, the rows that chose it as one batch.
    int64_t run_by_expert(const MoeWeights& w, const MoeShape& s, const float* h, float* x, int64_t T);
    // A few rows: the whole block in one dispatch (see moe.cpp).
    int64_t run_few_rows(const MoeWeights& w, const MoeShape& s, const float* h, float* x, int64_t T);

    ThreadPool& pool_;
    OpProfiler& profiler_;
    Linear& linear_;
    std::vector<float> router_, sel_w_, xe_, gate_, up_, ye_;
    std::vector<int32_t> sel_;
    std::vector<int64_t> rows_;
    std::vector<float> weights_;
    std::vector<int64_t> experts_, first_row_, row_of_;  // run_few_rows: experts and their rows
    std::vector<float> row_weight_;
    std::vector<kernels::Activations> expert_act_;  // run_few_rows: each expert's rows of h
    std::vector<kernels::Activations> down_act_;    // run_few_rows: each expert's down input
};

}  // namespace silica::arch
