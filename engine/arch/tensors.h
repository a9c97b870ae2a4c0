// Looking up a model's tensors in a GGUF file with their expected shapes, so a file with a
// missing or misshapen tensor fails at load time with a message that names it.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "engine/gguf/gguf.h"
#include "kernels/matmul.h"

namespace silica::arch {

class TensorBinder {
public:
    explicit TensorBinder(const gguf::File& file) : file_(file) {}

    bool has(const std::string& name) const { return file_.tensor(name) != nullptr; }
    // The tensor, checked to have exactly `shape` (ggml order); throws otherwise.
    const gguf::TensorInfo& get(const std::string& name, std::initializer_list<int64_t> shape) const;
    // A 2-D weight [rows][cols] as a matmul operand (cols is the contiguous dimension).
    kernels::Matrix matrix(const std::string& name, int64_t cols, int64_t rows) const;
    // Expert `e` of a 3-D [n_expert][rows][cols] weight.
    kernels::Matrix expert_matrix(const std::string& name, int64_t cols, int64_t rows, int64_t n_expert) const;
    // A 1-D (or n-D) tensor of any float type converted to float32.
    std::vector<float> floats(const std::string& name, std::initializer_list<int64_t> shape) const;

private:
    const gguf::File& file_;
};

// Row `r` of a matrix as float32 (embedding lookups of any weight type).
void matrix_row(const kernels::Matrix& m, int64_t r, float* out);

}  // namespace silica::arch
