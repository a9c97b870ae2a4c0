// Small float kernels used by every architecture's forward pass: norms, activations, softmax,
// bias and residual adds. Most are plain loops the compiler vectorises; they move little data
// next to the matmuls. The two activations built on exp/tanh do not vectorise that way and cost
// 5-10% of a GPT-2 decode step in scalar libm calls, so they have AVX-512 versions.
#pragma once
#include <cstdint>

namespace silica::kernels {

// y = (x - mean) / sqrt(var + eps) * w + b   (b may be null). Mean and variance are summed in
// double (a residual stream's mean can be large next to its spread). The array form uses AVX-512
// when the active ISA has it (the same sums in another order; within ~1e-6 relative of the
// reference), else layer_norm_reference. y may be x.
void layer_norm(const float* x, const float* w, const float* b, float* y, int64_t n, float eps);
void layer_norm_reference(const float* x, const float* w, const float* b, float* y, int64_t n, float eps);
// y = x / sqrt(mean(x^2) + eps) * w
void rms_norm(const float* x, const float* w, float* y, int64_t n, float eps);
// GELU, tanh approximation (GPT-2): 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). The array
// form uses AVX-512 when the active ISA has it (kernels/ops_avx512.cpp: within ~1e-6 of the
// reference, relative to |x| + 1e-30), else gelu_tanh_reference.
void gelu_tanh(float* x, int64_t n);
float gelu_tanh(float x);
void gelu_tanh_reference(float* x, int64_t n);
// x = gelu_tanh(x + b) in one pass (a matmul's bias and activation); the same values as add()
// then gelu_tanh().
void add_gelu_tanh(float* x, const float* b, int64_t n);
// GPT-OSS clamped SwiGLU: g = min(gate, limit), u = clamp(up, -limit, limit),
// out = g * sigmoid(alpha * g) * (u + 1). out may alias gate or up. AVX-512 when active (same
// accuracy as gelu_tanh), else swiglu_clamped_reference.
void swiglu_clamped(const float* gate, const float* up, float* out, int64_t n, float alpha, float limit);
void swiglu_clamped_reference(const float* gate, const float* up, float* out, int64_t n, float alpha, float limit);
// In-place softmax; returns nothing, handles -inf entries (all -inf gives all zeros).
void softmax(float* x, int64_t n);
// The sum over i of exp(x[i] - shift): a softmax's denominator without writing the weights
// (speculative decoding asks it of the draft's 50k-entry logits at every proposal). For
// x[i] <= shift; -inf entries add 0. AVX-512 when active (16 partial sums in float, the vector
// exp of kernels/exp_avx512.h: within ~1e-5 relative of the reference), else sum_exp_reference
// (libm exp, summed in double).
double sum_exp(const float* x, int64_t n, float shift);
double sum_exp_reference(const float* x, int64_t n, float shift);
// The index of the largest x[i], ties to the lowest index, with NaN never winning and +inf
// counted as the largest finite float (as the sampler sanitises logits); -1 when every entry is
// -inf or NaN (or n = 0). AVX-512 when active (a max pass, then the first index reaching it),
// else argmax_reference; both give the same index.
int64_t argmax(const float* x, int64_t n);
int64_t argmax_reference(const float* x, int64_t n);
// y += x (AVX-512 when active: the same sums; the plain loop is compiled for baseline SSE2)
void add(float* y, const float* x, int64_t n);
// y += b, for each of m rows of n
void add_bias(float* y, const float* b, int64_t m, int64_t n);
float dot(const float* a, const float* b, int64_t n);
// y += a * x
void axpy(float a, const float* x, float* y, int64_t n);

}  // namespace silica::kernels
