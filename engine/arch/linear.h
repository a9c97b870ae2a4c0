// y = W·x (+ b) (then an activation), for a batch of rows, split over the thread pool by output
// rows. Activations are prepared (quantized) once per call, on the calling thread.
#pragma once
#include <cstdint>

#include "engine/arch/weight.h"
#include "engine/threading/partition.h"
#include "engine/threading/thread_pool.h"
#include "kernels/matmul.h"

namespace silica::arch {

enum class Epilogue { none, gelu_tanh };

class Linear {
public:
    explicit Linear(ThreadPool& pool) : pool_(pool) {}

    // x: m rows of w.cols() floats; y: m rows of w.rows() floats. bias may be null.
    void run(const Weight& w, const float* x, int64_t m, float* y, const float* bias,
             Epilogue epilogue = Epilogue::none);
    // Same, with activations already prepared for w's type (shared by several matrices).
    void run_prepared(const Weight& w, const kernels::Activations& x, float* y, const float* bias,
                      Epilogue epilogue = Epilogue::none);
    // Two matrices of the same type and column count over the same x (e.g. an expert's gate and
    // up): x is prepared once and both run in one dispatch (each thread its rows of a, then of b),
    // saving a quantization and a pool round trip. Falls back to two run() calls otherwise.
    void run_pair(const Weight& a, const Weight& b, const float* x, int64_t m, float* ya, float* yb,
                  const float* bias_a, const float* bias_b);
    kernels::Activations& activations() { return act_; }

private:
    ThreadPool& pool_;
    kernels::Activations act_;
};

}  // namespace silica::arch
