// The AMX x16 GEMM (kernels/matmul_amx.h; Q8_0, Q4_0, MXFP4) must give exactly
// the AVX-512 kernel's outputs: same integer block sums, same float operations.
// Checked bit for bit, with AMX on and off, for batches that are and are not
// multiples of 16 (a last partial chunk is padded with zero rows), odd and even
// block counts, partial 16-row groups and split row ranges; and each output row
// equals that activation row multiplied alone (m = 1, the decode GEMV).
#include <catch2/catch.hpp>
#include <cstring>
#include <random>
#include <vector>

#include "kernels/amx.h"
#include "kernels/isa.h"
#include "kernels/matmul.h"
#include "kernels/matmul_repacked.h"
#include "quant/repack.h"
#include "tests/kernel_switches.h"

using namespace silica;
using namespace silica::kernels;

namespace {

// Random rows of a repackable type: normal fp16 scales of both signs (Q8_0,
// Q4_0); MXFP4 exponents over a wide range including 0 and 1 (subnormal
// scales).
std::vector<uint8_t> random_rows(TensorType t, int64_t rows, int64_t cols, std::mt19937& rng) {
    const TypeTraits tr = type_traits(t);
    const size_t rb = row_bytes(tr, cols);
    std::vector<uint8_t> data(rb * rows);
    std::uniform_int_distribution<int> byte(0, 255);
    for (auto& b : data) b = static_cast<uint8_t>(byte(rng));
    for (int64_t r = 0; r < rows; ++r)
        for (int64_t b = 0; b < cols / 32; ++b) {
            uint8_t* p = data.data() + r * rb + b * tr.block_bytes;
            if (t == TensorType::MXFP4) {
                p[0] = static_cast<uint8_t>(byte(rng) % 8 == 0 ? byte(rng) % 2
                                                               : std::uniform_int_distribution<int>(110, 135)(rng));
            } else {
                const uint16_t h =
                    static_cast<uint16_t>((byte(rng) & 1) << 15 | std::uniform_int_distribution<int>(5, 14)(rng) << 10 |
                                          std::uniform_int_distribution<int>(0, 1023)(rng));
                std::memcpy(p, &h, 2);
            }
        }
    return data;
}

}  // namespace

TEST_CASE("AMX x16 GEMM equals the AVX-512 kernel bit for bit", "[kernels][amx]") {
    if (detected_isa() < Isa::avx512 || !detected_amx_int8()) {
        WARN("AMX-INT8 not available here: nothing to compare");
        return;
    }
    test::KernelDefaultsOnExit guard;
    set_isa_for_testing(Isa::avx512);
    std::mt19937 rng(77);
    for (TensorType t : {TensorType::Q8_0, TensorType::Q4_0, TensorType::MXFP4})
        for (int64_t m : {13, 16, 17, 32, 47, 64}) {
            const int64_t rows = std::uniform_int_distribution<int64_t>(1, 70)(rng);
            const int64_t cols = 32 * std::uniform_int_distribution<int64_t>(1, 13)(rng);
            const size_t rb = row_bytes(type_traits(t), cols);
            const std::vector<uint8_t> src = random_rows(t, rows, cols, rng);
            std::vector<uint8_t> packed(repacked_bytes(t, rows, cols));
            repack_x16(t, src.data(), rb, rows, cols, packed.data());
            const RepackedMatrix w{t, rows, cols, packed.data()};
            std::vector<float> xf(m * cols);
            std::normal_distribution<float> normal(0.0f, 1.0f);
            for (auto& v : xf) v = normal(rng);
            Activations x;  // prepared with AMX on: with AMX tiles
            x.prepare(t, xf.data(), m, cols);
            REQUIRE(x.q8_tiles() != nullptr);
            set_amx_for_testing(false);
            Activations x_no_tiles;  // prepared with AMX off: the kernel makes its own tiles
            x_no_tiles.prepare(t, xf.data(), m, cols);
            REQUIRE(x_no_tiles.q8_tiles() == nullptr);
            INFO(type_traits(t).name << " m " << m << " rows " << rows << " cols " << cols);

            set_amx_for_testing(false);
            std::vector<float> plain(m * rows, std::nanf(""));
            matmul(w, x, plain.data(), rows, 0, rows);
            set_amx_for_testing(true);
            REQUIRE(active_amx_int8());
            std::vector<float> amx(m * rows, std::nanf(""));
            matmul(w, x, amx.data(), rows, 0, rows);
            REQUIRE(std::memcmp(amx.data(), plain.data(), amx.size() * sizeof(float)) == 0);
            std::vector<float> amx_own_tiles(m * rows, std::nanf(""));
            matmul(w, x_no_tiles, amx_own_tiles.data(), rows, 0, rows);
            REQUIRE(std::memcmp(amx_own_tiles.data(), plain.data(), amx.size() * sizeof(float)) == 0);

            // Split row ranges (partial groups at both ends of a range).
            const int64_t cut = std::uniform_int_distribution<int64_t>(0, rows)(rng);
            std::vector<float> split(m * rows, std::nanf(""));
            matmul(w, x, split.data(), rows, 0, cut);
            matmul(w, x, split.data(), rows, cut, rows);
            REQUIRE(std::memcmp(split.data(), plain.data(), split.size() * sizeof(float)) == 0);

            // Each row alone (the decode path) gives the same numbers.
            for (int64_t i : {int64_t{0}, m / 2, m - 1}) {
                Activations one;
                one.prepare(t, xf.data() + i * cols, 1, cols);
                std::vector<float> y1(rows, std::nanf(""));
                matmul(w, one, y1.data(), rows, 0, rows);
                INFO("row " << i);
                REQUIRE(std::memcmp(y1.data(), plain.data() + i * rows, rows * sizeof(float)) == 0);
            }
        }
}

TEST_CASE("AMX can be switched off for tests and ablations", "[kernels][amx]") {
    test::KernelDefaultsOnExit guard;
    set_amx_for_testing(false);
    CHECK_FALSE(active_amx_int8());
    set_amx_for_testing(true);
    CHECK(active_amx_int8() == detected_amx_int8());
}
