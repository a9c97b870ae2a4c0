// Per-ISA versions of kernels/ops.h functions (kernels/ops_avx2.cpp, kernels/ops_avx512.cpp). Call only when
// active_isa() allows the ISA; kernels/ops.cpp dispatches.
#pragma once
#include <cstdint>

namespace silica::kernels::avx512 {

void layer_norm(const float* x, const float* w, const float* b, float* y, int64_t n, float eps);
void gelu_tanh(float* x, int64_t n);
void add_gelu_tanh(float* x, const float* b, int64_t n);
void add(float* y, const float* x, int64_t n);
double sum_exp(const float* x, int64_t n, float shift);
int64_t argmax(const float* x, int64_t n);
void swiglu_clamped(const float* gate, const float* up, float* out, int64_t n, float alpha, float limit);

}  // namespace silica::kernels::avx512

namespace silica::kernels::avx2 {

void layer_norm(const float* x, const float* w, const float* b, float* y, int64_t n, float eps);
void gelu_tanh(float* x, int64_t n);
void add_gelu_tanh(float* x, const float* b, int64_t n);
void add(float* y, const float* x, int64_t n);
double sum_exp(const float* x, int64_t n, float shift);
int64_t argmax(const float* x, int64_t n);
void swiglu_clamped(const float* gate, const float* up, float* out, int64_t n, float alpha, float limit);

}  // namespace silica::kernels::avx2
