#include "quant/types.h"

#include <array>
#include <cctype>
#include <string>

#include "silica/error.h"

namespace silica {
namespace {

constexpr std::array kTraits = {
    TypeTraits{TensorType::F32, "f32", 1, 4},
    TypeTraits{TensorType::F16, "f16", 1, 2},
    TypeTraits{TensorType::Q4_0, "q4_0", 32, 18},
    TypeTraits{TensorType::Q4_1, "q4_1", 32, 20},
    TypeTraits{TensorType::Q5_0, "q5_0", 32, 22},
    TypeTraits{TensorType::Q5_1, "q5_1", 32, 24},
    TypeTraits{TensorType::Q8_0, "q8_0", 32, 34},
    TypeTraits{TensorType::Q8_1, "q8_1", 32, 36},
    TypeTraits{TensorType::Q2_K, "q2_K", 256, 84},
    TypeTraits{TensorType::Q3_K, "q3_K", 256, 110},
    TypeTraits{TensorType::Q4_K, "q4_K", 256, 144},
    TypeTraits{TensorType::Q5_K, "q5_K", 256, 176},
    TypeTraits{TensorType::Q6_K, "q6_K", 256, 210},
    TypeTraits{TensorType::Q8_K, "q8_K", 256, 292},
    TypeTraits{TensorType::I8, "i8", 1, 1},
    TypeTraits{TensorType::I16, "i16", 1, 2},
    TypeTraits{TensorType::I32, "i32", 1, 4},
    TypeTraits{TensorType::I64, "i64", 1, 8},
    TypeTraits{TensorType::F64, "f64", 1, 8},
    TypeTraits{TensorType::BF16, "bf16", 1, 2},
    TypeTraits{TensorType::MXFP4, "mxfp4", 32, 17},
};

// kTraits' index for each GGUF type id below kMaxTypeId, -1 for ids it does not list: a lookup
// instead of a search, because the KV cache asks for row sizes several times per attention call.
constexpr uint32_t kMaxTypeId = 64;
constexpr auto kIndexById = [] {
    std::array<int8_t, kMaxTypeId> index{};
    index.fill(-1);
    for (size_t i = 0; i < kTraits.size(); ++i) index[static_cast<size_t>(kTraits[i].type)] = static_cast<int8_t>(i);
    return index;
}();

}  // namespace

std::optional<TypeTraits> type_traits(uint32_t raw_type) {
    if (raw_type >= kMaxTypeId || kIndexById[raw_type] < 0) return std::nullopt;
    return kTraits[static_cast<size_t>(kIndexById[raw_type])];
}

TypeTraits type_traits(TensorType type) {
    return *type_traits(static_cast<uint32_t>(type));
}

std::optional<TensorType> type_from_name(std::string_view name) {
    std::string lower(name);
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (const auto& t : kTraits) {
        std::string tn(t.name);
        for (auto& c : tn) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (tn == lower) return t.type;
    }
    return std::nullopt;
}

void check_whole_blocks(const TypeTraits& t, int64_t n, std::string_view prefix) {
    if (n < 0 || n % t.block_size != 0)
        throw Error(std::string(prefix) + std::to_string(n) + " elements is not a whole number of " + std::string(t.name) +
                    " blocks of " + std::to_string(t.block_size));
}

}  // namespace silica
