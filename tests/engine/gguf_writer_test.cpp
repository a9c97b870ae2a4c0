// GGUF writer: exact byte layout (checked against a hand-built file), streaming fills, argument
// checks, and writing to disk through a temporary file.
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

namespace {

std::string temp_path(const std::string& tag) {
    return (std::filesystem::temp_directory_path() /
            ("silica_gguf_" + tag + "_" + std::to_string(::getpid()) + ".gguf")).string();
}

std::vector<uint8_t> read_all(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

// Files in `dir` whose name starts with `prefix` (to spot leftover temporary files).
size_t count_files_starting_with(const std::filesystem::path& dir, const std::string& prefix) {
    size_t n = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir))
        if (e.path().filename().string().rfind(prefix, 0) == 0) ++n;
    return n;
}

}  // namespace

TEST_CASE("gguf writer: byte layout matches the format", "[gguf]") {
    Writer w;
    w.set("general.architecture", "gpt2");
    w.set_u32("n", 7);
    w.set_f32s("fs", {1.0f, -2.0f});
    w.add_tensor("a", TensorType::F32, {3}, std::vector<uint8_t>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});
    w.add_tensor("b", TensorType::I8, {2, 2}, std::vector<uint8_t>{21, 22, 23, 24});

    Bytes expected;
    expected.header(3, 2, 3)
        .kv_str("general.architecture", "gpt2")
        .kv_u32("n", 7)
        .key("fs", 9).u32(6).u64(2).scalar<float>(1.0f).scalar<float>(-2.0f)
        .tensor_info("a", {3}, 0, 0)
        .tensor_info("b", {2, 2}, 24, 32)  // 12 bytes of "a" padded to 32
        .pad_to(32);
    for (uint8_t i = 1; i <= 12; ++i) expected.u8(i);
    expected.pad_to(32);
    for (uint8_t i = 21; i <= 24; ++i) expected.u8(i);
    expected.pad_to(32);

    CHECK(w.write_to_memory() == expected.data);
}

TEST_CASE("gguf writer: set() replaces a key in place", "[gguf]") {
    Writer w;
    w.set_u32("a", 1);
    w.set_u32("b", 2);
    w.set("a", "now a string");
    std::vector<uint8_t> bytes = w.write_to_memory();
    File f = File::parse(bytes, "m.gguf");
    REQUIRE(f.metadata().size() == 2);
    CHECK(f.metadata()[0].first == "a");
    CHECK(f.get_string("a", "") == "now a string");
    CHECK(f.metadata()[1].first == "b");
}

TEST_CASE("gguf writer: alignment", "[gguf]") {
    Writer w;
    CHECK_THROWS_WITH(w.set_alignment(0), Contains("power of two, got 0"));
    CHECK_THROWS_WITH(w.set_alignment(24), Contains("power of two, got 24"));
    CHECK_THROWS_WITH(w.set("general.alignment", "64"), Contains("must be an integer"));
    // Setting the key directly also changes the layout.
    w.set("general.alignment", Value{uint64_t{128}});
    w.add_tensor("x", TensorType::F32, {1}, std::vector<uint8_t>(4, 9));
    w.add_tensor("y", TensorType::F32, {1}, std::vector<uint8_t>(4, 8));
    std::vector<uint8_t> bytes = w.write_to_memory();
    File f = File::parse(bytes, "a.gguf");
    CHECK(f.alignment() == 128);
    CHECK(f.data_offset() % 128 == 0);
    CHECK(f.tensor("y")->offset == 128);
    CHECK(bytes.size() == f.data_offset() + 256);
}

