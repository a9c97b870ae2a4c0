#include "engine/arch/dense_ffn.h"

#include "engine/arch/tensor_parallel.h"

namespace silica::arch {

void dense_ffn(Linear& linear, const DenseFfnWeights& ffn, const Norm& norm, float* x, float* h, int64_t T,
               int64_t C, std::vector<float>& hidden) {
    const int64_t F = ffn.up.rows();
    hidden.resize(static_cast<size_t>(T * F));
    const char* up_name = ffn.activation == Epilogue::gelu_tanh ? "matmul up+gelu" : "matmul up";
    linear.run_with_rows(ffn.up, h, T, hidden.data(), bias_or_null(ffn.up_b), ffn.activation, up_name,
                         norm.add_and_norm_name(),
                         [&](int64_t begin, int64_t end) { add_and_norm_rows(norm, true, x, h, C, begin, end); });
    linear.run(ffn.down, hidden.data(), T, h, bias_or_null(ffn.down_b), Epilogue::none, "matmul down");
}

}  // namespace silica::arch
