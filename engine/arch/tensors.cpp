#include "engine/arch/tensors.h"

#include "kernels/matmul_repacked.h"
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
    Weight w = Weight::repacked(m, n_expert, options_.huge_pages);
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

Weight TensorBinder::embedding(const std::string& name, int64_t cols, int64_t rows) const {
    const gguf::TensorInfo& t = get(name, {cols, rows});
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
