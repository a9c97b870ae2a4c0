// Writes a float32 C-order NumPy .npy file (format version 1.0).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace silica::app {

void write_npy(const std::string& path, const float* data, const std::vector<int64_t>& shape);

}  // namespace silica::app
