#include "kernels/matmul.h"

#include <string>

#include "kernels/kernel_traits.h"
#include "kernels/matmul_onednn.h"
#include "silica/error.h"

namespace silica::kernels {
namespace {

void check_arguments(const Matrix& w, const Activations& x, const float* y, int64_t ldy, int64_t r_begin,
                     int64_t r_end) {
    // (strings are built only on the error paths: this runs on every call)
    auto name = [&] { return std::string(type_traits(w.type).name); };
    if (x.weight_type() != w.type)
        throw Error("matmul: activations were prepared for " + std::string(type_traits(x.weight_type()).name) +
                    " weights, not " + name());
    if (x.cols() != w.cols)
        throw Error("matmul: activation width " + std::to_string(x.cols()) + " != weight columns " +
                    std::to_string(w.cols));
    if (r_begin < 0 || r_begin > r_end || r_end > w.rows)
        throw Error("matmul: row range [" + std::to_string(r_begin) + ", " + std::to_string(r_end) +
                    ") outside 0.." + std::to_string(w.rows));
    if (r_begin == r_end || x.rows() == 0) return;
    if (w.data == nullptr || y == nullptr) throw Error("matmul: null weight or output pointer");
    if (w.row_stride < row_bytes(type_traits(w.type), w.cols))
        throw Error("matmul: " + name() + " row stride " + std::to_string(w.row_stride) + " shorter than a row");
    if (x.rows() > 1 && ldy < r_end) throw Error("matmul: output stride " + std::to_string(ldy) + " < rows");
}

}  // namespace

void matmul(const Matrix& w, const Activations& x, float* y, int64_t ldy, int64_t r_begin, int64_t r_end) {
    check_arguments(w, x, y, ldy, r_begin, r_end);
    if (r_begin == r_end || x.rows() == 0) return;
    if (use_onednn(w, x)) {  // float-weight prefill (kernels/matmul_onednn.h)
        matmul_onednn(w, x, y, ldy, r_begin, r_end);
        return;
    }
    // The weight type's kernel at the active ISA (kernels/kernel_traits.h), looked up once per call.
    kernel_traits(w.type).matmul(w, x, y, ldy, r_begin, r_end);
}

}  // namespace silica::kernels
