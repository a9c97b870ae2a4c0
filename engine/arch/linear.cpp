#include "engine/arch/linear.h"

#include <tuple>

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

void Linear::run_pair(const Weight& a, const Weight& b, const float* x, int64_t m, float* ya, float* yb,
                      const float* bias_a, const float* bias_b) {
    if (a.type() != b.type() || a.cols() != b.cols()) {
        run(a, x, m, ya, bias_a);
        run(b, x, m, yb, bias_b);
        return;
    }
    act_.prepare(a.type(), x, m, a.cols());
    pool_.run([&](int tid, int nth) {
        for (const auto& [w, y, bias] : {std::tuple{&a, ya, bias_a}, std::tuple{&b, yb, bias_b}}) {
            const int64_t rows = w->rows();
            const RowRange r = split_rows(rows, tid, nth, kRowGranularity);
            if (r.begin >= r.end) continue;
            w->matmul(act_, y, rows, r.begin, r.end);
            if (bias)
                for (int64_t i = 0; i < m; ++i) kernels::add(y + i * rows + r.begin, bias + r.begin, r.end - r.begin);
        }
    });
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
