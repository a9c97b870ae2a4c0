// GGUF reader: metadata of every value type, tensors of several types and alignments, v2 files,
// and reading through mmap and through read().
#include <catch2/catch.hpp>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <random>

#include "engine/gguf/gguf.h"
#include "silica/error.h"
#include "tests/fuzz/gguf_bytes.h"

using namespace silica;
using namespace silica::gguf;
using silica::gguf::testing::Bytes;

namespace {

// Deep equality of two values (float NaN compares by bits).
bool same(const Value& a, const Value& b) {
    if (a.type() != b.type()) return false;
    if (a.type() == ValueType::ARRAY) {
        const Array& x = a.as_array();
        const Array& y = b.as_array();
        if (x.elem_type != y.elem_type || x.items.size() != y.items.size()) return false;
        for (size_t i = 0; i < x.items.size(); ++i)
            if (!same(x.items[i], y.items[i])) return false;
        return true;
    }
    if (a.type() == ValueType::FLOAT32) return std::memcmp(&std::get<float>(a.v), &std::get<float>(b.v), 4) == 0;
    if (a.type() == ValueType::FLOAT64) return std::memcmp(&std::get<double>(a.v), &std::get<double>(b.v), 8) == 0;
    return std::visit(
        [&](const auto& x) {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, Array>) {
                return false;  // handled above
            } else {
                return x == std::get<T>(b.v);
            }
        },
        a.v);
}

Value array_of(ValueType t, std::vector<Value> items) { return Value{Array{t, std::move(items)}}; }

std::string temp_path(const std::string& tag) {
    return (std::filesystem::temp_directory_path() /
            ("silica_gguf_" + tag + "_" + std::to_string(::getpid()) + ".gguf")).string();
}

std::vector<uint8_t> random_bytes(size_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::vector<uint8_t> out(n);
    for (auto& b : out) b = static_cast<uint8_t>(rng());
    return out;
}

// Every value type, including nested and empty arrays and empty strings.
std::vector<std::pair<std::string, Value>> all_value_kinds() {
    std::vector<std::pair<std::string, Value>> kv;
    kv.emplace_back("t.u8", Value{uint8_t{255}});
    kv.emplace_back("t.i8", Value{int8_t{-128}});
    kv.emplace_back("t.u16", Value{uint16_t{65535}});
    kv.emplace_back("t.i16", Value{int16_t{-32768}});
    kv.emplace_back("t.u32", Value{uint32_t{4000000000u}});
    kv.emplace_back("t.i32", Value{int32_t{-2000000000}});
    kv.emplace_back("t.f32", Value{3.25f});
    kv.emplace_back("t.f32_nan", Value{std::numeric_limits<float>::quiet_NaN()});
    kv.emplace_back("t.bool_true", Value{true});
    kv.emplace_back("t.bool_false", Value{false});
    kv.emplace_back("t.string", Value{std::string("héllo, wörld \xF0\x9F\x98\x80")});
    kv.emplace_back("t.string_empty", Value{std::string()});
    kv.emplace_back("t.string_nul", Value{std::string("a\0b", 3)});
    kv.emplace_back("t.u64", Value{std::numeric_limits<uint64_t>::max()});
    kv.emplace_back("t.i64", Value{std::numeric_limits<int64_t>::min()});
    kv.emplace_back("t.f64", Value{-1.0e300});
    kv.emplace_back("t.arr_u8", array_of(ValueType::UINT8, {Value{uint8_t{1}}, Value{uint8_t{2}}}));
    kv.emplace_back("t.arr_i8", array_of(ValueType::INT8, {Value{int8_t{-1}}}));
    kv.emplace_back("t.arr_u16", array_of(ValueType::UINT16, {Value{uint16_t{7}}}));
    kv.emplace_back("t.arr_i16", array_of(ValueType::INT16, {Value{int16_t{-7}}}));
    kv.emplace_back("t.arr_u32", array_of(ValueType::UINT32, {Value{uint32_t{1}}, Value{uint32_t{2}}, Value{uint32_t{3}}}));
    kv.emplace_back("t.arr_i32", array_of(ValueType::INT32, {Value{int32_t{-5}}, Value{int32_t{6}}}));
    kv.emplace_back("t.arr_f32", array_of(ValueType::FLOAT32, {Value{0.5f}, Value{-0.0f}}));
    kv.emplace_back("t.arr_bool", array_of(ValueType::BOOL, {Value{true}, Value{false}, Value{true}}));
    kv.emplace_back("t.arr_string", array_of(ValueType::STRING, {Value{std::string("x")}, Value{std::string()},
                                                                 Value{std::string("Ġt")}}));
    kv.emplace_back("t.arr_u64", array_of(ValueType::UINT64, {Value{uint64_t{1} << 63}}));
    kv.emplace_back("t.arr_i64", array_of(ValueType::INT64, {Value{int64_t{-1}}}));
    kv.emplace_back("t.arr_f64", array_of(ValueType::FLOAT64, {Value{1e-300}, Value{2.0}}));
    kv.emplace_back("t.arr_empty_u8", array_of(ValueType::UINT8, {}));
    kv.emplace_back("t.arr_empty_string", array_of(ValueType::STRING, {}));
    kv.emplace_back("t.arr_empty_array", array_of(ValueType::ARRAY, {}));
    kv.emplace_back("t.arr_nested",
                    array_of(ValueType::ARRAY, {array_of(ValueType::STRING, {Value{std::string("a")}}),
                                                array_of(ValueType::INT32, {}),
                                                array_of(ValueType::ARRAY, {array_of(ValueType::FLOAT64, {Value{4.0}})})}));
    kv.emplace_back("", Value{std::string("an empty key is legal")});
    return kv;
}

}  // namespace

