#include "kernels/matmul_repacked.h"

#include <string>
#include <vector>

#include "kernels/isa.h"
#include "kernels/kernel_traits.h"
#include "kernels/matmul_ref.h"
#include "quant/repack.h"
#include "silica/error.h"

namespace silica::kernels {
namespace {

void check_arguments(const RepackedMatrix& w, const Activations& x, const float* y, int64_t ldy, int64_t r_begin,
                     int64_t r_end) {
    if (!can_repack_x16(w.type))
        throw Error("matmul: no repacked layout for " + std::string(type_traits(w.type).name));
    if (x.weight_type() != w.type)
        throw Error("matmul: activations were prepared for " + std::string(type_traits(x.weight_type()).name) +
                    " weights, not " + std::string(type_traits(w.type).name));
    if (x.cols() != w.cols)
        throw Error("matmul: activation width " + std::to_string(x.cols()) + " != weight columns " +
                    std::to_string(w.cols));
    if (r_begin < 0 || r_begin > r_end || r_end > w.rows)
        throw Error("matmul: row range [" + std::to_string(r_begin) + ", " + std::to_string(r_end) +
                    ") outside 0.." + std::to_string(w.rows));
    if (r_begin == r_end || x.rows() == 0) return;
    if (w.data == nullptr || y == nullptr) throw Error("matmul: null weight or output pointer");
    if (x.rows() > 1 && ldy < r_end) throw Error("matmul: output stride " + std::to_string(ldy) + " < rows");
}

}  // namespace

RepackedMatrix repacked_rows(const RepackedMatrix& w, int64_t first_row, int64_t rows) {
    if (first_row < 0 || rows < 0 || first_row + rows > w.rows || first_row % kRepackRows != 0)
        throw Error("repacked_rows: rows [" + std::to_string(first_row) + ", " + std::to_string(first_row + rows) +
                    ") of " + std::to_string(w.rows) + " (the first must be a multiple of 16)");
    return RepackedMatrix{w.type, rows, w.cols,
                          w.data + static_cast<size_t>(first_row / kRepackRows) * repacked_group_bytes(w.type, w.cols)};
}

bool repacked_kernel_available(TensorType type) {
    const KernelTraits* traits = find_kernel_traits(type, active_isa());
    return traits != nullptr && traits->matmul_repacked != nullptr;
}

void matmul_reference_repacked(const RepackedMatrix& w, const Activations& x, float* y, int64_t ldy,
                               int64_t r_begin, int64_t r_end) {
    const size_t rb = row_bytes(type_traits(w.type), w.cols);
    std::vector<uint8_t> row(rb);
    for (int64_t r = r_begin; r < r_end; ++r) {
        unpack_row_x16(w.type, w.data, w.rows, w.cols, r, row.data());
        const Matrix one{w.type, 1, w.cols, row.data(), rb};
        if (w.type == TensorType::F16)
            matmul_reference(one, x, y + r, ldy, 0, 1);  // float weights: float activations
        else
            matmul_reference_int8(one, x, y + r, ldy, 0, 1);
    }
}

void matmul(const RepackedMatrix& w, const Activations& x, float* y, int64_t ldy, int64_t r_begin, int64_t r_end) {
    check_arguments(w, x, y, ldy, r_begin, r_end);
    if (r_begin == r_end || x.rows() == 0) return;
    // The weight type's x16 kernel at the active ISA (kernels/kernel_traits.h), looked up once per
    // call; the scalar reference where this ISA has none.
    const RepackedMatmulFn kernel = kernel_traits(w.type).matmul_repacked;
    if (kernel != nullptr)
        kernel(w, x, y, ldy, r_begin, r_end);
    else
        matmul_reference_repacked(w, x, y, ldy, r_begin, r_end);
}

}  // namespace silica::kernels
