// y = W·x (+ b) (then an activation), for a batch of rows, split over the thread pool by output
// rows. Activations are prepared (quantized) once per call: for one row on the calling thread, for
// several in the matmul's own dispatch, each thread its share of the rows, then a barrier (so the
// other threads do not wait while one quantizes, and no extra pool round trip is paid).
//
// Every call takes an operation name for the opt-in profiler (engine/arch/op_profiler.h): the
// slowest thread's time is booked under it (preparation in the dispatch included; thread 0's share
// of that also appears under "(in matmuls) quantize x, thread 0"); preparation on the calling
// thread under "quantize x".
#pragma once
#include <cstdint>

#include "engine/arch/op_profiler.h"
#include "engine/arch/weight.h"
#include "engine/threading/partition.h"
#include "engine/threading/thread_pool.h"
#include "kernels/matmul.h"

namespace silica::arch {

enum class Epilogue { none, gelu_tanh };

// Rows per thread are a multiple of this, so kernels that process several rows per pass keep
// their fast path and a cache line of output is never shared by two threads. The NUMA placement
// of weights (weight_placement.h) follows the same split.
constexpr int64_t kMatmulRowGranularity = 16;

class Linear {
public:
    Linear(ThreadPool& pool, OpProfiler& profiler) : pool_(pool), profiler_(profiler) {}

    // x: m rows of w.cols() floats; y: m rows of w.rows() floats. bias may be null.
    void run(const Weight& w, const float* x, int64_t m, float* y, const float* bias,
             Epilogue epilogue = Epilogue::none, const char* name = "matmul");
    // Same, with activations already prepared for w's type (shared by several matrices).
    void run_prepared(const Weight& w, const kernels::Activations& x, float* y, const float* bias,
                      Epilogue epilogue = Epilogue::none, const char* name = "matmul");
    // Two matrices of the same type and column count over the same x (e.g. an expert's gate and
    // up): x is prepared once and both run in one dispatch (each thread its rows of a, then of b),
    // saving a quantization and a pool round trip. Falls back to two run() calls otherwise.
    void run_pair(const Weight& a, const Weight& b, const float* x, int64_t m, float* ya, float* yb,
                  const float* bias_a, const float* bias_b, const char* name = "matmul");
    // Like run(), with x's rows made in the same dispatch: each thread first calls
    // make_rows(begin, end) to write rows [begin, end) of x (e.g. a layer norm of the residual
    // stream into x), prepares them, and after a barrier computes its output rows as run() does.
    // Thread 0's make_rows time is booked under make_rows_name.
    template <class MakeRows>
    void run_with_rows(const Weight& w, const float* x, int64_t m, float* y, const float* bias, Epilogue epilogue,
                       const char* name, const char* make_rows_name, MakeRows&& make_rows);
    kernels::Activations& activations() { return act_; }

    // The rows of a `rows`-row matrix that thread `tid` of `nth` computes (what run() uses).
    static RowRange thread_rows(int64_t rows, int tid, int nth);
    // Software-prefetches (into L2) part `part` of `n_parts` equal parts of the first `max_bytes`
    // of the weight bytes thread `tid` of `nth` will read when w runs, so a task that has memory
    // bandwidth to spare can load its share of the next matrix in pieces. Nothing when software
    // prefetch is off (kernels/prefetch.h).
    static void prefetch_share(const Weight& w, int tid, int nth, int64_t part, int64_t n_parts, size_t max_bytes);

private:
    void prepare(TensorType type, const float* x, int64_t m, int64_t k);
    // Inside a dispatch, after act_.reset(): thread tid prepares its share of act_'s rows, then
    // waits at the pool's barrier for the others.
    void prepare_share(int tid, int nth);
    // Inside a dispatch: thread tid's output rows of y = W·x (+ bias, epilogue).
    void compute_share(const Weight& w, const kernels::Activations& x, float* y, const float* bias,
                       Epilogue epilogue, int tid, int nth);

    ThreadPool& pool_;
    OpProfiler& profiler_;
    OpProfiler idle_profiler_{ProfileMode::off};  // never counts: what threads other than 0 time into
    kernels::Activations act_;
};

template <class MakeRows>
void Linear::run_with_rows(const Weight& w, const float* x, int64_t m, float* y, const float* bias,
                           Epilogue epilogue, const char* name, const char* make_rows_name, MakeRows&& make_rows) {
    if (m <= 1) {  // decode: one row, no barrier
        {
            OpScope scope(profiler_, make_rows_name);
            make_rows(int64_t{0}, m);
        }
        run(w, x, m, y, bias, epilogue, name);
        return;
    }
    act_.reset(w.type(), x, m, w.cols());
    run_profiled(pool_, profiler_, name, [&](int tid, int nth) {
        {
            OpScope scope(tid == 0 ? profiler_ : idle_profiler_, make_rows_name);
            const RowRange r = split_rows(m, tid, nth, 1);
            if (r.begin < r.end) make_rows(r.begin, r.end);
        }
        prepare_share(tid, nth);
        compute_share(w, act_, y, bias, epilogue, tid, nth);
    });
}

}  // namespace silica::arch
