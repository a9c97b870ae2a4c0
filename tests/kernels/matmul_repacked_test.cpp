// The row-interleaved x16 layout (quant/repack.h) and its matmul (kernels/matmul_repacked.h):
//  * repack then unpack restores the GGUF bytes exactly, for row counts that are not multiples
//    of 16 and padded row strides;
//  * matmul on the repacked matrix matches matmul_reference_int8 on the original at every ISA (Q4_K,
//    Q6_K: x16 kernels at AVX-512 only, the reference elsewhere)
//    (the same integer block sums; float tolerance 1e-5 * sum over blocks of |d_w d_x isum|);
//  * any split of the row range, and any batch size, gives bit-identical outputs;
//  * bad inputs throw silica::Error;
//  * the same for F16 panels (lossless, the documented byte positions, the float reference within
//    the rounding bound of a k-term sum, masked stores at the ends of a row range, bit-identical
//    for any row split and for any batch size).
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "include/silica/error.h"
#include "kernels/amx.h"
#include "kernels/cpu_family.h"
#include "kernels/isa.h"
#include "kernels/matmul.h"
#include "kernels/matmul_f16_amx.h"
#include "kernels/matmul_ref.h"
#include "kernels/matmul_repacked.h"
#include "kernels/prefetch.h"
#include "quant/fp16.h"
#include "quant/repack.h"
#include "tests/kernel_switches.h"

using namespace silica;
using namespace silica::kernels;

