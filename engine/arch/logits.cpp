#include "engine/arch/logits.h"

#include "kernels/ops.h"

namespace silica::arch {

void final_norm_and_logits(Linear& linear, OpProfiler& profiler, const Batch& batch, const Norm& norm,
                           bool add_residual, float* x, float* h, int64_t C, const Weight& output, float* out) {
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
    linear.run(output, h, n_out, out, nullptr, Epilogue::none, "matmul output");
}

}  // namespace silica::arch
