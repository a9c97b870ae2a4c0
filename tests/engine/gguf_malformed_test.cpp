// Every kind of malformed GGUF file must become a silica::Error naming the file and the problem.
#include <catch2/catch.hpp>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "engine/gguf/gguf.h"
#include "silica/error.h"
#include "tests/fuzz/gguf_bytes.h"

using namespace silica;
using namespace silica::gguf;
using silica::gguf::testing::Bytes;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

constexpr uint32_t kF32 = 0, kQ8_0 = 8;
constexpr uint32_t kTypeU8 = 0, kTypeString = 8, kTypeArray = 9;

// Parses `bytes` and returns the error message (fails the test if parsing succeeds).
std::string parse_error(const Bytes& bytes) {
    try {
        File::parse(bytes.data, "bad.gguf");
    } catch (const Error& e) {
        return e.what();
    }
    FAIL("parsing succeeded but should have failed");
    return {};
}

void check_error(const Bytes& bytes, const std::string& expected) {
    std::string msg = parse_error(bytes);
    INFO(msg);
    CHECK_THAT(msg, StartsWith("bad.gguf: "));
    CHECK_THAT(msg, Contains(expected));
}

// A valid file with one f32 tensor of `n` floats (alignment 32).
Bytes one_tensor_file(std::vector<int64_t> dims, uint32_t type, uint64_t offset, size_t data_bytes) {
    Bytes b;
    b.header(3, 1, 0).tensor_info("w", std::move(dims), type, offset).pad_to(32).zeros(data_bytes);
    return b;
}

}  // namespace

TEST_CASE("gguf malformed: header", "[gguf]") {
    check_error(Bytes{}, "not a GGUF file");
    check_error(Bytes().raw("GGU", 3), "not a GGUF file");
    check_error(Bytes().raw("GGML", 4).u32(3).u64(0).u64(0), "bad magic 47 47 4d 4c");
    check_error(Bytes().header(1, 0, 0), "GGUF version 1 is not supported");
    check_error(Bytes().header(4, 0, 0), "unsupported GGUF version 4");
    check_error(Bytes().header(0x03000000, 0, 0), "big-endian");
    check_error(Bytes().raw("GGUF", 4).u32(3).u64(0), "truncated file: metadata count");
}

TEST_CASE("gguf malformed: counts impossible for the file size", "[gguf]") {
    check_error(Bytes().header(3, uint64_t{1} << 60, 0), "tensor count 1152921504606846976 is impossible");
    check_error(Bytes().header(3, 0, ~uint64_t{0}), "metadata count 18446744073709551615 is impossible");
    // Two key-value pairs announced; the second one is cut short in its value.
    check_error(Bytes().header(3, 0, 2).kv_u32("a", 1).zeros(12), "metadata key '': truncated file: uint8 value");
}

TEST_CASE("gguf malformed: strings and arrays longer than the file", "[gguf]") {
    // Key length beyond the file.
    check_error(Bytes().header(3, 0, 1).u64(1000).raw("abc", 3).zeros(10), "metadata key of length 1000");
    // Key length near 2^64 (must not wrap around in pos + len).
    check_error(Bytes().header(3, 0, 1).u64(~uint64_t{0}).zeros(16), "extends beyond the end of the file");
    // String value length 2^63.
    check_error(Bytes().header(3, 0, 1).key("k", kTypeString).u64(uint64_t{1} << 63).zeros(8),
                "string value of length 9223372036854775808");
    // Array counts that cannot fit: must fail fast without allocating.
    check_error(Bytes().header(3, 0, 1).key("k", kTypeArray).u32(kTypeU8).u64(uint64_t{1} << 60).zeros(8),
                "array of 1152921504606846976 uint8 elements cannot fit");
    check_error(Bytes().header(3, 0, 1).key("k", kTypeArray).u32(kTypeString).u64(~uint64_t{0}).zeros(64),
                "string elements cannot fit");
    check_error(Bytes().header(3, 0, 1).key("k", kTypeArray).u32(kTypeArray).u64(uint64_t{1} << 62).zeros(64),
                "array elements cannot fit");
    // Array of 3 strings where the last string runs off the end.
    check_error(Bytes().header(3, 0, 1).key("k", kTypeArray).u32(kTypeString).u64(3).str("a").str("b").u64(5).raw("xy", 2),
                "metadata key 'k': truncated file: string value of length 5");
}

