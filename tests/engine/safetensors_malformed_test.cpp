// Every kind of malformed safetensors file must become a silica::Error naming the file, the tensor
// at fault and the problem, in one line.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>

#include "engine/safetensors/checkpoint.h"
#include "engine/safetensors/safetensors.h"
#include "silica/error.h"
#include "tests/fuzz/safetensors_bytes.h"

using namespace silica;
using namespace silica::safetensors;
using namespace silica::safetensors::testing;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

std::string parse_error(const std::vector<uint8_t>& bytes) {
    try {
        File::parse(bytes, "bad.safetensors");
    } catch (const Error& e) {
        return e.what();
    }
    FAIL("parsing succeeded but should have failed");
    return {};
}

void check_error(const std::vector<uint8_t>& bytes, const std::string& expected) {
    const std::string msg = parse_error(bytes);
    INFO(msg);
    CHECK_THAT(msg, StartsWith("bad.safetensors: "));
    CHECK_THAT(msg, Contains(expected));
    CHECK(msg.find('\n') == std::string::npos);
}

// A header with one tensor entry and `data_bytes` zero bytes of data.
std::vector<uint8_t> one_tensor(std::string_view dtype, const std::vector<int64_t>& shape, uint64_t begin, uint64_t end,
                                size_t data_bytes) {
    return file_bytes(object({entry("w", dtype, shape, begin, end)}), std::vector<uint8_t>(data_bytes, 0));
}

std::vector<uint8_t> f32_bytes(std::initializer_list<float> xs) {
    std::vector<uint8_t> b(xs.size() * 4);
    std::memcpy(b.data(), std::data(xs), b.size());
    return b;
}

}  // namespace

TEST_CASE("safetensors: a valid file gives its tensors and metadata", "[safetensors]") {
    const auto bytes = build({{"a", "F32", {2, 2}, f32_bytes({1, 2, 3, 4})},
                              {"b", "F16", {3}, std::vector<uint8_t>(6, 0)},
                              {"empty", "BF16", {0, 5}, {}}},
                             R"({"format":"pt"})");
    const File f = File::parse(bytes, "ok.safetensors");
    REQUIRE(f.tensors().size() == 3);
    CHECK(f.tensors()[0].name == "a");  // header order
    CHECK(f.tensors()[1].name == "b");
    const TensorInfo* a = f.tensor("a");
    REQUIRE(a);
    CHECK(a->dtype == DType::F32);
    CHECK(a->shape == std::vector<int64_t>{2, 2});
    CHECK(a->n_elements() == 4);
    float x[4];
    std::memcpy(x, a->data, 16);
    CHECK(x[3] == 4.0f);
    CHECK(f.tensor("b")->dtype == DType::F16);
    CHECK(f.tensor("empty")->nbytes() == 0);
    CHECK(f.tensor("missing") == nullptr);
    REQUIRE(f.metadata().size() == 1);
    CHECK(f.metadata()[0] == std::pair<std::string, std::string>{"format", "pt"});
}

TEST_CASE("safetensors malformed: header length", "[safetensors]") {
    check_error({}, "not a safetensors file (only 0 bytes long)");
    check_error({1, 2, 3}, "only 3 bytes long");
    check_error(file_bytes("{}", {}, 1000), "header length 1000 extends beyond the end of the file (10 bytes");
    check_error(file_bytes("{}", {}, ~uint64_t{0}), "extends beyond the end of the file");
    // Bounded by the cap even when the file is long enough.
    std::vector<uint8_t> big(8 + kMaxHeaderBytes + 1, ' ');
    const uint64_t too_long = kMaxHeaderBytes + 1;
    std::memcpy(big.data(), &too_long, 8);
    check_error(big, "is larger than the 100 MiB");
}

