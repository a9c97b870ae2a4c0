// Matrix multiplication of GGUF weight matrices by float activations: the engine's one hot loop.
//
//   y[i][r] = sum_k W[r][k] * x[i][k]      for rows r in [r_begin, r_end), batch rows i < m
//
// Activations are prepared once (quantized to INT8 blocks when the weight type wants it) and
// reused by every matrix of the same width; the engine splits [0, rows) across threads and each
// thread calls matmul() on its own range, so kernels never synchronise.
//
// Related: kernels/matmul_repacked.h (Q4_0 / MXFP4 / Q8_0 / Q4_K / Q6_K repacked at load time into 16-row
// interleaved blocks, F16 into 16-row panels: 2-2.4x faster GEMV, ~3.5x faster GEMM, AMX for the
// quantized GEMMs where the CPU has it; the engine opts in per matrix) and kernels/matmul_onednn.h
// (F32 / BF16 prefill through oneDNN, taken automatically by matmul()).
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "kernels/activations.h"
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
    // Prepares x (m rows of k floats, row stride k) for weight_type: reset() then prepare_rows(0, m).
    // Reuses its buffers across calls.
    void prepare(TensorType weight_type, const float* x, int64_t m, int64_t k);
    // The same in two steps, so that the threads of a pool can each prepare their own rows:
    // reset() checks the shape, remembers x and sizes the buffers; prepare_rows(begin, end) then
    // quantizes (or, for BF16 weights, rounds) rows [begin, end) of x. Calls for disjoint ranges
    // may run concurrently. x is never copied: f32() is x itself, so x must stay unchanged while
    // these activations are used (the float kernels and the float reference read it). Copying it
    // for float weights cost ~1.3% of a GPT-2 F16 prefill.
    void reset(TensorType weight_type, const float* x, int64_t m, int64_t k);
    void prepare_rows(int64_t begin, int64_t end);
    int64_t rows() const { return m_; }
    int64_t cols() const { return k_; }
    TensorType weight_type() const { return weight_type_; }

    // Kernel-facing storage (see kernels/activations.h): row i of the float rows (x) starts at
    // f32() + i * cols(); of the int8 blocks (quantized weight types only) at q8() + i * cols() / 32;
    // of the bf16 copy (BF16 weights only) at bf16() + i * cols().
    const float* f32() const { return x_; }
    const ActBlockQ8* q8() const { return q8_.data(); }
    // sum of qs of each int8 block (same indexing as q8()): the repacked kernels fold a weight
    // code offset in as one integer per block (kernels/matmul_repacked.h).
    const int32_t* q8_sums() const { return q8_sums_.data(); }
    // Q6_K weights only (else empty): the sum of qs[0..15] of each block (same indexing), for the
    // Q6_K x16 kernel, whose two 16-element halves of a block have scales of their own.
    const int32_t* q8_first_half_sums() const { return q8_half_sums_.data(); }
    const uint16_t* bf16() const { return bf16_.data(); }
    // The int8 blocks again as AMX "A" tiles (kernels/matmul_amx.h), or null when the AMX GEMM will
    // not run (see kAmxMinRows in kernels/amx.h): [16-row chunk c][block b][16 rows x 32 int8] at
    // q8_tiles() + (c * cols() / 32 + b) * 512 (64-byte aligned), the scales likewise at
    // q8_tile_scales() + (c * cols() / 32 + b) * 16; rows past rows() are zeros with scale 0.
    const int8_t* q8_tiles() const { return has_tiles_ ? tiles_.front().bytes : nullptr; }
    const float* q8_tile_scales() const { return has_tiles_ ? tile_scales_.data() : nullptr; }
    // The int8 codes of q8() again widened to int16, 32 per block in the same indexing, or null
    // when the weight type's kernel does not take them at this batch size (int16_batches and
    // kInt16MinRows..kInt16MaxRows in kernels/kernel_traits.h).
    const int16_t* q8_wide() const { return has_wide_ ? wide_.data() : nullptr; }

private:
    // Row i of the AMX tiles from its blocks (null: a zero padding row).
    void write_tile_row(int64_t i, const ActBlockQ8* blocks);

    TensorType weight_type_ = TensorType::F32;
    ActivationForm form_ = ActivationForm::f32;  // the weight type's, from its kernel traits
    int64_t m_ = 0, k_ = 0;
    const float* x_ = nullptr;  // the caller's rows, as given to reset()
    std::vector<ActBlockQ8> q8_;
    std::vector<int32_t> q8_sums_;
    std::vector<int32_t> q8_half_sums_;
    std::vector<uint16_t> bf16_;
    struct alignas(64) Line {
        int8_t bytes[64];
    };
    bool has_tiles_ = false;
    std::vector<Line> tiles_;  // 64-byte aligned
    std::vector<float> tile_scales_;
    bool has_wide_ = false;
    std::vector<int16_t> wide_;
};

// y[i * ldy + r] for i < x.rows(), r in [r_begin, r_end). W.cols must equal x.cols() and x must
// have been prepared for W.type (both checked: silica::Error). Calls W.type's kernel in the table
// of active_isa() (kernels/kernel_traits.h). Each y[i][r] is computed the same way whatever the row range, so splitting rows
// across threads never changes the result.
void matmul(const Matrix& w, const Activations& x, float* y, int64_t ldy, int64_t r_begin, int64_t r_end);

}  // namespace silica::kernels
