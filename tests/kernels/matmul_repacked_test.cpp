// The row-interleaved x16 layout (quant/repack.h) and its matmul (kernels/matmul_repacked.h):
//  * repack then unpack restores the GGUF bytes exactly, for row counts that are not multiples
//    of 16 and padded row strides;
//  * matmul on the repacked matrix matches matmul_reference_int8 on the original at every ISA
//    (the same integer block sums; float tolerance 1e-5 * sum over blocks of |d_w d_x isum|);
//  * any split of the row range gives bit-identical outputs;
//  * bad inputs throw silica::Error.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "include/silica/error.h"
#include "kernels/isa.h"
#include "kernels/matmul.h"
#include "kernels/matmul_ref.h"
#include "kernels/matmul_repacked.h"
#include "quant/repack.h"

using namespace silica;
using namespace silica::kernels;

namespace {

// Random valid GGUF rows, `stride` bytes apart. MXFP4 exponents include 0 and 1 (subnormal
// scales; a quarter of the rows have only those) and a wide normal range.
std::vector<uint8_t> random_rows(TensorType t, int64_t rows, int64_t cols, size_t stride, std::mt19937& rng) {
    std::vector<uint8_t> data(stride * rows);
    std::uniform_int_distribution<int> byte(0, 255);
    for (auto& b : data) b = static_cast<uint8_t>(byte(rng));
    const int64_t bb = type_traits(t).block_bytes;
    for (int64_t r = 0; r < rows; ++r) {
        const bool tiny_row = std::uniform_int_distribution<int>(0, 3)(rng) == 0;  // MXFP4: all scales subnormal
        for (int64_t b = 0; b < cols / 32; ++b) {
            uint8_t* p = data.data() + r * stride + b * bb;
            if (t == TensorType::Q4_0 || t == TensorType::Q8_0) {
                const uint16_t h = static_cast<uint16_t>((byte(rng) & 1) << 15 | std::uniform_int_distribution<int>(5, 10)(rng) << 10 |
                                                         std::uniform_int_distribution<int>(0, 1023)(rng));
                std::memcpy(p, &h, 2);
            } else {
                const int pick = std::uniform_int_distribution<int>(0, 9)(rng);
                p[0] = static_cast<uint8_t>(pick == 0 || tiny_row ? byte(rng) % 2
                                                                 : std::uniform_int_distribution<int>(110, 135)(rng));
            }
        }
    }
    return data;
}

std::vector<float> random_x(int64_t m, int64_t k, std::mt19937& rng) {
    std::vector<float> x(m * k);
    std::uniform_real_distribution<float> uni(-1.0f, 1.0f);
    for (auto& v : x) v = uni(rng);
    return x;
}

struct IsaGuard {
    ~IsaGuard() { reset_isa_for_testing(); }
};

const TensorType kTypes[] = {TensorType::Q4_0, TensorType::MXFP4, TensorType::Q8_0};

}  // namespace

TEST_CASE("x16 repacking is lossless", "[repack]") {
    std::mt19937 rng(11);
    for (TensorType t : kTypes) {
        REQUIRE(can_repack_x16(t));
        for (int trial = 0; trial < 6; ++trial) {
            const int64_t rows = std::uniform_int_distribution<int64_t>(1, 40)(rng);
            const int64_t cols = 32 * std::uniform_int_distribution<int64_t>(1, 10)(rng);
            const size_t rb = row_bytes(type_traits(t), cols);
            const size_t stride = rb + std::uniform_int_distribution<size_t>(0, 5)(rng);
            const std::vector<uint8_t> src = random_rows(t, rows, cols, stride, rng);
            std::vector<uint8_t> packed(repacked_bytes(t, rows, cols), 0xAB);
            REQUIRE(repacked_group_bytes(t, cols) % 64 == 0);
            REQUIRE(packed.size() == static_cast<size_t>((rows + 15) / 16) * repacked_group_bytes(t, cols));
            repack_x16(t, src.data(), stride, rows, cols, packed.data());
            std::vector<uint8_t> row(rb);
            for (int64_t r = 0; r < rows; ++r) {
                unpack_row_x16(t, packed.data(), rows, cols, r, row.data());
                INFO(type_traits(t).name << " rows " << rows << " cols " << cols << " r " << r);
                REQUIRE(std::memcmp(row.data(), src.data() + r * stride, rb) == 0);
            }
        }
    }
}

