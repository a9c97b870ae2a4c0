// Small float kernels used by every architecture's forward pass: norms, activations, softmax,
// bias and residual adds. They are plain loops the compiler vectorises; they move little data
// next to the matmuls, so they don't need hand-written SIMD (measure before adding any).
#pragma once
#include <cstdint>

namespace silica::kernels {

// y = (x - mean) / sqrt(var + eps) * w + b   (b may be null)
void layer_norm(const float* x, const float* w, const float* b, float* y, int64_t n, float eps);
// y = x / sqrt(mean(x^2) + eps) * w
void rms_norm(const float* x, const float* w, float* y, int64_t n, float eps);
// GELU, tanh approximation (GPT-2): 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
void gelu_tanh(float* x, int64_t n);
float gelu_tanh(float x);
// In-place softmax; returns nothing, handles -inf entries (all -inf gives all zeros).
void softmax(float* x, int64_t n);
// y += x
void add(float* y, const float* x, int64_t n);
// y += b, for each of m rows of n
void add_bias(float* y, const float* b, int64_t m, int64_t n);
float dot(const float* a, const float* b, int64_t n);
// y += a * x
void axpy(float a, const float* x, float* y, int64_t n);

}  // namespace silica::kernels