TEST_CASE("gguf reader: every metadata value type round-trips", "[gguf]") {
    Writer w;
    auto kv = all_value_kinds();
    for (const auto& [k, v] : kv) w.set(k, v);
    std::vector<uint8_t> bytes = w.write_to_memory();
    File f = File::parse(bytes, "kinds.gguf");

    CHECK(f.version() == 3);
    CHECK(f.path() == "kinds.gguf");
    CHECK(f.file_size() == bytes.size());
    CHECK(f.alignment() == 32);
    CHECK(f.data_offset() % 32 == 0);
    CHECK(f.tensors().empty());
    REQUIRE(f.metadata().size() == kv.size());
    for (size_t i = 0; i < kv.size(); ++i) {
        INFO("key " << kv[i].first);
        CHECK(f.metadata()[i].first == kv[i].first);  // file order is kept
        CHECK(same(f.metadata()[i].second, kv[i].second));
        REQUIRE(f.find(kv[i].first) != nullptr);
        CHECK(same(*f.find(kv[i].first), kv[i].second));
    }
    CHECK(std::isnan(f.get_float("t.f32_nan", 0)));
    CHECK(f.find("absent") == nullptr);
    CHECK_FALSE(f.has("absent"));
    CHECK(f.has("t.u8"));
}

TEST_CASE("gguf reader: typed getters", "[gguf]") {
    Writer w;
    for (const auto& [k, v] : all_value_kinds()) w.set(k, v);
    std::vector<uint8_t> bytes = w.write_to_memory();
    File f = File::parse(bytes, "getters.gguf");

    CHECK(f.get_int("t.u8", 0) == 255);
    CHECK(f.get_int("t.i8", 0) == -128);
    CHECK(f.get_int("t.u32", 0) == 4000000000LL);
    CHECK(f.get_int("t.i64", 0) == std::numeric_limits<int64_t>::min());
    CHECK(f.get_int("absent", -9) == -9);
    CHECK(f.get_float("t.f32", 0) == 3.25);
    CHECK(f.get_float("t.u16", 0) == 65535.0);  // integers convert to floating point
    CHECK(f.get_float("absent", 1.5) == 1.5);
    CHECK(f.get_string("t.string", "") == "héllo, wörld \xF0\x9F\x98\x80");
    CHECK(f.get_string("t.string_nul", "").size() == 3);
    CHECK(f.get_string("absent", "fallback") == "fallback");
    CHECK(f.get_bool("t.bool_true", false) == true);
    CHECK(f.get_bool("t.bool_false", true) == false);
    CHECK(f.get_bool("absent", true) == true);
    CHECK(f.get_string_array("t.arr_string") == std::vector<std::string>{"x", "", "Ġt"});
    CHECK(f.get_string_array("t.arr_empty_string").empty());
    CHECK(f.get_int_array("t.arr_i32") == std::vector<int64_t>{-5, 6});
    CHECK(f.get_int_array("t.arr_u8") == std::vector<int64_t>{1, 2});
    CHECK(f.get_float_array("t.arr_f64") == std::vector<double>{1e-300, 2.0});
    CHECK(f.get_float_array("t.arr_u32") == std::vector<double>{1, 2, 3});
    CHECK_THROWS_AS(f.get_int_array("t.arr_u64"), Error);  // 2^63 does not fit in int64
    CHECK_THROWS_WITH(f.find("t.bool_true")->as_float(), "expected a number, got bool");  // bools are not numbers
}

