#include "engine/arch/logits.h"

#include "kernels/ops.h"

namespace silica::arch {

void final_norm_and_logits(Linear& linear, OpProfiler& profiler, const Batch& batch, const Norm& norm,
                           bool add_residual, float* x, float* h, int64_t C, const Weight& output,
                           const TensorParallel& tp, int64_t n_vocab, LogitsScratch& scratch, float* out) {
    int64_t n_out = 0;
    {
        OpScope scope(profiler, norm.name());
        for (int64_t t = 0; t < batch.n_rows(); ++t) {
            if (!batch.wants_logits[t]) continue;
            if (add_residual) kernels::add(&x[t * C], &h[t * C], C);
            norm.apply(&x[t * C], &h[n_out * C], C);
            ++n_out;
        }
    }
    if (!tp.active()) {
        linear.run(output, h, n_out, out, nullptr, Epilogue::none, "matmul output");
        return;
    }
    scratch.slice.resize(static_cast<size_t>(n_out * output.rows()));
    linear.run(output, h, n_out, scratch.slice.data(), nullptr, Epilogue::none, "matmul output");
    tp.gather_logits(scratch.slice.data(), n_out, n_vocab, out, scratch.gathered, profiler);
}

}  // namespace silica::arch
