// On-disk facts of the GGUF format shared by the reader and the writer.
//
// Layout (all little-endian):
//   "GGUF" | u32 version | u64 tensor_count | u64 kv_count
//   kv_count x { string key | u32 value_type | value }
//   tensor_count x { string name | u32 n_dims | n_dims x i64 ne | u32 type | u64 offset }
//   padding to `alignment` | tensor data (each tensor at data_start + offset, offsets aligned)
// string = u64 length + bytes (no terminator); array = u32 elem_type + u64 count + elements.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include "engine/gguf/gguf.h"

namespace silica::gguf {

constexpr uint8_t kMagic[4] = {'G', 'G', 'U', 'F'};
constexpr uint32_t kVersionWritten = 3;
constexpr const char* kAlignmentKey = "general.alignment";
constexpr uint32_t kNumValueTypes = 13;
// Arrays of arrays are legal; deeper than this is certainly not a real model and would only
// let a crafted file recurse deeply.
constexpr int kMaxArrayDepth = 8;

// "uint8", "string", "array", ... ; "type <n>" for an unknown id.
std::string value_type_name(uint32_t raw_type);
inline std::string value_type_name(ValueType t) { return value_type_name(static_cast<uint32_t>(t)); }

// Bytes of one value of a fixed-size type; std::nullopt for STRING and ARRAY.
std::optional<uint64_t> fixed_value_size(ValueType t);

// The smallest number of bytes any value of this type can take in a file: used to reject a count
// that cannot fit in the rest of the file before allocating anything for it.
uint64_t min_encoded_size(ValueType t);

// Overflow-checked arithmetic on file offsets and sizes: false when the result does not fit.
inline bool checked_add(uint64_t a, uint64_t b, uint64_t& out) { return !__builtin_add_overflow(a, b, &out); }
inline bool checked_mul(uint64_t a, uint64_t b, uint64_t& out) { return !__builtin_mul_overflow(a, b, &out); }
// Rounds x up to a multiple of `alignment` (a power of two); false on overflow.
inline bool checked_align_up(uint64_t x, uint64_t alignment, uint64_t& out) {
    if (!checked_add(x, alignment - 1, out)) return false;
    out &= ~(alignment - 1);
    return true;
}
inline bool is_power_of_two(uint64_t x) { return x != 0 && (x & (x - 1)) == 0; }

}  // namespace silica::gguf