TEST_CASE("gguf reader: tensors of several types and alignments", "[gguf]") {
    struct Spec {
        std::string name;
        TensorType type;
        std::vector<int64_t> dims;
    };
    const std::vector<Spec> specs = {
        {"f32.vector", TensorType::F32, {5}},
        {"f16.matrix", TensorType::F16, {3, 7}},
        {"bf16.3d", TensorType::BF16, {2, 3, 4}},
        {"q8_0.matrix", TensorType::Q8_0, {64, 3}},
        {"q4_k.matrix", TensorType::Q4_K, {256, 2}},
        {"mxfp4.4d", TensorType::MXFP4, {32, 2, 3, 2}},
        {"i32.vector", TensorType::I32, {1}},
        {"q6_k.row", TensorType::Q6_K, {512}},
    };
    for (uint32_t alignment : {32u, 64u, 1u, 4096u}) {
        DYNAMIC_SECTION("alignment " << alignment) {
            Writer w;
            w.set("general.architecture", "test");
            if (alignment != kDefaultAlignment) w.set_alignment(alignment);
            std::vector<std::vector<uint8_t>> contents;
            for (size_t i = 0; i < specs.size(); ++i) {
                TypeTraits t = type_traits(specs[i].type);
                int64_t rows = 1;
                for (size_t d = 1; d < specs[i].dims.size(); ++d) rows *= specs[i].dims[d];
                size_t n = row_bytes(t, specs[i].dims[0]) * static_cast<size_t>(rows);
                contents.push_back(random_bytes(n, static_cast<uint32_t>(i + 1)));
                w.add_tensor(specs[i].name, specs[i].type, specs[i].dims, contents.back());
            }
            std::vector<uint8_t> bytes = w.write_to_memory();
            File f = File::parse(bytes, "tensors.gguf");

            CHECK(f.alignment() == alignment);
            CHECK(f.data_offset() % alignment == 0);
            REQUIRE(f.tensors().size() == specs.size());
            for (size_t i = 0; i < specs.size(); ++i) {
                INFO(specs[i].name);
                const TensorInfo& t = f.tensors()[i];
                CHECK(f.tensor(specs[i].name) == &t);
                CHECK(t.name == specs[i].name);
                CHECK(t.type == specs[i].type);
                CHECK(t.n_dims == specs[i].dims.size());
                int64_t n_elements = 1;
                for (size_t d = 0; d < kMaxDims; ++d) {
                    int64_t expected = d < specs[i].dims.size() ? specs[i].dims[d] : 1;
                    CHECK(t.ne[d] == expected);
                    n_elements *= expected;
                }
                CHECK(t.n_elements() == n_elements);
                CHECK(t.offset % alignment == 0);
                CHECK(t.nbytes == contents[i].size());
                CHECK(t.data == f.bytes() + f.data_offset() + t.offset);
                CHECK(t.data == bytes.data() + f.data_offset() + t.offset);  // zero-copy view
                CHECK(std::vector<uint8_t>(t.data, t.data + t.nbytes) == contents[i]);
            }
            CHECK(f.tensor("absent") == nullptr);
        }
    }
}

