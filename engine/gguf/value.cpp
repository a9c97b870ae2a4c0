// Metadata values: type names, encoded sizes and the typed accessors of gguf::Value.
#include <limits>
#include <type_traits>

#include "engine/gguf/format.h"
#include "engine/gguf/gguf.h"
#include "silica/error.h"

namespace silica::gguf {

std::string value_type_name(uint32_t raw_type) {
    static const char* const kNames[kNumValueTypes] = {
        "uint8", "int8", "uint16", "int16", "uint32", "int32", "float32",
        "bool", "string", "array", "uint64", "int64", "float64",
    };
    if (raw_type < kNumValueTypes) return kNames[raw_type];
    return "type " + std::to_string(raw_type);
}

std::optional<uint64_t> fixed_value_size(ValueType t) {
    switch (t) {
        case ValueType::UINT8: case ValueType::INT8: case ValueType::BOOL: return 1;
        case ValueType::UINT16: case ValueType::INT16: return 2;
        case ValueType::UINT32: case ValueType::INT32: case ValueType::FLOAT32: return 4;
        case ValueType::UINT64: case ValueType::INT64: case ValueType::FLOAT64: return 8;
        case ValueType::STRING: case ValueType::ARRAY: return std::nullopt;
    }
    return std::nullopt;
}

uint64_t min_encoded_size(ValueType t) {
    if (t == ValueType::STRING) return 8;       // u64 length, empty string
    if (t == ValueType::ARRAY) return 4 + 8;    // u32 elem_type + u64 count, empty array
    return *fixed_value_size(t);
}

// The variant's alternatives are listed in ValueType order, so the index is the type id.
static_assert(std::is_same_v<std::variant_alternative_t<9, decltype(Value::v)>, Array>);
static_assert(std::is_same_v<std::variant_alternative_t<12, decltype(Value::v)>, double>);

ValueType Value::type() const { return static_cast<ValueType>(v.index()); }

int64_t Value::as_int() const {
    return std::visit(
        [this](const auto& x) -> int64_t {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, uint64_t>) {
                if (x > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
                    throw Error("uint64 value " + std::to_string(x) + " does not fit in int64");
                return static_cast<int64_t>(x);
            } else if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
                return static_cast<int64_t>(x);
            } else {
                throw Error("expected an integer value, got " + value_type_name(type()));
            }
        },
        v);
}

double Value::as_float() const {
    return std::visit(
        [this](const auto& x) -> double {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_arithmetic_v<T> && !std::is_same_v<T, bool>) {
                return static_cast<double>(x);
            } else {
                throw Error("expected a number, got " + value_type_name(type()));
            }
        },
        v);
}

const std::string& Value::as_string() const {
    if (const auto* s = std::get_if<std::string>(&v)) return *s;
    throw Error("expected a string, got " + value_type_name(type()));
}

const Array& Value::as_array() const {
    if (const auto* a = std::get_if<Array>(&v)) return *a;
    throw Error("expected an array, got " + value_type_name(type()));
}

}  // namespace silica::gguf
