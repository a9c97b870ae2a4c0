// Tensor storage types, numbered exactly as ggml/GGUF numbers them, and their block traits.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace silica {

enum class TensorType : uint32_t {
    F32 = 0,
    F16 = 1,
    Q4_0 = 2,
    Q4_1 = 3,
    Q5_0 = 6,
    Q5_1 = 7,
    Q8_0 = 8,
    Q8_1 = 9,
    Q2_K = 10,
    Q3_K = 11,
    Q4_K = 12,
    Q5_K = 13,
    Q6_K = 14,
    Q8_K = 15,
    I8 = 24,
    I16 = 25,
    I32 = 26,
    I64 = 27,
    F64 = 28,
    BF16 = 30,
    MXFP4 = 39,
};

struct TypeTraits {
    TensorType type;
    std::string_view name;   // as ggml prints it: "f32", "q8_0", "mxfp4", ...
    int64_t block_size;      // elements per block (1 for plain types)
    int64_t block_bytes;     // bytes per block
};

// Traits of a raw GGUF type id; std::nullopt for ids Silica does not know.
std::optional<TypeTraits> type_traits(uint32_t raw_type);
TypeTraits type_traits(TensorType type);

// Parse a type name ("q8_0", "F16", ...); std::nullopt if unknown.
std::optional<TensorType> type_from_name(std::string_view name);

// Throws silica::Error "<prefix>N elements is not a whole number of <type> blocks of B" unless n is
// a non-negative multiple of the block size (what every row conversion checks first).
void check_whole_blocks(const TypeTraits& t, int64_t n, std::string_view prefix = {});

// Bytes of a row of n elements; n must be a multiple of the block size (checked by callers).
inline size_t row_bytes(const TypeTraits& t, int64_t n) {
    return static_cast<size_t>(n / t.block_size) * static_cast<size_t>(t.block_bytes);
}

}  // namespace silica