TEST_CASE("gguf reader: hand-built v2 file", "[gguf]") {
    // Version 2 has the same layout as version 3 (64-bit counts and lengths).
    Bytes b;
    b.header(2, 2, 3)
        .kv_str("general.architecture", "gpt2")
        .kv_u32("general.alignment", 64)
        .key("tokenizer.ggml.tokens", 9).u32(8).u64(2).str("a").str("bc")
        .tensor_info("token_embd.weight", {4, 2}, 0, 0)
        .tensor_info("output_norm.bias", {4}, 0, 64)
        .pad_to(64);
    const size_t data_start = b.size();
    for (int i = 0; i < 8; ++i) b.scalar<float>(static_cast<float>(i));
    b.pad_to(64);
    for (int i = 0; i < 4; ++i) b.scalar<float>(-static_cast<float>(i));

    File f = File::parse(b.data, "v2.gguf");
    CHECK(f.version() == 2);
    CHECK(f.alignment() == 64);
    CHECK(f.data_offset() == data_start);
    CHECK(f.get_string("general.architecture", "") == "gpt2");
    CHECK(f.get_string_array("tokenizer.ggml.tokens") == std::vector<std::string>{"a", "bc"});
    const TensorInfo* e = f.tensor("token_embd.weight");
    REQUIRE(e);
    CHECK(e->ne[0] == 4);
    CHECK(e->ne[1] == 2);
    CHECK(e->nbytes == 32);
    float x[8];
    std::memcpy(x, e->data, sizeof x);
    CHECK(x[7] == 7.0f);
    const TensorInfo* n = f.tensor("output_norm.bias");
    REQUIRE(n);
    std::memcpy(x, n->data, 16);
    CHECK(x[3] == -3.0f);
}

TEST_CASE("gguf reader: a file without tensors need not be padded", "[gguf]") {
    // llama.cpp's vocabulary-only files end right after the metadata.
    Bytes b;
    b.header(3, 0, 1).kv_str("general.architecture", "gpt2");
    File f = File::parse(b.data, "vocab.gguf");
    CHECK(f.tensors().empty());
    CHECK(f.data_offset() >= f.file_size());
}

TEST_CASE("gguf reader: open() through mmap and through read()", "[gguf]") {
    Writer w;
    w.set("general.architecture", "test");
    w.set_strings("names", {"one", "two"});
    std::vector<uint8_t> payload = random_bytes(3 * 4096 * 4, 7);
    w.add_tensor("big", TensorType::F32, {4096, 3}, payload);
    w.add_tensor("small", TensorType::Q8_0, {32}, random_bytes(34, 8));
    const std::string path = temp_path("reader");
    w.write(path);

    for (bool use_mmap : {true, false}) {
        DYNAMIC_SECTION("use_mmap " << use_mmap) {
            File f = File::open(path, {.use_mmap = use_mmap});
            CHECK(f.path() == path);
            CHECK(f.file_size() == std::filesystem::file_size(path));
            CHECK(f.get_string_array("names") == std::vector<std::string>{"one", "two"});
            const TensorInfo* big = f.tensor("big");
            REQUIRE(big);
            CHECK(reinterpret_cast<uintptr_t>(f.bytes()) % 4096 == 0);  // page-aligned either way
            CHECK(std::vector<uint8_t>(big->data, big->data + big->nbytes) == payload);
            CHECK(f.read_into_page_cache(0, f.file_size()) == (use_mmap ? f.file_size() : 0));
            // Moving the File keeps the views valid.
            File g = std::move(f);
            CHECK(g.tensor("big")->data == big->data);
            CHECK(std::vector<uint8_t>(big->data, big->data + big->nbytes) == payload);
            // Releasing the pages of a mapping keeps its contents readable (re-read from the file).
            if (use_mmap) {
                g.release_pages(g.data_offset() + big->offset, big->nbytes);
                CHECK(std::vector<uint8_t>(big->data, big->data + big->nbytes) == payload);
            }
        }
    }
    std::remove(path.c_str());
}