TEST_CASE("repacked matmul matches the int8 reference of the GGUF matrix at every ISA", "[repack]") {
    IsaGuard guard;
    std::mt19937 rng(21);
    for (TensorType t : kTypes)
        for (int64_t m : {1, 2, 3, 4, 5, 9}) {
            const int64_t rows = std::uniform_int_distribution<int64_t>(1, 70)(rng);
            const int64_t cols = 32 * std::uniform_int_distribution<int64_t>(1, 12)(rng);
            const size_t rb = row_bytes(type_traits(t), cols);
            const std::vector<uint8_t> src = random_rows(t, rows, cols, rb, rng);
            std::vector<uint8_t> packed(repacked_bytes(t, rows, cols));
            repack_x16(t, src.data(), rb, rows, cols, packed.data());
            const Matrix gguf{t, rows, cols, src.data(), rb};
            const RepackedMatrix rp{t, rows, cols, packed.data()};
            const std::vector<float> xf = random_x(m, cols, rng);
            Activations x;
            x.prepare(t, xf.data(), m, cols);
            std::vector<float> ref(m * rows);
            matmul_reference_int8(gguf, x, ref.data(), rows, 0, rows);
            for (int isa = 0; isa <= static_cast<int>(detected_isa()); ++isa) {
                set_isa_for_testing(static_cast<Isa>(isa));
                INFO(type_traits(t).name << " isa " << isa << " rows " << rows << " cols " << cols << " m " << m);
                REQUIRE(repacked_kernel_available(t) == (static_cast<Isa>(isa) != Isa::scalar));
                std::vector<float> y(m * rows, std::nanf(""));
                matmul(rp, x, y.data(), rows, 0, rows);
                const int64_t nb = cols / 32;
                for (int64_t i = 0; i < m; ++i)
                    for (int64_t r = 0; r < rows; ++r) {
                        double mag = 0;
                        DecodedBlockQ8 wb;
                        for (int64_t b = 0; b < nb; ++b) {
                            decode_block_int8(t, src.data() + r * rb, b, wb);
                            const ActBlockQ8& xb = x.q8()[i * nb + b];
                            int32_t isum = 0;
                            for (int j = 0; j < 32; ++j) isum += wb.q[j] * xb.qs[j];
                            mag += std::fabs(static_cast<double>(wb.d) * xb.d * isum);
                        }
                        INFO("i " << i << " r " << r << " got " << y[i * rows + r] << " ref " << ref[i * rows + r]);
                        // (absolute term: a few dozen float subnormal steps, for rows of subnormal scales)
                        REQUIRE(std::fabs(y[i * rows + r] - ref[i * rows + r]) <= 1e-5 * mag + 1e-43);
                    }
            }
        }
}

