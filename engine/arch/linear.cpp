#include "engine/arch/linear.h"

#include "kernels/ops.h"

namespace silica::arch {
namespace {

// Rows per thread are a multiple of this, so kernels that process several rows per pass keep
// their fast path and a cache line of output is never shared by two threads.
constexpr int64_t kRowGranularity = 16;

}  // namespace

void Linear::run(const Weight& w, const float* x, int64_t m, float* y, const float* bias, Epilogue epilogue) {
    act_.prepare(w.type(), x, m, w.cols());
    run_prepared(w, act_, y, bias, epilogue);
}

void Linear::run_prepared(const Weight& w, const kernels::Activations& x, float* y, const float* bias,
                          Epilogue epilogue) {
    const int64_t m = x.rows(), rows = w.rows();
    pool_.run([&](int tid, int nth) {
        const RowRange r = split_rows(rows, tid, nth, kRowGranularity);
        if (r.begin >= r.end) return;
        w.matmul(x, y, rows, r.begin, r.end);
        const int64_t n = r.end - r.begin;
        for (int64_t i = 0; i < m; ++i) {
            float* row = y + i * rows + r.begin;
            if (bias) kernels::add(row, bias + r.begin, n);
            if (epilogue == Epilogue::gelu_tanh) kernels::gelu_tanh(row, n);
        }
    });
}

}  // namespace silica::arch
