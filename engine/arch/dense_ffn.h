// The dense feed-forward block, a building block for the forwards (GPT-2 uses it):
//     h = down(act(up(norm(x)))) with biases,
// the activation applied by the up matmul's epilogue (Epilogue: GELU with the tanh
// approximation for GPT-2). The residual add and the norm before it run row by row inside the up
// matmul's own dispatch (Linear::run_with_rows): all threads share them, no extra round trip.
#pragma once
#include <cstdint>
#include <vector>

#include "engine/arch/linear.h"
#include "engine/arch/norm.h"
#include "engine/arch/weight.h"

namespace silica::arch {

struct DenseFfnWeights {
    Weight up;  // [F][C]
    std::vector<float> up_b;
    Weight down;  // [C][F]
    std::vector<float> down_b;
    Epilogue activation = Epilogue::gelu_tanh;
};

// For T rows of C values: x += h (the block before's output), then h = FFN(norm(x)).
// hidden: scratch, resized to T x F.
void dense_ffn(Linear& linear, const DenseFfnWeights& ffn, const Norm& norm, float* x, float* h, int64_t T,
               int64_t C, std::vector<float>& hidden);

}  // namespace silica::arch
