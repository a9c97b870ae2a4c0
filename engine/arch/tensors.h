// Looking up a model's tensors in a GGUF file with their expected shapes, so a file with a
// missing or misshapen tensor fails at load time with a message that names it; and binding weight
// matrices as Weights, repacked where a repacked kernel exists (engine/arch/weight.h).
#pragma once
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "engine/arch/weight.h"
#include "engine/gguf/gguf.h"
#include "engine/parallel/tensor_split.h"
#include "kernels/matmul.h"

namespace silica::arch {

class TensorBinder {
public:
    explicit TensorBinder(const gguf::File& file, const WeightOptions& options = {}) : file_(file), options_(options) {}

    bool has(const std::string& name) const { return file_.tensor(name) != nullptr; }
    // The tensor, checked to have exactly `shape` (ggml order); throws otherwise.
    const gguf::TensorInfo& get(const std::string& name, std::initializer_list<int64_t> shape) const;
    // A 2-D weight [rows][cols] as a view of the file (cols is the contiguous dimension).
    kernels::Matrix matrix(const std::string& name, int64_t cols, int64_t rows) const;
    // A 2-D weight that is multiplied (the forward's matmuls): repacked when repacking is on and
    // its type has a repacked kernel, and then its GGUF pages are released (never read them again).
    Weight weight(const std::string& name, int64_t cols, int64_t rows) const;
    // All experts of a 3-D [n_expert][rows][cols] weight, the same way; Weight::expert(e) selects one.
    Weight expert_weight(const std::string& name, int64_t cols, int64_t rows, int64_t n_expert) const;
    // A 2-D weight only read by rows (embedding lookups): always a view of the file. Its bytes are
    // read into the page cache at load: otherwise a decode step whose token's row was never read
    // waits for a disk read (measured ~1.5 ms per row here, 0.4-1.1 ms of a GPT-OSS-20B step).
    Weight embedding(const std::string& name, int64_t cols, int64_t rows) const;
    // Slices for tensor parallelism (engine/parallel/tensor_split.h), bound like weight():
    // the rows in `row_slices` (in that order) of a 2-D weight, or of each expert of a 3-D stack.
    Weight weight_rows(const std::string& name, int64_t cols, int64_t rows,
                       std::initializer_list<parallel::Slice> row_slices, int64_t n_expert = 0) const;
    // Columns [slice.begin, slice.end) of every row (of every expert): cut at block boundaries of
    // the tensor's type, else silica::Error naming the tensor.
    Weight weight_cols(const std::string& name, int64_t cols, int64_t rows, parallel::Slice slice,
                       int64_t n_expert = 0) const;
    // A 1-D (or n-D) tensor of any float type converted to float32.
    std::vector<float> floats(const std::string& name, std::initializer_list<int64_t> shape) const;

private:
    Weight bind(const gguf::TensorInfo& t, int64_t cols, int64_t rows, int64_t n_expert) const;
    // n_expert == 0: a 2-D tensor. Copies the chosen rows and columns into memory of its own.
    Weight bind_slice(const std::string& name, int64_t cols, int64_t rows, int64_t n_expert,
                      std::initializer_list<parallel::Slice> row_slices, parallel::Slice col_slice) const;

    const gguf::File& file_;
    WeightOptions options_;
    // Tensors bound by embedding(): they are read by rows from the file, so a slice of one (the
    // tied output matrix under tensor parallelism) must not release the file's pages.
    mutable std::vector<std::string> read_by_rows_;
};

}  // namespace silica::arch
