#include "kernels/ops.h"

#include <cfloat>
#include <cmath>
#include <limits>

#include "kernels/isa.h"
#include "kernels/ops_isa.h"

namespace silica::kernels {

void layer_norm(const float* x, const float* w, const float* b, float* y, int64_t n, float eps) {
    // Prefill normalises every token before each matmul: the scalar double loops were ~4% of a
    // GPT-2 124M prefill with AMX matmuls.
    if (active_isa() >= Isa::avx512) return avx512::layer_norm(x, w, b, y, n, eps);
    if (active_isa() == Isa::avx2) return avx2::layer_norm(x, w, b, y, n, eps);
    layer_norm_reference(x, w, b, y, n, eps);
}

void layer_norm_reference(const float* x, const float* w, const float* b, float* y, int64_t n, float eps) {
    // Two passes in double: the mean/variance of a residual stream can be large.
    double sum = 0.0;
    for (int64_t i = 0; i < n; ++i) sum += x[i];
    const double mean = sum / static_cast<double>(n);
    double var = 0.0;
    for (int64_t i = 0; i < n; ++i) {
        const double d = x[i] - mean;
        var += d * d;
    }
    var /= static_cast<double>(n);
    const float scale = static_cast<float>(1.0 / std::sqrt(var + eps));
    const float fmean = static_cast<float>(mean);
    for (int64_t i = 0; i < n; ++i) {
        const float v = (x[i] - fmean) * scale * w[i];
        y[i] = b ? v + b[i] : v;
    }
}

void rms_norm(const float* x, const float* w, float* y, int64_t n, float eps) {
    double ss = 0.0;
    for (int64_t i = 0; i < n; ++i) ss += static_cast<double>(x[i]) * x[i];
    const float scale = static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(n) + eps));
    for (int64_t i = 0; i < n; ++i) y[i] = x[i] * scale * w[i];
}

float gelu_tanh(float x) {
    constexpr float kSqrt2OverPi = 0.79788456080286535588f;
    return 0.5f * x * (1.0f + std::tanh(kSqrt2OverPi * (x + 0.044715f * x * x * x)));
}

void gelu_tanh_reference(float* x, int64_t n) {
    for (int64_t i = 0; i < n; ++i) x[i] = gelu_tanh(x[i]);
}

void gelu_tanh(float* x, int64_t n) {
    if (active_isa() >= Isa::avx512) return avx512::gelu_tanh(x, n);
    if (active_isa() == Isa::avx2) return avx2::gelu_tanh(x, n);
    gelu_tanh_reference(x, n);
}

void add_gelu_tanh(float* x, const float* b, int64_t n) {
    if (active_isa() >= Isa::avx512) return avx512::add_gelu_tanh(x, b, n);
    if (active_isa() == Isa::avx2) return avx2::add_gelu_tanh(x, b, n);
    add(x, b, n);
    gelu_tanh_reference(x, n);
}

void swiglu_clamped_reference(const float* gate, const float* up, float* out, int64_t n, float alpha, float limit) {
    for (int64_t i = 0; i < n; ++i) {
        const float g = std::fmin(gate[i], limit);
        const float u = std::fmax(std::fmin(up[i], limit), -limit);
        out[i] = g / (1.0f + std::exp(-alpha * g)) * (u + 1.0f);
    }
}

void swiglu_clamped(const float* gate, const float* up, float* out, int64_t n, float alpha, float limit) {
    if (active_isa() >= Isa::avx512) return avx512::swiglu_clamped(gate, up, out, n, alpha, limit);
    if (active_isa() == Isa::avx2) return avx2::swiglu_clamped(gate, up, out, n, alpha, limit);
    swiglu_clamped_reference(gate, up, out, n, alpha, limit);
}

void softmax(float* x, int64_t n) {
    float max = -std::numeric_limits<float>::infinity();
    for (int64_t i = 0; i < n; ++i) max = std::fmax(max, x[i]);
    if (max == -std::numeric_limits<float>::infinity()) {
        for (int64_t i = 0; i < n; ++i) x[i] = 0.0f;
        return;
    }
    double sum = 0.0;
    for (int64_t i = 0; i < n; ++i) {
        x[i] = std::exp(x[i] - max);
        sum += x[i];
    }
    const float inv = static_cast<float>(1.0 / sum);
    for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

double sum_exp(const float* x, int64_t n, float shift) {
    if (n >= 16 && active_isa() >= Isa::avx512) return avx512::sum_exp(x, n, shift);
    if (n >= 16 && active_isa() == Isa::avx2) return avx2::sum_exp(x, n, shift);
    return sum_exp_reference(x, n, shift);
}

double sum_exp_reference(const float* x, int64_t n, float shift) {
    double sum = 0.0;
    for (int64_t i = 0; i < n; ++i) sum += std::exp(static_cast<double>(x[i]) - shift);
    return sum;
}

int64_t argmax(const float* x, int64_t n) {
    if (n >= 16 && active_isa() >= Isa::avx512) return avx512::argmax(x, n);
    if (n >= 16 && active_isa() == Isa::avx2) return avx2::argmax(x, n);
    return argmax_reference(x, n);
}

int64_t argmax_reference(const float* x, int64_t n) {
    int64_t best = -1;
    float best_value = -std::numeric_limits<float>::infinity();
    for (int64_t i = 0; i < n; ++i) {
        const float v = std::isnan(x[i]) ? -std::numeric_limits<float>::infinity() : std::min(x[i], FLT_MAX);
        if (v > best_value) {  // strict: the lowest index wins ties
            best_value = v;
            best = i;
        }
    }
    return best;
}

void add(float* y, const float* x, int64_t n) {
    // Prefill adds a bias to every output of every matmul: at 4 floats per SSE2 add this loop was
    // about half of the matmul epilogues of a GPT-2 124M prefill.
    if (n >= 16 && active_isa() >= Isa::avx512) return avx512::add(y, x, n);
    if (n >= 8 && active_isa() == Isa::avx2) return avx2::add(y, x, n);
    for (int64_t i = 0; i < n; ++i) y[i] += x[i];
}

void add_bias(float* y, const float* b, int64_t m, int64_t n) {
    for (int64_t r = 0; r < m; ++r) add(y + r * n, b, n);
}

float dot(const float* a, const float* b, int64_t n) {
    float s = 0.0f;
    for (int64_t i = 0; i < n; ++i) s += a[i] * b[i];
    return s;
}

void axpy(float a, const float* x, float* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] += a * x[i];
}

}  // namespace silica::kernels
