// GGUF -> GGUF re-quantization (what `silica-quantize` runs): every tensor is read from the mapped
// input, converted to the type quant/quant_mix.h chooses for it, and streamed to the output, one
// tensor at a time, so a model larger than memory can be converted.
#pragma once
#include <array>
#include <cstdint>
#include <functional>
#include <string>

#include "quant/types.h"

namespace silica {

struct QuantizedTensor {
    std::string name;
    uint32_t n_dims = 0;
    std::array<int64_t, 4> ne{1, 1, 1, 1};
    TensorType from = TensorType::F32;
    TensorType to = TensorType::F32;
    bool fallback = false;  // the mix's type did not fit the row length (see TypeChoice)
};

struct QuantizeOptions {
    std::string target;             // a name find_quant_mix knows: "Q4_K_M", "q8_0", ...
    bool allow_requantize = false;  // accept already-quantized 2-D weights (dequantized first)
    bool pure = false;              // no per-tensor rules: every weight gets the base type
    int threads = 0;                // 0: one per hardware thread
    std::function<void(const QuantizedTensor&)> on_tensor;  // called as each tensor is written
};

struct QuantizeSummary {
    uint64_t bytes_in = 0;   // tensor data of the input
    uint64_t bytes_out = 0;  // tensor data of the output
    uint64_t n_elements = 0;
    int n_tensors = 0;
    int n_converted = 0;  // tensors whose type changed
    int n_fallback = 0;
    uint32_t file_type = 0;  // general.file_type written
    double seconds = 0;
};

// Throws silica::Error naming the problem: unreadable or malformed input, unknown target, output
// path equal to the input, an already-quantized input without allow_requantize, an output that
// cannot be written. The output appears only when complete (written to a temporary, renamed).
QuantizeSummary quantize_file(const std::string& input, const std::string& output, const QuantizeOptions& options);

}  // namespace silica
