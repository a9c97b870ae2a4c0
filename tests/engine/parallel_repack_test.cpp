// Weight::repacked splits the work over threads in chunks of 16-row groups (engine/arch/weight.cpp).
// These checks use matrices larger than one chunk, with a row count that is not a multiple of 16,
// and several experts, so chunk borders, the padded last group and expert offsets are all crossed.
#include <catch2/catch.hpp>

#include <cstring>
#include <random>
#include <vector>

#include "engine/arch/weight.h"
#include "quant/dequantize.h"
#include "quant/repack.h"

using namespace silica;

namespace {

// Random Q8_0 rows whose fp16 scales are finite (so dequantized values compare exactly).
std::vector<uint8_t> random_q8_0(int64_t rows, int64_t cols, std::mt19937& rng) {
    const size_t block_bytes = 34, blocks = static_cast<size_t>(rows * cols / 32);
    std::vector<uint8_t> bytes(blocks * block_bytes);
    std::uniform_int_distribution<int> byte(0, 255), mantissa(0, 1023), exponent(5, 20);
    for (size_t b = 0; b < blocks; ++b) {
        uint8_t* block = bytes.data() + b * block_bytes;
        const uint16_t d = static_cast<uint16_t>((byte(rng) & 1) << 15 | exponent(rng) << 10 | mantissa(rng));
        std::memcpy(block, &d, 2);
        for (int i = 0; i < 32; ++i) block[2 + i] = static_cast<uint8_t>(byte(rng));
    }
    return bytes;
}

}  // namespace

TEST_CASE("parallel repacking reads back every row of every expert", "[repack]") {
    std::mt19937 rng(5);
    const int64_t cols = 64, rows = 2 * 8192 + 37, n_expert = 2;
    const size_t row_stride = row_bytes(type_traits(TensorType::Q8_0), cols);
    const auto src = random_q8_0(rows * n_expert, cols, rng);
    const arch::Weight w = arch::Weight::repacked(kernels::Matrix{TensorType::Q8_0, rows, cols, src.data(), row_stride}, n_expert);
    REQUIRE(w.is_repacked());

    std::vector<float> expected(cols), got(cols);
    int64_t mismatched_rows = 0;
    for (int64_t e = 0; e < n_expert; ++e) {
        const arch::Weight one = w.expert(e);
        for (int64_t r = 0; r < rows; ++r) {
            dequantize_row(TensorType::Q8_0, src.data() + static_cast<size_t>(e * rows + r) * row_stride, expected.data(), cols);
            one.row(r, got.data());
            if (std::memcmp(expected.data(), got.data(), cols * sizeof(float)) != 0) ++mismatched_rows;
        }
    }
    CHECK(mismatched_rows == 0);
}

TEST_CASE("parallel repacking gives the bytes of one repack_x16 call", "[repack]") {
    // The multiply of a matrix that spans several chunks must equal that of the serially repacked
    // copy; compare them through a row each side of every chunk border and the padded tail.
    std::mt19937 rng(6);
    const int64_t cols = 96, rows = 3 * 8192 + 5;
    const size_t row_stride = row_bytes(type_traits(TensorType::Q8_0), cols);
    const auto src = random_q8_0(rows, cols, rng);
    const arch::Weight w = arch::Weight::repacked(kernels::Matrix{TensorType::Q8_0, rows, cols, src.data(), row_stride});
    std::vector<uint8_t> serial(repacked_bytes(TensorType::Q8_0, rows, cols));
    repack_x16(TensorType::Q8_0, src.data(), row_stride, rows, cols, serial.data());

    std::vector<uint8_t> from_serial(row_stride);
    std::vector<float> floats(cols);
    for (int64_t r : {int64_t{0}, int64_t{8191}, int64_t{8192}, int64_t{16383}, int64_t{16384}, int64_t{24575},
                      int64_t{24576}, rows - 1}) {
        unpack_row_x16(TensorType::Q8_0, serial.data(), rows, cols, r, from_serial.data());
        w.row(r, floats.data());
        std::vector<float> expected(cols);
        dequantize_row(TensorType::Q8_0, from_serial.data(), expected.data(), cols);
        INFO("row " << r);
        CHECK(std::memcmp(expected.data(), floats.data(), cols * sizeof(float)) == 0);
    }
}
