#include "engine/arch/norm.h"

#include "kernels/ops.h"

namespace silica::arch {

void Norm::apply(const float* x, float* out, int64_t n) const {
    if (kind == NormKind::layer)
        kernels::layer_norm(x, weight.data(), bias.data(), out, n, eps);
    else
        kernels::rms_norm(x, weight.data(), out, n, eps);
}

void add_and_norm_rows(const Norm& norm, bool add_residual, float* x, float* h, int64_t C, int64_t begin,
                       int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
        if (add_residual) kernels::add(&x[t * C], &h[t * C], C);
        norm.apply(&x[t * C], &h[t * C], C);
    }
}

}  // namespace silica::arch