TEST_CASE("safetensors malformed: header JSON", "[safetensors]") {
    check_error(file_bytes("not json", {}), "header is not valid JSON");
    check_error(file_bytes("{\"a\":", {}), "header is not valid JSON");
    check_error(file_bytes("{\"a\n\x01\":1", {}), "header is not valid JSON");  // control bytes stay on one line
    check_error(file_bytes("[1,2]", {}), "header is not a JSON object (got array)");
    check_error(file_bytes("42", {}), "header is not a JSON object (got number)");
    check_error(file_bytes(object({entry("w", "F32", {1}, 0, 4), entry("w", "F32", {1}, 4, 8)}),
                           std::vector<uint8_t>(8)),
                "header names 'w' twice");
    check_error(file_bytes(R"({"__metadata__":[1]})", {}), "\"__metadata__\" must be an object of strings");
    check_error(file_bytes(R"({"__metadata__":{"k":1}})", {}), "\"__metadata__\" entry 'k' must be a string");
}

TEST_CASE("safetensors malformed: tensor entries", "[safetensors]") {
    check_error(file_bytes(R"({"w":[1]})", {}), "tensor 'w': entry must be an object");
    check_error(file_bytes(R"({"w":{"shape":[1],"data_offsets":[0,4]}})", std::vector<uint8_t>(4)),
                "tensor 'w': missing \"dtype\"");
    check_error(file_bytes(R"({"w":{"dtype":"F32","data_offsets":[0,4]}})", std::vector<uint8_t>(4)),
                "tensor 'w': missing \"shape\"");
    check_error(file_bytes(R"({"w":{"dtype":"F32","shape":[1]}})", std::vector<uint8_t>(4)),
                "tensor 'w': missing \"data_offsets\"");
    check_error(one_tensor("I64", {1}, 0, 8, 8), "tensor 'w': dtype I64 is not supported (only F32, F16, BF16)");
    check_error(one_tensor("F8_E4M3", {1}, 0, 1, 1), "dtype F8_E4M3 is not supported");
    check_error(file_bytes(R"({"w":{"dtype":7,"shape":[1],"data_offsets":[0,4]}})", std::vector<uint8_t>(4)),
                "tensor 'w': dtype must be a string");
    check_error(file_bytes(R"({"w":{"dtype":"F32","shape":3,"data_offsets":[0,4]}})", std::vector<uint8_t>(4)),
                "tensor 'w': shape must be an array");
}

TEST_CASE("safetensors malformed: shapes", "[safetensors]") {
    check_error(one_tensor("F32", {-1}, 0, 4, 4), "tensor 'w': shape entry #0 is -1 (must be a non-negative integer)");
    check_error(file_bytes(R"({"w":{"dtype":"F32","shape":[2,1.5],"data_offsets":[0,4]}})", std::vector<uint8_t>(4)),
                "shape entry #1 is 1.5");
    check_error(file_bytes(R"({"w":{"dtype":"F32","shape":["2"],"data_offsets":[0,4]}})", std::vector<uint8_t>(4)),
                "shape entry #0 is \"2\"");
    check_error(file_bytes(R"({"w":{"dtype":"F32","shape":[18446744073709551615],"data_offsets":[0,4]}})",
                           std::vector<uint8_t>(4)),
                "shape entry #0 is 18446744073709551615");
    check_error(one_tensor("F32", {int64_t{1} << 40, int64_t{1} << 40}, 0, 4, 4), "element count that overflows");
    check_error(one_tensor("F32", {int64_t{1} << 62}, 0, 4, 4), "byte size that overflows");
}

TEST_CASE("safetensors malformed: offsets and sizes", "[safetensors]") {
    check_error(one_tensor("F32", {2}, 0, 8, 4), "tensor 'w': data_offsets [0, 8] extend beyond the data section (4 bytes");
    check_error(one_tensor("F32", {1}, 8, 4, 16), "tensor 'w': data_offsets [8, 4] end before they begin");
    check_error(one_tensor("F32", {3}, 0, 8, 16), "tensor 'w': size mismatch: shape [3] of F32 is 12 bytes but data_offsets span 8");
    check_error(one_tensor("F16", {2, 2}, 0, 16, 16), "size mismatch: shape [2, 2] of F16 is 8 bytes");
    check_error(file_bytes(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0]}})", std::vector<uint8_t>(4)),
                "tensor 'w': data_offsets must be two non-negative integers");
    check_error(file_bytes(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}})", std::vector<uint8_t>(4)),
                "data_offsets must be two non-negative integers");
    // A truncated file: the last tensor's data is cut off.
    auto truncated = build({{"a", "F32", {2}, f32_bytes({1, 2})}, {"b", "F32", {4}, f32_bytes({1, 2, 3, 4})}});
    truncated.erase(truncated.end() - 3, truncated.end());
    check_error(truncated, "tensor 'b': data_offsets [8, 24] extend beyond the data section (21 bytes; truncated file?)");
}

