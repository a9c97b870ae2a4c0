// Float-weight prefill GEMMs (F32, BF16) through oneDNN's matmul where it measured faster than
// Silica's own kernels (bench/onednn_bench.cpp; with AMX, BF16 runs ~15x faster).
//
// Determinism: oneDNN picks different kernels (and summation orders) for different matrix widths,
// so calling it on the caller's row range would make a row's result depend on the split. Instead
// the weight rows are cut into fixed chunks of kOneDnnChunkRows aligned to multiples of that size
// from row 0; every call computes whole chunks (into a scratch buffer, then copies the rows in
// range), so each row is always computed by the same oneDNN call shape, whatever the split.
// oneDNN runs single-threaded inside each caller (the engine's threads split the rows).
//
// Not batch-invariant: Silica's own kernels give an activation row the same result whatever the
// batch size m; through oneDNN it can change with m (measured: F32 identical for m = 32..512, BF16
// with AMX differs in most outputs between m = 8, 32, 64 and 512) and between m below and above
// onednn_min_rows(). Differences are float rounding only. Hence oneDNN starts above
// kStepExactRows rows (kernels/step_exact.h): verify passes and decode batches stay exact.
#pragma once
#include <cstdint>

#include "kernels/matmul.h"

namespace silica::kernels {

constexpr int64_t kOneDnnChunkRows = 64;

// Smallest activation row count for which matmul() hands a weight type to oneDNN (0: never).
// F32 and BF16 from kStepExactRows + 1 rows; only at the avx512 ISA (BF16: also with AVX512-BF16 active, so
// the activation rounding matches Silica's own vdpbf16ps kernel).
int64_t onednn_min_rows(TensorType weight_type);

// Tests and benchmarks switch the oneDNN path off to reach Silica's own kernels (default: on;
// silica::set_kernel_settings sets it for the process). Not thread-safe: set it before
// matmuls run.
void set_onednn_enabled(bool enabled);
bool onednn_enabled();

// True when matmul() would use oneDNN for this call.
bool use_onednn(const Matrix& w, const Activations& x);

// Computes the call with oneDNN (arguments already checked by matmul()).
void matmul_onednn(const Matrix& w, const Activations& x, float* y, int64_t ldy, int64_t r_begin, int64_t r_end);

}  // namespace silica::kernels