TEST_CASE("gguf malformed: value types and nesting", "[gguf]") {
    check_error(Bytes().header(3, 0, 1).key("k", 13).u32(0), "metadata key 'k': unknown value type 13");
    check_error(Bytes().header(3, 0, 1).key("k", kTypeArray).u32(77).u64(0), "unknown value type 77");

    // Arrays nested 8 deep parse; 9 deep is refused.
    auto nested = [](int depth) {
        Bytes b;
        b.header(3, 0, 1).key("deep", kTypeArray);
        for (int d = 1; d < depth; ++d) b.u32(kTypeArray).u64(1);
        b.u32(kTypeU8).u64(1).u8(7);
        return b;
    };
    File ok = File::parse(nested(8).data, "ok.gguf");
    const Value* v = ok.find("deep");
    REQUIRE(v);
    for (int d = 1; d < 8; ++d) v = &v->as_array().items.at(0);
    CHECK(v->as_array().items.at(0).as_int() == 7);
    check_error(nested(9), "arrays nested deeper than 8 levels");
    check_error(nested(100000), "arrays nested deeper than 8 levels");
}

TEST_CASE("gguf malformed: duplicate metadata keys", "[gguf]") {
    check_error(Bytes().header(3, 0, 2).kv_u32("a.b", 1).kv_str("a.b", "x"), "metadata key 'a.b': duplicate metadata key");
}

TEST_CASE("gguf malformed: general.alignment", "[gguf]") {
    check_error(Bytes().header(3, 0, 1).kv_u32("general.alignment", 0), "alignment must be a nonzero power of two, got 0");
    check_error(Bytes().header(3, 0, 1).kv_u32("general.alignment", 48), "nonzero power of two, got 48");
    check_error(Bytes().header(3, 0, 1).kv_u32("general.alignment", 0x80000000u), "power of two");
    check_error(Bytes().header(3, 0, 1).kv_str("general.alignment", "32"), "alignment must be an integer, got string");
    check_error(Bytes().header(3, 0, 1).key("general.alignment", 11).i64(-32), "got -32");
}

TEST_CASE("gguf malformed: tensor shapes", "[gguf]") {
    check_error(one_tensor_file({}, kF32, 0, 0), "tensor 'w': has 0 dimensions (must be 1 to 4)");
    check_error(one_tensor_file({1, 1, 1, 1, 1}, kF32, 0, 4), "tensor 'w': has 5 dimensions");
    check_error(one_tensor_file({4, 0}, kF32, 0, 16), "tensor 'w': dimension 1 is 0 (must be positive)");
    check_error(one_tensor_file({-4}, kF32, 0, 16), "dimension 0 is -4");
    check_error(one_tensor_file({int64_t{1} << 40, int64_t{1} << 40}, kF32, 0, 16), "tensor 'w': element count overflows int64");
    check_error(one_tensor_file({int64_t{1} << 62}, kF32, 0, 16), "tensor 'w': data size overflows");
    // n_dims huge: refused before reading dimensions.
    check_error(Bytes().header(3, 1, 0).str("w").u32(0xffffffffu).zeros(40), "has 4294967295 dimensions");
}

TEST_CASE("gguf malformed: tensor types", "[gguf]") {
    check_error(one_tensor_file({32}, 99, 0, 128), "tensor 'w': unknown tensor type 99");
    check_error(one_tensor_file({32}, 4, 0, 128), "unknown tensor type 4");  // Q4_2, removed from ggml
    check_error(one_tensor_file({33, 2}, kQ8_0, 0, 128), "tensor 'w': row length 33 is not a multiple of the q8_0 block size 32");
    check_error(one_tensor_file({100}, 12, 0, 256), "not a multiple of the q4_K block size 256");
}

