// Writes the GGUF fuzzing seed corpus: small valid files covering every value type, tensor types
// and alignments, plus one file per kind of malformation the reader must refuse.
// Usage: gguf_make_corpus OUT_DIR   (the committed corpus is tests/fuzz/corpus/gguf)
// Names end in .bin, not .gguf, because *.gguf is git-ignored.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "engine/gguf/gguf.h"
#include "tests/fuzz/gguf_bytes.h"

using namespace silica;
using namespace silica::gguf;
using silica::gguf::testing::Bytes;

namespace {

std::filesystem::path g_out;

void save(const std::string& name, const std::vector<uint8_t>& bytes) {
    std::ofstream out(g_out / (name + ".bin"), std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

std::vector<uint8_t> counting_bytes(size_t n, uint8_t start) {
    std::vector<uint8_t> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(start + i);
    return v;
}

Writer all_value_types() {
    Writer w;
    w.set("general.architecture", "gpt2");
    w.set("u8", Value{uint8_t{1}});
    w.set("i8", Value{int8_t{-1}});
    w.set("u16", Value{uint16_t{2}});
    w.set("i16", Value{int16_t{-2}});
    w.set_u32("u32", 3);
    w.set_i32("i32", -3);
    w.set_f32("f32", 0.5f);
    w.set_bool("bool", true);
    w.set("string", "");
    w.set("u64", Value{uint64_t{4}});
    w.set("i64", Value{int64_t{-4}});
    w.set("f64", Value{0.25});
    w.set_strings("strings", {"a", "", "Ġt"});
    w.set_i32s("i32s", {1, -1});
    w.set_f32s("f32s", {});
    w.set("nested", Value{Array{ValueType::ARRAY, {Value{Array{ValueType::UINT8, {Value{uint8_t{9}}}}},
                                                   Value{Array{ValueType::STRING, {}}}}}});
    return w;
}

Writer with_tensors(uint32_t alignment) {
    Writer w;
    w.set("general.architecture", "test");
    if (alignment != kDefaultAlignment) w.set_alignment(alignment);
    w.add_tensor("f32", TensorType::F32, {3, 2}, counting_bytes(24, 1));
    w.add_tensor("f16", TensorType::F16, {5}, counting_bytes(10, 2));
    w.add_tensor("q8_0", TensorType::Q8_0, {32, 2}, counting_bytes(68, 3));
    w.add_tensor("mxfp4", TensorType::MXFP4, {32, 1, 1, 2}, counting_bytes(34, 4));
    w.add_tensor("bf16", TensorType::BF16, {1, 1, 3}, counting_bytes(6, 5));
    return w;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
        return 2;
    }
    g_out = argv[1];
    std::filesystem::create_directories(g_out);

    // Valid files.
    save("valid_empty", Bytes().header(3, 0, 0).data);
    std::vector<uint8_t> all = all_value_types().write_to_memory();
    save("valid_all_value_types", all);
    save("valid_tensors_align32", with_tensors(32).write_to_memory());
    save("valid_tensors_align64", with_tensors(64).write_to_memory());
    save("valid_tensors_align1", with_tensors(1).write_to_memory());
    {
        Writer w;
        w.set("tokenizer.ggml.model", "gpt2");
        w.set_strings("tokenizer.ggml.tokens", {"!", "\"", "Ġt", "he", "<|endoftext|>"});
        w.set_i32s("tokenizer.ggml.token_type", {1, 1, 1, 1, 3});
        w.set_strings("tokenizer.ggml.merges", {"Ġ t", "h e"});
        w.set_u32("tokenizer.ggml.bos_token_id", 4);
        save("valid_vocab", w.write_to_memory());
    }
    {
        Bytes b;
        b.header(2, 1, 1).kv_str("general.architecture", "gpt2").tensor_info("w", {4}, 0, 0).pad_to(32).zeros(16);
        save("valid_v2", b.data);
    }
    {
        Bytes b;
        b.header(3, 0, 1).key("deep", 9);
        for (int d = 1; d < 8; ++d) b.u32(9).u64(1);
        b.u32(0).u64(1).u8(7);
        save("valid_nested_depth8", b.data);
    }

    // Malformed files: one per check in the reader.
    save("bad_magic", Bytes().raw("GGML", 4).u32(3).u64(0).u64(0).data);
    save("bad_version1", Bytes().header(1, 0, 0).data);
    save("bad_version_big_endian", Bytes().header(0x03000000, 0, 0).data);
    save("bad_tensor_count", Bytes().header(3, uint64_t{1} << 60, 0).data);
    save("bad_kv_count", Bytes().header(3, 0, ~uint64_t{0}).zeros(16).data);
    save("bad_string_length", Bytes().header(3, 0, 1).key("k", 8).u64(uint64_t{1} << 63).zeros(8).data);
    save("bad_array_length", Bytes().header(3, 0, 1).key("k", 9).u32(8).u64(uint64_t{1} << 60).zeros(16).data);
    save("bad_value_type", Bytes().header(3, 0, 1).key("k", 13).u32(0).data);
    save("bad_duplicate_key", Bytes().header(3, 0, 2).kv_u32("a", 1).kv_u32("a", 2).data);
    save("bad_alignment", Bytes().header(3, 0, 1).kv_u32("general.alignment", 48).data);
    {
        Bytes b;
        b.header(3, 0, 1).key("deep", 9);
        for (int d = 1; d < 9; ++d) b.u32(9).u64(1);
        b.u32(0).u64(1).u8(7);
        save("bad_nested_depth9", b.data);
    }
    auto one_tensor = [](std::vector<int64_t> dims, uint32_t type, uint64_t offset, size_t data) {
        return Bytes().header(3, 1, 0).tensor_info("w", std::move(dims), type, offset).pad_to(32).zeros(data).data;
    };
    save("bad_n_dims_0", one_tensor({}, 0, 0, 0));
    save("bad_n_dims_5", one_tensor({1, 1, 1, 1, 1}, 0, 0, 4));
    save("bad_dim_zero", one_tensor({4, 0}, 0, 0, 16));
    save("bad_dim_negative", one_tensor({-4}, 0, 0, 16));
    save("bad_element_overflow", one_tensor({int64_t{1} << 40, int64_t{1} << 40}, 0, 0, 16));
    save("bad_size_overflow", one_tensor({int64_t{1} << 62}, 0, 0, 16));
    save("bad_tensor_type", one_tensor({32}, 99, 0, 128));
    save("bad_block_multiple", one_tensor({33}, 8, 0, 64));
    save("bad_unaligned_offset", one_tensor({4}, 0, 16, 64));
    save("bad_beyond_end", one_tensor({4, 4}, 0, 0, 63));
    save("bad_offset_wraps", one_tensor({4}, 0, ~uint64_t{31}, 64));
    save("bad_overlap", Bytes().header(3, 2, 0).tensor_info("a", {16}, 0, 0).tensor_info("b", {8}, 0, 32).pad_to(32).zeros(128).data);
    save("bad_duplicate_tensor", Bytes().header(3, 2, 0).tensor_info("w", {8}, 0, 0).tensor_info("w", {8}, 0, 32).pad_to(32).zeros(64).data);
    // Truncations of a file with tensors: in the header, the metadata, the tensor table and the
    // data (its last tensor ends 26 bytes before the end, followed by padding).
    std::vector<uint8_t> full = with_tensors(32).write_to_memory();
    for (size_t len : {size_t{3}, size_t{20}, size_t{60}, full.size() / 2, full.size() - 30}) {
        std::vector<uint8_t> cut(full.begin(), full.begin() + static_cast<ptrdiff_t>(len));
        save("bad_truncated_" + std::to_string(len), cut);
    }
    return 0;
}
