// The normalization of the residual stream, a building block shared by the forwards: LayerNorm
// (GPT-2: weight and bias) or RMSNorm (GPT-OSS: weight only), each layer's norms data of its own.
//
// Forwards keep two T x C arrays: x, the residual stream, and h, the output of the last block
// (attention or FFN). A layer starts each block with "x += h, h = norm(x)"; add_and_norm_rows does
// that row by row, so it can run inside the next matmul's dispatch (Linear::run_with_rows).
#pragma once
#include <cstdint>
#include <vector>

namespace silica::arch {

enum class NormKind { layer, rms };

struct Norm {
    NormKind kind = NormKind::layer;
    std::vector<float> weight;  // [C]
    std::vector<float> bias;    // [C] for LayerNorm; empty for RMSNorm
    float eps = 1e-5f;

    // out = norm(x) for one row of n values (out may be x).
    void apply(const float* x, float* out, int64_t n) const;
    // The profiler's names: of the norm alone, and of add_and_norm_rows run inside a matmul's
    // dispatch (for a batch, inside the matmul's time: thread 0's share; for one row, on its own).
    const char* name() const { return kind == NormKind::layer ? "layernorm" : "rmsnorm"; }
    const char* add_and_norm_name() const {
        return kind == NormKind::layer ? "residual add+layernorm (in matmuls for batches, thread 0)"
                                       : "residual add+rmsnorm (in matmuls for batches, thread 0)";
    }
};

// For rows [begin, end) of x and h (C values each): x += h when add_residual, then h = norm(x).
void add_and_norm_rows(const Norm& norm, bool add_residual, float* x, float* h, int64_t C, int64_t begin,
                       int64_t end);

}  // namespace silica::arch