TEST_CASE("gguf malformed: tensor placement", "[gguf]") {
    // Offset not a multiple of the alignment (default 32, and a custom 64).
    check_error(one_tensor_file({4}, kF32, 16, 64), "tensor 'w': data offset 16 is not a multiple of the alignment 32");
    {
        Bytes b;
        b.header(3, 1, 1).kv_u32("general.alignment", 64).tensor_info("w", {4}, kF32, 32).pad_to(64).zeros(96);
        check_error(b, "data offset 32 is not a multiple of the alignment 64");
    }
    // Data running past the end of the file, by one byte and by an offset near 2^64.
    check_error(one_tensor_file({4, 4}, kF32, 0, 63), "tensor 'w': data (offset 0, 64 bytes");
    check_error(one_tensor_file({4, 4}, kF32, 0, 63), "extends beyond the end of the file");
    check_error(one_tensor_file({4}, kF32, ~uint64_t{31}, 64), "extends beyond the end of the file");
    // A tensor table whose data section would start past the end of the file.
    check_error(Bytes().header(3, 1, 0).tensor_info("w", {1}, kF32, 0), "extends beyond the end of the file");

    // Overlap: b starts inside a.
    {
        Bytes b;
        b.header(3, 2, 0).tensor_info("a", {16}, kF32, 0).tensor_info("b", {8}, kF32, 32).pad_to(32).zeros(128);
        check_error(b, "tensors 'a' and 'b' overlap");
    }
    // Overlap when the table is not in offset order, and for identical offsets.
    {
        Bytes b;
        b.header(3, 2, 0).tensor_info("late", {8}, kF32, 64).tensor_info("early", {32}, kF32, 0).pad_to(32).zeros(128);
        check_error(b, "tensors 'early' and 'late' overlap");
    }
    {
        Bytes b;
        b.header(3, 2, 0).tensor_info("x", {8}, kF32, 0).tensor_info("y", {8}, kF32, 0).pad_to(32).zeros(64);
        check_error(b, "overlap");
    }
    // Adjacent (touching) tensors are fine.
    {
        Bytes b;
        b.header(3, 2, 0).tensor_info("a", {8}, kF32, 0).tensor_info("b", {8}, kF32, 32).pad_to(32).zeros(64);
        File f = File::parse(b.data, "ok.gguf");
        CHECK(f.tensors().size() == 2);
    }
}

TEST_CASE("gguf malformed: duplicate tensor names", "[gguf]") {
    Bytes b;
    b.header(3, 2, 0).tensor_info("w", {8}, kF32, 0).tensor_info("w", {8}, kF32, 32).pad_to(32).zeros(64);
    check_error(b, "tensor 'w': duplicate tensor name");
}