namespace {

bool is_kquant(TensorType t) { return t == TensorType::Q4_K || t == TensorType::Q6_K; }

// A random column count of 1..max_blocks 32-element blocks (K types: 1 or 2 super-blocks).
int64_t random_cols(TensorType t, int64_t max_blocks, std::mt19937& rng) {
    if (is_kquant(t)) return 256 * std::uniform_int_distribution<int64_t>(1, 2)(rng);
    return 32 * std::uniform_int_distribution<int64_t>(1, max_blocks)(rng);
}

// Whether the ISA has an x16 kernel for t (K types: AVX-512 only).
bool has_x16_kernel(TensorType t, Isa isa) { return is_kquant(t) ? isa == Isa::avx512 : isa != Isa::scalar; }

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
            // (K types: bb is a super-block's bytes; its header is set at its first block)
            uint8_t* p = data.data() + r * stride + (is_kquant(t) ? (b / 8) * bb : b * bb);
            if (is_kquant(t)) {
                if (b % 8 != 0) continue;
                // finite fp16 d (and Q4_K's dmin) of either sign
                uint8_t* base = t == TensorType::Q6_K ? p + 208 : p;
                for (int h = 0; h < (t == TensorType::Q4_K ? 2 : 1); ++h) {
                    const uint16_t v = static_cast<uint16_t>((byte(rng) & 1) << 15 | std::uniform_int_distribution<int>(5, 14)(rng) << 10 |
                                                             std::uniform_int_distribution<int>(0, 1023)(rng));
                    std::memcpy(base + 2 * h, &v, 2);
                }
            } else if (t == TensorType::Q4_0 || t == TensorType::Q8_0) {
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

const TensorType kTypes[] = {TensorType::Q4_0, TensorType::MXFP4, TensorType::Q8_0, TensorType::Q4_K,
                             TensorType::Q6_K};

// A random GGUF matrix of `rows` x `cols` (rows packed), its x16 repacking, and m random
// activation rows prepared for its type.
struct RandomCase {
    std::vector<uint8_t> src, packed;
    RepackedMatrix rp;
    std::vector<float> xf;
    Activations x;
};

RandomCase random_case(TensorType t, int64_t rows, int64_t cols, int64_t m, std::mt19937& rng) {
    RandomCase c;
    const size_t rb = row_bytes(type_traits(t), cols);
    c.src = random_rows(t, rows, cols, rb, rng);
    c.packed.resize(repacked_bytes(t, rows, cols));
    repack_x16(t, c.src.data(), rb, rows, cols, c.packed.data());
    c.rp = RepackedMatrix{t, rows, cols, c.packed.data()};
    c.xf = random_x(m, cols, rng);
    c.x.prepare(t, c.xf.data(), m, cols);
    return c;
}

}  // namespace

TEST_CASE("x16 repacking is lossless", "[repack]") {
    std::mt19937 rng(11);
    for (TensorType t : kTypes) {
        REQUIRE(can_repack_x16(t));
        for (int trial = 0; trial < 6; ++trial) {
            const int64_t rows = std::uniform_int_distribution<int64_t>(1, 40)(rng);
            const int64_t cols = random_cols(t, 10, rng);
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
    test::KernelDefaultsOnExit guard;
    std::mt19937 rng(21);
    for (TensorType t : kTypes)
        for (int64_t m : {1, 2, 3, 4, 5, 8, 9, 16, 17, 19, 22}) {
            const int64_t rows = std::uniform_int_distribution<int64_t>(1, 70)(rng);
            const int64_t cols = random_cols(t, 12, rng);
            const size_t rb = row_bytes(type_traits(t), cols);
            RandomCase c = random_case(t, rows, cols, m, rng);
            const std::vector<uint8_t>& src = c.src;
            const RepackedMatrix& rp = c.rp;
            Activations& x = c.x;
            const Matrix gguf{t, rows, cols, src.data(), rb};
            std::vector<float> ref(m * rows);
            matmul_reference_int8(gguf, x, ref.data(), rows, 0, rows);
            for (int isa = 0; isa <= static_cast<int>(detected_isa()); ++isa) {
                set_isa_for_testing(static_cast<Isa>(isa));
                x.prepare(t, c.xf.data(), m, cols);  // what this ISA's kernels take (e.g. int16 copies)
                INFO(type_traits(t).name << " isa " << isa << " rows " << rows << " cols " << cols << " m " << m);
                REQUIRE(repacked_kernel_available(t) == has_x16_kernel(t, static_cast<Isa>(isa)));
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
                            int32_t half[2] = {0, 0};
                            for (int j = 0; j < 32; ++j) half[j / 16] += wb.q[j] * xb.qs[j];
                            for (int h = 0; h < 2; ++h) mag += std::fabs(static_cast<double>(wb.d) * xb.d * wb.sc[h] * half[h]);
                            mag += std::fabs(static_cast<double>(wb.m) * xb.s);
                        }
                        INFO("i " << i << " r " << r << " got " << y[i * rows + r] << " ref " << ref[i * rows + r]);
                        // (absolute term: a few dozen float subnormal steps, for rows of subnormal scales)
                        REQUIRE(std::fabs(y[i * rows + r] - ref[i * rows + r]) <= 1e-5 * mag + 1e-43);
                    }
            }
        }
}

TEST_CASE("repacked matmul output does not depend on how rows are split", "[repack]") {
    test::KernelDefaultsOnExit guard;
    std::mt19937 rng(31);
    for (TensorType t : kTypes)
        for (int64_t m : {1, 3, 6, 19}) {
            const int64_t rows = std::uniform_int_distribution<int64_t>(17, 75)(rng);
            const int64_t cols = random_cols(t, 6, rng);
            RandomCase c = random_case(t, rows, cols, m, rng);
            const RepackedMatrix& rp = c.rp;
            Activations& x = c.x;
            for (int isa = 0; isa <= static_cast<int>(detected_isa()); ++isa) {
                set_isa_for_testing(static_cast<Isa>(isa));
                x.prepare(t, c.xf.data(), m, cols);  // what this ISA's kernels take
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

TEST_CASE("repacked matmul gives each activation row the bits it gets alone, for any batch size",
          "[repack][batch]") {
    // Batch invariance (a sequence's logits alone and batched): decode batches (m = 2..16) and
    // prefill (more) use other tiles than the GEMV (m = 1), with and without software prefetch
    // (AVX2 Q8_0: the sign trick up to 3 rows and past 32, int16 products between), and the batch
    // and the GEMV each under either CPU family's prefetch hint (FamilyTuning::x16_prefetch_l2).
    test::KernelDefaultsOnExit guard;
    std::mt19937 rng(33);
    std::vector<int64_t> batch_sizes;
    for (int64_t m = 2; m <= 21; ++m) batch_sizes.push_back(m);
    for (int64_t m : {32, 33, 38}) batch_sizes.push_back(m);
    for (TensorType t : kTypes)
        for (int64_t m : batch_sizes) {
            const int64_t rows = std::uniform_int_distribution<int64_t>(1, 90)(rng);
            const int64_t cols = random_cols(t, 10, rng);
            const size_t rb = row_bytes(type_traits(t), cols);
            const std::vector<uint8_t> src = random_rows(t, rows, cols, rb, rng);
            std::vector<uint8_t> packed(repacked_bytes(t, rows, cols));
            repack_x16(t, src.data(), rb, rows, cols, packed.data());
            const RepackedMatrix rp{t, rows, cols, packed.data()};
            const std::vector<float> xf = random_x(m, cols, rng);
            Activations x;
            x.prepare(t, xf.data(), m, cols);
            for (int isa = 1; isa <= static_cast<int>(detected_isa()); ++isa)
                for (bool prefetch : {true, false})
                    for (bool batch_l2_prefetch : {false, true}) {
                        set_isa_for_testing(static_cast<Isa>(isa));
                        set_software_prefetch(prefetch);
                        FamilyTuning batch_tuning = tuning_for(detected_cpu());
                        batch_tuning.x16_prefetch_l2 = batch_l2_prefetch;
                        set_family_tuning_for_testing(batch_tuning);
                        x.prepare(t, xf.data(), m, cols);  // what this ISA's kernels take
                        std::vector<float> batch(m * rows, std::nanf(""));
                        matmul(rp, x, batch.data(), rows, 0, rows);
                        for (int64_t i = 0; i < m; ++i)
                            for (bool l2_prefetch : {false, true}) {
                                FamilyTuning tuning = tuning_for(detected_cpu());
                                tuning.x16_prefetch_l2 = l2_prefetch;
                                set_family_tuning_for_testing(tuning);
                                Activations one;
                                one.prepare(t, xf.data() + i * cols, 1, cols);
                                std::vector<float> y(rows, std::nanf(""));
                                matmul(rp, one, y.data(), rows, 0, rows);
                                INFO(type_traits(t).name << " isa " << isa << " prefetch " << prefetch << " l2 prefetch "
                                                         << batch_l2_prefetch << " / " << l2_prefetch << " rows " << rows
                                                         << " cols " << cols << " m " << m << " row " << i);
                                REQUIRE(std::memcmp(y.data(), batch.data() + i * rows, rows * sizeof(float)) == 0);
                            }
                        set_software_prefetch(true);
                    }
        }
}

TEST_CASE("the MXFP4 x16 kernel gives the same bits with and without AVX512-VBMI", "[repack]") {
    if (detected_isa() != Isa::avx512 || !detected_avx512_vbmi()) {
        WARN("no AVX512-VBMI on this CPU: only the vpshufb build runs");
        return;
    }
    test::KernelDefaultsOnExit guard;
    std::mt19937 rng(37);
    const TensorType t = TensorType::MXFP4;
    for (int64_t m : {1, 2, 5}) {
        const int64_t rows = std::uniform_int_distribution<int64_t>(1, 90)(rng);
        const int64_t cols = random_cols(t, 12, rng);
        const RandomCase c = random_case(t, rows, cols, m, rng);
        std::vector<float> with_vbmi(m * rows, std::nanf("")), without(m * rows, std::nanf(""));
        set_isa_for_testing(Isa::avx512, true, true);
        REQUIRE(active_avx512_vbmi());
        matmul(c.rp, c.x, with_vbmi.data(), rows, 0, rows);
        set_isa_for_testing(Isa::avx512, true, false);
        REQUIRE_FALSE(active_avx512_vbmi());
        matmul(c.rp, c.x, without.data(), rows, 0, rows);
        INFO("rows " << rows << " cols " << cols << " m " << m);
        REQUIRE(std::memcmp(with_vbmi.data(), without.data(), without.size() * sizeof(float)) == 0);
    }
}

TEST_CASE("a row view of a repacked stack equals the repacked part", "[repack]") {
    std::mt19937 rng(41);
    for (TensorType t : kTypes) {
        const int64_t per = 32, experts = 3, cols = is_kquant(t) ? 256 : 96;  // 3 "experts" of 32 rows
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
    CHECK_THROWS_AS(repack_x16(TensorType::Q5_K, buf.data(), 176, 1, 256, buf.data()), silica::Error);
    CHECK_THROWS_AS(repacked_bytes(TensorType::Q4_K, 4, 128), silica::Error);  // not whole super-blocks
    CHECK_THROWS_AS(repacked_bytes(TensorType::Q6_K, 4, 288), silica::Error);
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

// ---- F16 panels (quant/repack.h: column j of a 16-row group = 32 contiguous bytes) ----
// The panel kernel (kernels/matmul_repacked_f16_avx512.cpp) against the double-precision float
// reference of the GGUF rows, for shapes that are not multiples of 16 (rows) or of anything
// (cols), batch sizes 1..13 and larger, and row ranges that start and end inside a group.

namespace {

// Random fp16 rows with values in [-2, 2] (finite, some exact zeros and tiny values), `stride`
// bytes apart (the padding bytes random).
std::vector<uint8_t> random_f16_rows(int64_t rows, int64_t cols, size_t stride, std::mt19937& rng) {
    std::vector<uint8_t> data(stride * rows);
    std::uniform_int_distribution<int> byte(0, 255);
    for (auto& b : data) b = static_cast<uint8_t>(byte(rng));
    std::uniform_real_distribution<float> uni(-2.0f, 2.0f);
    for (int64_t r = 0; r < rows; ++r)
        for (int64_t j = 0; j < cols; ++j) {
            const int pick = std::uniform_int_distribution<int>(0, 19)(rng);
            const float v = pick == 0 ? 0.0f : pick == 1 ? uni(rng) * 1e-5f : uni(rng);
            const uint16_t h = silica::f32_to_fp16(v);
            std::memcpy(data.data() + r * stride + 2 * j, &h, 2);
        }
    return data;
}

// Bound on the float rounding of a k-term sum of products computed one FMA at a time: k * 2^-24
// of the sum of |products| (each step rounds once), doubled for the reference's own rounding.
double f16_tolerance(const uint8_t* row, const float* x, int64_t k) {
    double mag = 0;
    for (int64_t j = 0; j < k; ++j) {
        uint16_t h;
        std::memcpy(&h, row + 2 * j, 2);
        mag += std::fabs(static_cast<double>(silica::fp16_to_f32(h)) * x[j]);
    }
    return 2.0 * (k + 1) * std::ldexp(1.0, -24) * mag + 1e-30;
}

struct F16Case {
    int64_t rows, cols;
    std::vector<uint8_t> gguf, packed;
    size_t rb;
    RepackedMatrix rp() const { return RepackedMatrix{TensorType::F16, rows, cols, packed.data()}; }
};

F16Case make_f16_case(int64_t rows, int64_t cols, std::mt19937& rng) {
    F16Case c{rows, cols, {}, {}, row_bytes(type_traits(TensorType::F16), cols)};
    c.gguf = random_f16_rows(rows, cols, c.rb, rng);
    c.packed.assign(repacked_bytes(TensorType::F16, rows, cols), 0xCD);
    repack_x16(TensorType::F16, c.gguf.data(), c.rb, rows, cols, c.packed.data());
    return c;
}

}  // namespace

TEST_CASE("F16 panel repacking is lossless and follows the documented layout", "[repack][f16]") {
    std::mt19937 rng(51);
    const TensorType t = TensorType::F16;
    REQUIRE(can_repack_x16(t));
    for (int trial = 0; trial < 12; ++trial) {
        const int64_t rows = std::uniform_int_distribution<int64_t>(1, 50)(rng);
        const int64_t cols = std::uniform_int_distribution<int64_t>(1, 100)(rng);
        const size_t rb = 2 * static_cast<size_t>(cols);
        const size_t stride = rb + 2 * std::uniform_int_distribution<size_t>(0, 3)(rng);
        // Any bits, NaN and infinity patterns included: repacking only moves bytes.
        std::vector<uint8_t> src(stride * rows);
        for (auto& b : src) b = static_cast<uint8_t>(std::uniform_int_distribution<int>(0, 255)(rng));
        const size_t group_bytes = repacked_group_bytes(t, cols);
        REQUIRE(group_bytes == (32 * static_cast<size_t>(cols) + 63) / 64 * 64);
        std::vector<uint8_t> packed(repacked_bytes(t, rows, cols), 0xAB);
        REQUIRE(packed.size() == static_cast<size_t>((rows + 15) / 16) * group_bytes);
        repack_x16(t, src.data(), stride, rows, cols, packed.data());
        INFO("rows " << rows << " cols " << cols);
        for (int64_t r = 0; r < (rows + 15) / 16 * 16; ++r)
            for (int64_t j = 0; j < cols; ++j) {
                const uint8_t* at = packed.data() + (r / 16) * group_bytes + 32 * j + 2 * (r % 16);
                const uint8_t zero[2] = {0, 0};
                const uint8_t* want = r < rows ? src.data() + r * stride + 2 * j : zero;  // padding rows are 0
                REQUIRE(std::memcmp(at, want, 2) == 0);
            }
        std::vector<uint8_t> row(rb);
        for (int64_t r = 0; r < rows; ++r) {
            unpack_row_x16(t, packed.data(), rows, cols, r, row.data());
            REQUIRE(std::memcmp(row.data(), src.data() + r * stride, rb) == 0);
        }
    }
}

TEST_CASE("F16 panel matmul matches the float reference of the GGUF rows at every ISA", "[repack][f16]") {
    test::KernelDefaultsOnExit guard;
    std::mt19937 rng(61);
    std::vector<int64_t> batch_sizes;
    for (int64_t m = 1; m <= 13; ++m) batch_sizes.push_back(m);
    for (int64_t m : {24, 25, 40}) batch_sizes.push_back(m);
    for (int64_t m : batch_sizes) {
        const int64_t rows = std::uniform_int_distribution<int64_t>(1, 90)(rng);
        const int64_t cols = std::uniform_int_distribution<int64_t>(1, 200)(rng);
        const F16Case c = make_f16_case(rows, cols, rng);
        const Matrix gguf{TensorType::F16, rows, cols, c.gguf.data(), c.rb};
        const std::vector<float> xf = random_x(m, cols, rng);
        Activations x;
        x.prepare(TensorType::F16, xf.data(), m, cols);
        std::vector<float> ref(m * rows);
        matmul_reference(gguf, x, ref.data(), rows, 0, rows);
        for (int isa = 0; isa <= static_cast<int>(detected_isa()); ++isa) {
            set_isa_for_testing(static_cast<Isa>(isa));
            REQUIRE(repacked_kernel_available(TensorType::F16) == (static_cast<Isa>(isa) >= Isa::avx2));
            // A row range that may start and end inside a group; outputs outside it stay untouched.
            int64_t a = std::uniform_int_distribution<int64_t>(0, rows - 1)(rng);
            int64_t b = std::uniform_int_distribution<int64_t>(a + 1, rows)(rng);
            if (m % 3 == 0) a = 0, b = rows;
            const float sentinel = -12345.0f;
            std::vector<float> y(m * rows, sentinel);
            matmul(c.rp(), x, y.data(), rows, a, b);
            for (int64_t i = 0; i < m; ++i)
                for (int64_t r = 0; r < rows; ++r) {
                    INFO("isa " << isa << " rows " << rows << " cols " << cols << " m " << m << " range " << a << ".."
                                << b << " i " << i << " r " << r);
                    if (r < a || r >= b) {
                        REQUIRE(y[i * rows + r] == sentinel);
                        continue;
                    }
                    // From kF16AmxMinRows rows the AMX-BF16 kernel may run: its split-precision
                    // bound adds 2^-16 of sum |w*x| and two more roundings per k
                    // (kernels/matmul_f16_amx.h; tests/kernels/matmul_f16_amx_test.cpp).
                    const double tol = f16_tolerance(c.gguf.data() + r * c.rb, xf.data() + i * cols, cols) *
                                       (m >= kF16AmxMinRows ? 2.5 + std::ldexp(1.0, 8) / (cols + 1) : 1.0);
                    REQUIRE(std::fabs(y[i * rows + r] - ref[i * rows + r]) <= tol);
                }
        }
    }
}

TEST_CASE("F16 panel matmul does not depend on the row split or the batch size", "[repack][f16]") {
    test::KernelDefaultsOnExit guard;
    std::mt19937 rng(71);
    for (int64_t m : {2, 4, 5, 7, 8, 13, 16, 17, 30}) {
        const int64_t rows = std::uniform_int_distribution<int64_t>(17, 120)(rng);
        const int64_t cols = std::uniform_int_distribution<int64_t>(1, 160)(rng);
        const F16Case c = make_f16_case(rows, cols, rng);
        const std::vector<float> xf = random_x(m, cols, rng);
        Activations x;
        x.prepare(TensorType::F16, xf.data(), m, cols);
        for (int isa = 0; isa <= static_cast<int>(detected_isa()); ++isa) {
            set_isa_for_testing(static_cast<Isa>(isa));
            INFO("isa " << isa << " rows " << rows << " cols " << cols << " m " << m);
            std::vector<float> whole(m * rows, std::nanf(""));
            matmul(c.rp(), x, whole.data(), rows, 0, rows);
            for (int trial = 0; trial < 4; ++trial) {
                int64_t a = std::uniform_int_distribution<int64_t>(0, rows)(rng);
                int64_t b = std::uniform_int_distribution<int64_t>(0, rows)(rng);
                if (a > b) std::swap(a, b);
                std::vector<float> y(m * rows, std::nanf(""));
                matmul(c.rp(), x, y.data(), rows, 0, a);
                matmul(c.rp(), x, y.data(), rows, a, b);
                for (int64_t r = b; r < rows; ++r) matmul(c.rp(), x, y.data(), rows, r, r + 1);
                INFO("split " << a << " " << b);
                REQUIRE(std::memcmp(y.data(), whole.data(), y.size() * sizeof(float)) == 0);
            }
            // Each activation row alone (the decode GEMV, with and without its software prefetch,
            // under either CPU family's choice for it) gives the bits of the batched GEMM, when that
            // is the FMA kernel (batches of kF16AmxMinRows rows or more use the AMX-BF16 kernel where
            // the CPU has it: its own tests, tests/kernels/matmul_f16_amx_test.cpp, check it against
            // these within a bound).
            if (m >= kF16AmxMinRows && active_amx_bf16() && active_avx512_bf16()) continue;
            test::KernelDefaultsOnExit tuning_guard;
            for (int64_t i = 0; i < m; ++i)
                for (bool prefetch : {true, false})
                    for (bool family_prefetch : {true, false}) {
                        FamilyTuning tuning = tuning_for(detected_cpu());
                        tuning.f16_gemv_prefetch = family_prefetch;
                        set_family_tuning_for_testing(tuning);
                        set_software_prefetch(prefetch);
                        Activations one;
                        one.prepare(TensorType::F16, xf.data() + i * cols, 1, cols);
                        std::vector<float> y(rows, std::nanf(""));
                        matmul(c.rp(), one, y.data(), rows, 0, rows);
                        set_software_prefetch(true);
                        INFO("activation row " << i << " prefetch " << prefetch << " family prefetch "
                                               << family_prefetch);
                        REQUIRE(std::memcmp(y.data(), whole.data() + i * rows, rows * sizeof(float)) == 0);
                    }
        }
    }
}

TEST_CASE("F16 panels reject bad inputs", "[repack][f16]") {
    std::vector<uint8_t> buf(4096);
    CHECK_THROWS_AS(repacked_bytes(TensorType::F16, 4, 0), silica::Error);
    CHECK_THROWS_AS(repacked_bytes(TensorType::F16, -1, 8), silica::Error);
    CHECK_THROWS_AS(unpack_row_x16(TensorType::F16, buf.data(), 4, 8, 4, buf.data()), silica::Error);
    CHECK_THROWS_AS(unpack_row_x16(TensorType::F16, buf.data(), 4, 8, -1, buf.data()), silica::Error);
    std::vector<float> xf(64, 0.5f), y(8);
    Activations x;
    x.prepare(TensorType::F32, xf.data(), 1, 64);
    const RepackedMatrix w{TensorType::F16, 4, 64, buf.data()};
    CHECK_THROWS_AS(matmul(w, x, y.data(), 4, 0, 4), silica::Error);  // activations for F32 weights
    x.prepare(TensorType::F16, xf.data(), 1, 32);
    CHECK_THROWS_AS(matmul(w, x, y.data(), 4, 0, 4), silica::Error);  // wrong width
    x.prepare(TensorType::F16, xf.data(), 1, 64);
    CHECK_THROWS_AS(matmul(w, x, y.data(), 4, 2, 5), silica::Error);  // rows outside the matrix
}
