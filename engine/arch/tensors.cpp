#include "engine/arch/tensors.h"

#include <algorithm>
#include <cstring>

#include "kernels/matmul_repacked.h"
#include "memory/aligned_buffer.h"
#include "quant/dequantize.h"
#include "quant/repack.h"
#include "silica/error.h"

namespace silica::arch {
namespace {

std::string shape_string(const int64_t* ne, size_t n) {
    std::string s = "[";
    for (size_t i = 0; i < n; ++i) s += (i ? ", " : "") + std::to_string(ne[i]);
    return s + "]";
}

kernels::Matrix matrix_of(const gguf::TensorInfo& t, int64_t cols, int64_t rows) {
    return kernels::Matrix{t.type, rows, cols, t.data, row_bytes(type_traits(t.type), cols)};
}

}  // namespace

const gguf::TensorInfo& TensorBinder::get(const std::string& name, std::initializer_list<int64_t> shape) const {
    const gguf::TensorInfo* t = file_.tensor(name);
    if (!t) throw Error(file_.path() + ": missing tensor '" + name + "'");
    bool ok = t->n_dims == shape.size();
    size_t i = 0;
    for (int64_t d : shape) ok = ok && t->ne[i++] == d;
    if (!ok)
        throw Error(file_.path() + ": tensor '" + name + "' has shape " + shape_string(t->ne.data(), t->n_dims) +
                    ", expected " + shape_string(std::data(shape), shape.size()));
    return *t;
}

kernels::Matrix TensorBinder::matrix(const std::string& name, int64_t cols, int64_t rows) const {
    return matrix_of(get(name, {cols, rows}), cols, rows);
}

Weight TensorBinder::bind(const gguf::TensorInfo& t, int64_t cols, int64_t rows, int64_t n_expert) const {
    const kernels::Matrix m = matrix_of(t, cols, rows);
    if (!options_.repack || !can_repack_x16(t.type) || !kernels::repacked_kernel_available(t.type))
        return Weight::view(m, n_expert);
    Weight w = Weight::repacked(m, n_expert, options_.huge_pages, options_.placement);
    // The copy is private memory: give the file's pages back so the process holds one copy.
    file_.release_pages(file_.data_offset() + t.offset, t.nbytes);
    return w;
}

Weight TensorBinder::weight(const std::string& name, int64_t cols, int64_t rows) const {
    return bind(get(name, {cols, rows}), cols, rows, 1);
}

Weight TensorBinder::expert_weight(const std::string& name, int64_t cols, int64_t rows, int64_t n_expert) const {
    return bind(get(name, {cols, rows, n_expert}), cols, rows, n_expert);
}

Weight TensorBinder::weight_rows(const std::string& name, int64_t cols, int64_t rows,
                                 std::initializer_list<parallel::Slice> row_slices, int64_t n_expert) const {
    return bind_slice(name, cols, rows, n_expert, row_slices, {0, cols});
}

Weight TensorBinder::weight_cols(const std::string& name, int64_t cols, int64_t rows, parallel::Slice slice,
                                 int64_t n_expert) const {
    return bind_slice(name, cols, rows, n_expert, {parallel::Slice{0, rows}}, slice);
}

Weight TensorBinder::bind_slice(const std::string& name, int64_t cols, int64_t rows, int64_t n_expert,
                                std::initializer_list<parallel::Slice> row_slices, parallel::Slice col_slice) const {
    const gguf::TensorInfo& t = n_expert ? get(name, {cols, rows, n_expert}) : get(name, {cols, rows});
    const bool whole = row_slices.size() == 1 && row_slices.begin()->begin == 0 && row_slices.begin()->end == rows &&
                       col_slice.begin == 0 && col_slice.end == cols;
    if (whole) return bind(t, cols, rows, std::max<int64_t>(1, n_expert));  // one process: no copy
    const TypeTraits& tt = type_traits(t.type);
    if (col_slice.begin % tt.block_size != 0 || (col_slice.end % tt.block_size != 0 && col_slice.end != cols))
        throw Error(file_.path() + ": tensor '" + name + "' (" + std::string(tt.name) + ", blocks of " +
                    std::to_string(tt.block_size) + ") cannot be cut at columns " + std::to_string(col_slice.begin) +
                    ".." + std::to_string(col_slice.end) + " for tensor parallelism");
    int64_t out_rows = 0;
    for (const parallel::Slice& r : row_slices) out_rows += r.size();
    const int64_t out_cols = col_slice.size(), experts = std::max<int64_t>(1, n_expert);
    const size_t src_row = row_bytes(tt, cols), dst_row = row_bytes(tt, out_cols);
    const size_t col_offset = row_bytes(tt, col_slice.begin);
    auto copy = std::make_shared<AlignedBuffer>(dst_row * static_cast<size_t>(out_rows * experts));
    uint8_t* dst = copy->as<uint8_t>();
    for (int64_t e = 0; e < experts; ++e) {
        const uint8_t* src = t.data + static_cast<size_t>(e * rows) * src_row;
        for (const parallel::Slice& r : row_slices)
            for (int64_t i = r.begin; i < r.end; ++i, dst += dst_row)
                std::memcpy(dst, src + static_cast<size_t>(i) * src_row + col_offset, dst_row);
    }
    // This rank never reads the file's copy again (its slice is in `copy`, or repacked below),
    // unless the embedding reads its rows.
    if (std::find(read_by_rows_.begin(), read_by_rows_.end(), name) == read_by_rows_.end())
        file_.release_pages(file_.data_offset() + t.offset, t.nbytes);
    const kernels::Matrix m{t.type, out_rows, out_cols, copy->as<uint8_t>(), dst_row};
    if (options_.repack && can_repack_x16(t.type) && kernels::repacked_kernel_available(t.type))
        return Weight::repacked(m, experts, options_.huge_pages, options_.placement);
    return Weight::view_owned(m, experts, std::shared_ptr<const uint8_t>(copy, copy->as<uint8_t>()));
}

Weight TensorBinder::embedding(const std::string& name, int64_t cols, int64_t rows) const {
    const gguf::TensorInfo& t = get(name, {cols, rows});
    read_by_rows_.push_back(name);
    file_.read_into_page_cache(file_.data_offset() + t.offset, t.nbytes);
    return Weight::view(matrix_of(t, cols, rows));
}

std::vector<float> TensorBinder::floats(const std::string& name, std::initializer_list<int64_t> shape) const {
    const auto& t = get(name, shape);
    std::vector<float> out(static_cast<size_t>(t.n_elements()));
    const int64_t cols = t.ne[0];
    const size_t stride = row_bytes(type_traits(t.type), cols);
    for (int64_t r = 0; r < t.n_elements() / cols; ++r)
        dequantize_row(t.type, t.data + static_cast<size_t>(r) * stride, out.data() + r * cols, cols);
    return out;
}

}  // namespace silica::arch