TEST_CASE("gguf malformed: truncated at every byte", "[gguf]") {
    // A file exercising every value type and two tensors, written by the Writer.
    Writer w;
    w.set("general.architecture", "test");
    w.set("u8", Value{uint8_t{1}});
    w.set("i8", Value{int8_t{-1}});
    w.set("u16", Value{uint16_t{2}});
    w.set("i16", Value{int16_t{-2}});
    w.set_u32("u32", 3);
    w.set_i32("i32", -3);
    w.set_f32("f32", 1.5f);
    w.set_bool("bool", true);
    w.set("u64", Value{uint64_t{4}});
    w.set("i64", Value{int64_t{-4}});
    w.set("f64", Value{2.5});
    w.set_strings("strings", {"a", "", "bc"});
    w.set("nested", Value{Array{ValueType::ARRAY, {Value{Array{ValueType::INT32, {Value{int32_t{5}}}}}}}});
    w.add_tensor("t0", TensorType::F32, {3, 2}, std::vector<uint8_t>(24, 1));
    w.add_tensor("t1", TensorType::Q8_0, {32}, std::vector<uint8_t>(34, 2));
    std::vector<uint8_t> full = w.write_to_memory();
    File f = File::parse(full, "full.gguf");
    const uint64_t end_of_data = f.data_offset() + f.tensor("t1")->offset + f.tensor("t1")->nbytes;
    REQUIRE(end_of_data <= full.size());

    // Every prefix that cuts into the header, the table or the tensor data must be refused.
    for (size_t len = 0; len < end_of_data; ++len) {
        Bytes prefix;
        prefix.data.assign(full.begin(), full.begin() + static_cast<ptrdiff_t>(len));
        std::string msg = parse_error(prefix);
        INFO("length " << len << ": " << msg);
        CHECK_THAT(msg, StartsWith("bad.gguf: "));
        bool says_truncated = msg.find("truncated") != std::string::npos ||
                              msg.find("cannot fit in the remaining") != std::string::npos ||
                              msg.find("is impossible for a file of") != std::string::npos ||
                              msg.find("extends beyond the end of the file") != std::string::npos ||
                              msg.find("not a GGUF file") != std::string::npos;
        CHECK(says_truncated);
    }
    // Padding after the last tensor is not required.
    Bytes exact;
    exact.data.assign(full.begin(), full.begin() + static_cast<ptrdiff_t>(end_of_data));
    CHECK(File::parse(exact.data, "exact.gguf").tensors().size() == 2);
}

TEST_CASE("gguf malformed: File::open errors name the path", "[gguf]") {
    CHECK_THROWS_WITH(File::open("/nonexistent/dir/model.gguf"), "/nonexistent/dir/model.gguf: No such file or directory");
    CHECK_THROWS_WITH(File::open("/tmp"), "/tmp: Is a directory");

    const std::string path = (std::filesystem::temp_directory_path() /
                              ("silica_gguf_malformed_" + std::to_string(::getpid()) + ".gguf")).string();
    { std::ofstream(path, std::ios::binary); }  // empty file
    CHECK_THROWS_WITH(File::open(path), path + ": not a GGUF file (only 0 bytes long)");
    CHECK_THROWS_WITH(File::open(path, {.use_mmap = false}), path + ": not a GGUF file (only 0 bytes long)");
    {
        Bytes b = one_tensor_file({4, 4}, kF32, 0, 10);
        std::ofstream out(path, std::ios::binary);
        out.write(reinterpret_cast<const char*>(b.data.data()), static_cast<std::streamsize>(b.size()));
    }
    CHECK_THROWS_WITH(File::open(path), StartsWith(path + ": tensor 'w': data") && Contains("extends beyond"));
    std::remove(path.c_str());
}

TEST_CASE("gguf malformed: typed getters refuse the wrong type", "[gguf]") {
    Writer w;
    w.set("s", "text");
    w.set_f32("f", 0.5f);
    w.set_u32("u", 7);
    w.set("big", Value{~uint64_t{0}});
    w.set_i32s("ints", {1, 2});
    std::vector<uint8_t> bytes = w.write_to_memory();
    File f = File::parse(bytes, "m.gguf");
    CHECK_THROWS_WITH(f.get_int("s", 0), "m.gguf: metadata key 's': expected an integer value, got string");
    CHECK_THROWS_WITH(f.get_int("f", 0), Contains("got float32"));
    CHECK_THROWS_WITH(f.get_int("big", 0), Contains("does not fit in int64"));
    CHECK_THROWS_WITH(f.get_string("u", ""), "m.gguf: metadata key 'u': expected a string, got uint32");
    CHECK_THROWS_WITH(f.get_bool("u", false), Contains("expected a bool, got uint32"));
    CHECK_THROWS_WITH(f.get_float("s", 0), Contains("expected a number, got string"));
    CHECK_THROWS_WITH(f.get_string_array("ints"), Contains("expected an array of strings, got an array of int32"));
    CHECK_THROWS_WITH(f.get_int_array("s"), Contains("expected an array, got string"));
    CHECK_THROWS_WITH(f.get_float_array("missing"), "m.gguf: metadata key 'missing': missing");
    CHECK_THROWS_AS(f.get_string_array("missing"), Error);
}