TEST_CASE("repacked matmul output does not depend on how rows are split", "[repack]") {
    IsaGuard guard;
    std::mt19937 rng(31);
    for (TensorType t : kTypes)
        for (int64_t m : {1, 3, 6}) {
            const int64_t rows = std::uniform_int_distribution<int64_t>(17, 75)(rng);
            const int64_t cols = 32 * std::uniform_int_distribution<int64_t>(1, 6)(rng);
            const size_t rb = row_bytes(type_traits(t), cols);
            const std::vector<uint8_t> src = random_rows(t, rows, cols, rb, rng);
            std::vector<uint8_t> packed(repacked_bytes(t, rows, cols));
            repack_x16(t, src.data(), rb, rows, cols, packed.data());
            const RepackedMatrix rp{t, rows, cols, packed.data()};
            const std::vector<float> xf = random_x(m, cols, rng);
            Activations x;
            x.prepare(t, xf.data(), m, cols);
            for (int isa = 0; isa <= static_cast<int>(detected_isa()); ++isa) {
                set_isa_for_testing(static_cast<Isa>(isa));
                std::vector<float> whole(m * rows, std::nanf(""));
                matmul(rp, x, whole.data(), rows, 0, rows);
                for (int trial = 0; trial < 4; ++trial) {
                    int64_t a = std::uniform_int_distribution<int64_t>(0, rows)(rng);
                    int64_t b = std::uniform_int_distribution<int64_t>(0, rows)(rng);
                    if (a > b) std::swap(a, b);
                    std::vector<float> y(m * rows, std::nanf(""));
                    matmul(rp, x, y.data(), rows, 0, a);
                    matmul(rp, x, y.data(), rows, a, b);
                    for (int64_t r = b; r < rows; ++r) matmul(rp, x, y.data(), rows, r, r + 1);
                    INFO(type_traits(t).name << " isa " << isa << " split " << a << " " << b);
                    REQUIRE(std::memcmp(y.data(), whole.data(), y.size() * sizeof(float)) == 0);
                }
            }
        }
}

TEST_CASE("a row view of a repacked stack equals the repacked part", "[repack]") {
    std::mt19937 rng(41);
    for (TensorType t : kTypes) {
        const int64_t per = 32, experts = 3, cols = 96;  // 3 "experts" of 32 rows
        const size_t rb = row_bytes(type_traits(t), cols);
        const std::vector<uint8_t> src = random_rows(t, per * experts, cols, rb, rng);
        std::vector<uint8_t> stack(repacked_bytes(t, per * experts, cols)), one(repacked_bytes(t, per, cols));
        repack_x16(t, src.data(), rb, per * experts, cols, stack.data());
        const RepackedMatrix all{t, per * experts, cols, stack.data()};
        for (int64_t e = 0; e < experts; ++e) {
            repack_x16(t, src.data() + e * per * rb, rb, per, cols, one.data());
            const RepackedMatrix view = repacked_rows(all, e * per, per);
            REQUIRE(view.rows == per);
            REQUIRE(std::memcmp(view.data, one.data(), one.size()) == 0);
        }
        CHECK_THROWS_AS(repacked_rows(all, 8, 16), silica::Error);
        CHECK_THROWS_AS(repacked_rows(all, 64, 64), silica::Error);
    }
}

TEST_CASE("repacking and repacked matmul reject bad inputs", "[repack]") {
    std::vector<uint8_t> buf(4096);
    CHECK_FALSE(can_repack_x16(TensorType::Q4_1));
    CHECK_THROWS_AS(repacked_bytes(TensorType::Q5_0, 4, 64), silica::Error);
    CHECK_THROWS_AS(repacked_bytes(TensorType::Q4_0, 4, 40), silica::Error);
    CHECK_THROWS_AS(repack_x16(TensorType::Q4_K, buf.data(), 144, 1, 256, buf.data()), silica::Error);
    CHECK_THROWS_AS(unpack_row_x16(TensorType::Q4_0, buf.data(), 4, 64, 4, buf.data()), silica::Error);
    std::vector<float> xf(64, 0.5f), y(8);
    Activations x;
    x.prepare(TensorType::Q4_0, xf.data(), 1, 64);
    RepackedMatrix w{TensorType::Q4_0, 4, 64, buf.data()};
    CHECK_THROWS_AS(matmul(w, x, y.data(), 4, 0, 5), silica::Error);
    w.type = TensorType::MXFP4;  // activations prepared for another type
    CHECK_THROWS_AS(matmul(w, x, y.data(), 4, 0, 4), silica::Error);
    w.type = TensorType::Q4_1;
    CHECK_THROWS_AS(matmul(w, x, y.data(), 4, 0, 4), silica::Error);
}