TEST_CASE("safetensors malformed: overlapping tensors", "[safetensors]") {
    check_error(file_bytes(object({entry("a", "F32", {2}, 0, 8), entry("b", "F32", {2}, 4, 12)}),
                           std::vector<uint8_t>(12)),
                "tensor 'b': overlaps tensor 'a' (bytes [4, 12) and [0, 8)");
    // Containment, listed in the other order.
    check_error(file_bytes(object({entry("inner", "F32", {1}, 4, 8), entry("outer", "F32", {4}, 0, 16)}),
                           std::vector<uint8_t>(16)),
                "overlaps tensor");
    // Touching is fine, and an empty tensor overlaps nothing.
    CHECK_NOTHROW(File::parse(file_bytes(object({entry("a", "F32", {1}, 0, 4), entry("b", "F32", {1}, 4, 8),
                                                 entry("e", "F32", {0}, 2, 2)}),
                                         std::vector<uint8_t>(8)),
                              "ok.safetensors"));
}

TEST_CASE("safetensors: files on disk and sharded checkpoints", "[safetensors]") {
    namespace fs = std::filesystem;
    const fs::path dir = fs::temp_directory_path() / ("silica-safetensors-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    const std::string missing = (dir / "none.safetensors").string();
    CHECK_THROWS_WITH(File::open(missing), StartsWith(missing));

    write_file((dir / "bad.safetensors").string(), file_bytes("{", {}));
    CHECK_THROWS_WITH(File::open((dir / "bad.safetensors").string()),
                      StartsWith((dir / "bad.safetensors").string() + ": header is not valid JSON"));

    CHECK_THROWS_WITH(Checkpoint::open(dir.string()), Contains("no model.safetensors or model.safetensors.index.json"));
    write_file((dir / "a.safetensors").string(), build({{"x", "F32", {1}, f32_bytes({1})}}));
    write_file((dir / "b.safetensors").string(), build({{"y", "F32", {1}, f32_bytes({2})}}));
    write_file((dir / "model.safetensors.index.json").string(),
               std::vector<uint8_t>{'{', '}'});
    CHECK_THROWS_WITH(Checkpoint::open(dir.string()), Contains("expected an object with a \"weight_map\""));
    const std::string index = R"({"metadata":{},"weight_map":{"x":"a.safetensors","y":"b.safetensors"}})";
    write_file((dir / "model.safetensors.index.json").string(), std::vector<uint8_t>(index.begin(), index.end()));
    const Checkpoint c = Checkpoint::open(dir.string());
    REQUIRE(c.tensors().size() == 2);
    REQUIRE(c.find("y"));
    float y;
    std::memcpy(&y, c.find("y")->info->data, 4);
    CHECK(y == 2.0f);

    const std::string wrong = R"({"weight_map":{"x":"b.safetensors","y":"b.safetensors"}})";
    write_file((dir / "model.safetensors.index.json").string(), std::vector<uint8_t>(wrong.begin(), wrong.end()));
    CHECK_THROWS_WITH(Checkpoint::open(dir.string()), Contains("tensor 'x' is not in its shard"));
    const std::string escape = R"({"weight_map":{"x":"../a.safetensors"}})";
    write_file((dir / "model.safetensors.index.json").string(), std::vector<uint8_t>(escape.begin(), escape.end()));
    CHECK_THROWS_WITH(Checkpoint::open(dir.string()), Contains("must be a file name in the same directory"));
    fs::remove_all(dir);
}
