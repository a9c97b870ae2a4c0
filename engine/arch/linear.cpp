#include "engine/arch/linear.h"

#include <algorithm>
#include <span>

#include "kernels/ops.h"
#include "kernels/prefetch.h"

namespace silica::arch {
namespace {

// Decode batches up to this many activation rows run their epilogue per chunk of this many
// output rows (see compute_share).
constexpr int64_t kEpilogueChunkMaxRows = 16;
constexpr int64_t kEpilogueChunkRows = 128;

}  // namespace

RowRange Linear::thread_rows(int64_t rows, int tid, int nth) {
    return split_rows(rows, tid, nth, kMatmulRowGranularity);
}

void Linear::prefetch_share(const Weight& w, int tid, int nth, int64_t part, int64_t n_parts, size_t max_bytes) {
    if (!kernels::software_prefetch_enabled() || n_parts <= 0 || part < 0 || part >= n_parts) return;
    const RowRange r = thread_rows(w.rows(), tid, nth);
    if (r.begin >= r.end) return;
    const std::span<const uint8_t> share = w.storage_of_rows(r.begin, r.end);
    const size_t total = std::min(share.size(), max_bytes);
    const size_t begin = total * static_cast<size_t>(part) / static_cast<size_t>(n_parts);
    const size_t end = total * static_cast<size_t>(part + 1) / static_cast<size_t>(n_parts);
    kernels::prefetch_to_l2(share.data() + begin, end - begin);
}

void Linear::prepare(TensorType type, const float* x, int64_t m, int64_t k) {
    OpScope scope(profiler_, "quantize x");
    act_.prepare(type, x, m, k);
}

void Linear::prepare_share(int tid, int nth) {
    {
        OpScope scope(tid == 0 ? profiler_ : idle_profiler_, "(in matmuls) quantize x, thread 0");
        const RowRange r = split_rows(act_.rows(), tid, nth, 1);
        if (r.begin < r.end) act_.prepare_rows(r.begin, r.end);
    }
    pool_.barrier();
}

void Linear::compute_share(const Weight& w, const kernels::Activations& x, float* y, const float* bias,
                           Epilogue epilogue, int tid, int nth) {
    const int64_t m = x.rows(), rows = w.rows();
    const RowRange r = thread_rows(rows, tid, nth);
    if (r.begin >= r.end) return;
    if (!bias && epilogue == Epilogue::none) {
        w.matmul(x, y, rows, r.begin, r.end);
        return;
    }
    // Decode (a few activation rows): the epilogue follows the kernel chunk by chunk, while the
    // chunk's outputs are still in L1. After a whole share the weights streamed through the cache
    // had pushed them out (GPT-2 124M Q8_0, 8 sequences, Zen 5, SILICA_PROFILE=batch, 2 alternating
    // runs: thread 0's epilogue 0.18 -> 0.12 ms per step). The kernel computes each output the same
    // way whatever range it is called on, so the outputs do not change (tests/engine/linear_test.cpp).
    const int64_t chunk = m <= kEpilogueChunkMaxRows ? kEpilogueChunkRows : r.end - r.begin;
    for (int64_t begin = r.begin; begin < r.end; begin += chunk) {
        const int64_t end = std::min(begin + chunk, r.end), n = end - begin;
        w.matmul(x, y, rows, begin, end);
        // Thread 0 is the caller: it may book its epilogue's share into the profiler.
        OpScope epilogue_scope(tid == 0 ? profiler_ : idle_profiler_, "(in matmuls) epilogue, thread 0");
        for (int64_t i = 0; i < m; ++i) {
            float* row = y + i * rows + begin;
            if (bias && epilogue == Epilogue::gelu_tanh)
                kernels::add_gelu_tanh(row, bias + begin, n);  // one pass
            else if (bias)
                kernels::add(row, bias + begin, n);
            else
                kernels::gelu_tanh(row, n);
        }
    }
}

void Linear::run(const Weight& w, const float* x, int64_t m, float* y, const float* bias, Epilogue epilogue,
                 const char* name) {
    if (m <= 1) {  // decode: one row, quantized on the caller (cheaper than a barrier)
        prepare(w.type(), x, m, w.cols());
        run_prepared(w, act_, y, bias, epilogue, name);
        return;
    }
    act_.reset(w.type(), x, m, w.cols());
    run_profiled(pool_, profiler_, name, [&](int tid, int nth) {
        prepare_share(tid, nth);
        compute_share(w, act_, y, bias, epilogue, tid, nth);
    });
}

void Linear::run_pair(const Weight& a, const Weight& b, const float* x, int64_t m, float* ya, float* yb,
                      const float* bias_a, const float* bias_b, const char* name) {
    if (a.type() != b.type() || a.cols() != b.cols()) {
        run(a, x, m, ya, bias_a, Epilogue::none, name);
        run(b, x, m, yb, bias_b, Epilogue::none, name);
        return;
    }
    const bool in_dispatch = m > 1;
    if (in_dispatch)
        act_.reset(a.type(), x, m, a.cols());
    else
        prepare(a.type(), x, m, a.cols());
    run_profiled(pool_, profiler_, name, [&](int tid, int nth) {
        if (in_dispatch) prepare_share(tid, nth);
        compute_share(a, act_, ya, bias_a, Epilogue::none, tid, nth);
        compute_share(b, act_, yb, bias_b, Epilogue::none, tid, nth);
    });
}

void Linear::run_prepared(const Weight& w, const kernels::Activations& x, float* y, const float* bias,
                          Epilogue epilogue, const char* name) {
    run_profiled(pool_, profiler_, name, [&](int tid, int nth) { compute_share(w, x, y, bias, epilogue, tid, nth); });
}

}  // namespace silica::arch
