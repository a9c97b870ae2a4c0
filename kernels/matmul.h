// Matrix multiplication of GGUF weight matrices by float activations: the engine's one hot loop.
//
//   y[i][r] = sum_k W[r][k] * x[i][k]      for rows r in [r_begin, r_end), batch rows i < m
//
// Activations are prepared once (quantized to INT8 blocks when the weight type wants it) and
// reused by every matrix of the same width; the engine splits [0, rows) across threads and each
// thread calls matmul() on its own range, so kernels never synchronise.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "quant/types.h"

namespace silica::kernels {

// A weight matrix exactly as stored in GGUF: `rows` rows of `cols` elements of `type`.
struct Matrix {
    TensorType type = TensorType::F32;
    int64_t rows = 0;
    int64_t cols = 0;
    const uint8_t* data = nullptr;
    size_t row_stride = 0;  // bytes between rows (row_bytes(type, cols) for a plain tensor)
};

// m rows of k activations, in the form the kernels for one weight type consume.
class Activations {
public:
    // Copies/quantizes x (m rows of k floats, row stride k). Reuses its buffers across calls.
    void prepare(TensorType weight_type, const float* x, int64_t m, int64_t k);
    int64_t rows() const { return m_; }
    int64_t cols() const { return k_; }
    TensorType weight_type() const { return weight_type_; }

    // Kernel-facing storage (layout owned by the kernels; see kernels/activations.cpp).
    const float* f32() const { return f32_.data(); }
    const uint8_t* quantized() const { return q_.data(); }

private:
    TensorType weight_type_ = TensorType::F32;
    int64_t m_ = 0, k_ = 0;
    std::vector<float> f32_;
    std::vector<uint8_t> q_;
};

// y[i * ldy + r] for i < x.rows(), r in [r_begin, r_end). W.cols must equal x.cols() and x must
// have been prepared for W.type.
void matmul(const Matrix& w, const Activations& x, float* y, int64_t ldy, int64_t r_begin, int64_t r_end);

}  // namespace silica::kernels