TEST_CASE("gguf writer: add_tensor checks its arguments", "[gguf]") {
    Writer w;
    auto fill = [](std::span<uint8_t>) {};
    w.add_tensor("t", TensorType::F32, {4}, fill);
    CHECK_THROWS_WITH(w.add_tensor("t", TensorType::F32, {4}, fill), "gguf writer: tensor 't': duplicate tensor name");
    CHECK_THROWS_WITH(w.add_tensor("q", TensorType::Q8_0, {33}, fill),
                      Contains("row length 33 is not a multiple of the q8_0 block size 32"));
    CHECK_THROWS_WITH(w.add_tensor("z", TensorType::F32, {4, 0}, fill), Contains("dimension 0 is not positive"));
    CHECK_THROWS_WITH(w.add_tensor("d", TensorType::F32, {1, 1, 1, 1, 1}, fill), Contains("has 5 dimensions"));
    CHECK_THROWS_WITH(w.add_tensor("e", TensorType::F32, {}, fill), Contains("has 0 dimensions"));
    CHECK_THROWS_WITH(w.add_tensor("o", TensorType::F32, {int64_t{1} << 62}, fill), Contains("size overflows"));
    CHECK_THROWS_WITH(w.add_tensor("n", TensorType::F32, {4}, Writer::Fill{}), Contains("no fill function"));
    CHECK_THROWS_WITH(w.add_tensor("b", TensorType::F32, {4}, std::vector<uint8_t>(15)),
                      Contains("got 15 bytes of data, the shape needs 16"));
    // Mixed-type and over-deep arrays are refused (the reader would refuse them).
    CHECK_THROWS_WITH(w.set("mixed", Value{Array{ValueType::INT32, {Value{int32_t{1}}, Value{1.0f}}}}),
                      Contains("float32 element in an array of int32"));
    Value deep{Array{ValueType::UINT8, {}}};
    for (int i = 0; i < 8; ++i) deep = Value{Array{ValueType::ARRAY, {deep}}};
    CHECK_THROWS_WITH(w.set("deep", deep), Contains("nested deeper than 8"));
    // The failed calls left nothing behind.
    std::vector<uint8_t> bytes = w.write_to_memory();
    File f = File::parse(bytes, "w.gguf");
    CHECK(f.tensors().size() == 1);
    CHECK(f.metadata().empty());
}

TEST_CASE("gguf writer: fills stream through one zeroed buffer", "[gguf]") {
    Writer w;
    std::vector<size_t> sizes_seen;
    // The first fill writes everything; the second writes nothing, so its bytes must be zero
    // (not left over from the first).
    w.add_tensor("full", TensorType::F32, {64}, [&](std::span<uint8_t> out) {
        sizes_seen.push_back(out.size());
        for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<uint8_t>(i + 1);
    });
    w.add_tensor("lazy", TensorType::F16, {32}, [&](std::span<uint8_t> out) { sizes_seen.push_back(out.size()); });
    std::vector<uint8_t> bytes = w.write_to_memory();
    CHECK(sizes_seen == std::vector<size_t>{256, 64});
    File f = File::parse(bytes, "s.gguf");
    const TensorInfo* lazy = f.tensor("lazy");
    REQUIRE(lazy);
    CHECK(std::all_of(lazy->data, lazy->data + lazy->nbytes, [](uint8_t b) { return b == 0; }));
    CHECK(f.tensor("full")->data[255] == 0);  // 256 wraps to 0
    CHECK(f.tensor("full")->data[254] == 255);
    // Padding between and after tensors is zero too.
    const uint8_t* end_of_full = f.tensor("full")->data + 256;
    CHECK(end_of_full == lazy->data);  // 256 is already aligned
    CHECK(bytes.size() % 32 == 0);
}

TEST_CASE("gguf writer: write() goes through a temporary file", "[gguf]") {
    const std::string path = temp_path("writer");
    const std::filesystem::path dir = std::filesystem::path(path).parent_path();
    const std::string base = std::filesystem::path(path).filename().string();

    Writer w;
    w.set("general.architecture", "test");
    for (int i = 0; i < 3; ++i)
        w.add_tensor(std::string(1, static_cast<char>('a' + i)), TensorType::Q8_0, {1024, 64}, [i](std::span<uint8_t> out) {
            for (size_t k = 0; k < out.size(); ++k) out[k] = static_cast<uint8_t>(k * 7 + static_cast<size_t>(i));
        });
    w.write(path);
    CHECK(read_all(path) == w.write_to_memory());
    CHECK(count_files_starting_with(dir, base) == 1);  // no temporary file left

    // A failing fill leaves neither the target nor a temporary file behind, and an existing target
    // is kept as it was.
    const std::vector<uint8_t> before = read_all(path);
    Writer bad;
    bad.add_tensor("ok", TensorType::F32, {4}, [](std::span<uint8_t>) {});
    bad.add_tensor("boom", TensorType::F32, {4}, [](std::span<uint8_t>) { throw Error("fill failed"); });
    CHECK_THROWS_WITH(bad.write(path), "fill failed");
    CHECK(read_all(path) == before);
    CHECK(count_files_starting_with(dir, base) == 1);
    std::remove(path.c_str());

    CHECK_THROWS_WITH(w.write("/nonexistent/dir/x.gguf"), Contains("/nonexistent/dir/x.gguf") && Contains("No such file"));
}
