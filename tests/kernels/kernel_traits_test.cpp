// The per-ISA type tables (kernels/kernel_traits.h): every entry complete and consistent with the
// other tables, and each entry's kernels agreeing with the entry's own scalar reference on random
// data, for every ISA this machine can run (with AVX512-BF16 and VBMI on and off).
//
// Tolerances as in matmul_random_test.cpp: int8 kernels vs matmul_reference_int8 within 1e-5 of
// sum over blocks of |d_w * d_x * isum| + |m_w * s_x| (same integer sums, another float order);
// float kernels vs matmul_reference within 1e-5 of sum |w * x| (2^-8 with vdpbf16ps, which rounds
// the activations to bf16).
#include <catch2/catch.hpp>

#include <cmath>
#include <random>
#include <vector>

#include "kernels/isa.h"
#include "kernels/kernel_traits.h"
#include "kernels/matmul.h"
#include "kernels/matmul_ref.h"
#include "kernels/matmul_repacked.h"
#include "quant/dequantize.h"
#include "quant/quantize.h"
#include "quant/repack.h"
#include "include/silica/error.h"
#include "tests/kernel_switches.h"

using namespace silica;
using namespace silica::kernels;

namespace {

// The ISA settings to test: every ISA up to the detected one; at AVX-512 also with its BF16 and
// VBMI sub-features hidden, when the CPU has them (their kernels are chosen inside the entries).
struct IsaSetting {
    Isa isa;
    bool bf16, vbmi;
};
std::vector<IsaSetting> machine_settings() {
    std::vector<IsaSetting> out;
    for (int i = 0; i <= static_cast<int>(detected_isa()); ++i) out.push_back({static_cast<Isa>(i), true, true});
    if (detected_isa() == Isa::avx512 && (detected_avx512_bf16() || detected_avx512_vbmi()))
        out.push_back({Isa::avx512, false, false});
    return out;
}

// `rows` rows of `cols` random values (normal, a few large outliers) stored as type t.
std::vector<uint8_t> random_rows(TensorType t, int64_t rows, int64_t cols, std::mt19937& rng) {
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::vector<float> f(static_cast<size_t>(cols));
    const size_t rb = row_bytes(type_traits(t), cols);
    std::vector<uint8_t> out(rb * static_cast<size_t>(rows));
    for (int64_t r = 0; r < rows; ++r) {
        for (auto& v : f) v = normal(rng) * (std::uniform_int_distribution<int>(0, 50)(rng) == 0 ? 8.0f : 1.0f);
        quantize_row(t, f.data(), out.data() + r * rb, cols);
    }
    return out;
}

// Per output: the scale of its rounding error (see the tolerances at the top).
double error_scale(const KernelTraits& e, const Matrix& w, const Activations& x, int64_t i, int64_t r) {
    const uint8_t* row = w.data + r * w.row_stride;
    double mag = 0.0;
    if (e.activations == ActivationForm::q8_blocks) {
        const int64_t nb = w.cols / 32;
        DecodedBlockQ8 wb;
        for (int64_t b = 0; b < nb; ++b) {
            e.decode_block(row, b, wb);
            const ActBlockQ8& xb = x.q8()[i * nb + b];
            int32_t half[2] = {0, 0};
            for (int j = 0; j < 32; ++j) half[j / 16] += wb.q[j] * xb.qs[j];
            mag += std::fabs(static_cast<double>(wb.d) * xb.d * (wb.sc[0] * half[0] + wb.sc[1] * half[1])) +
                   std::fabs(static_cast<double>(wb.m) * xb.s);
        }
        return 1e-5 * mag;
    }
    std::vector<float> wf(static_cast<size_t>(w.cols));
    dequantize_row(w.type, row, wf.data(), w.cols);
    for (int64_t j = 0; j < w.cols; ++j) mag += std::fabs(static_cast<double>(wf[j]) * x.f32()[i * w.cols + j]);
    const bool dpbf16 = e.activations == ActivationForm::f32_bf16 && active_avx512_bf16();
    return (dpbf16 ? std::ldexp(1.0, -8) : 1e-5) * mag;
}

}  // namespace

TEST_CASE("every weight type has a complete, consistent entry in every ISA's table", "[kernel_traits]") {
    for (int i = 0; i <= static_cast<int>(Isa::avx512); ++i) {
        const Isa isa = static_cast<Isa>(i);
        for (TensorType t : matmul_types()) {
            INFO("isa " << isa_name(isa) << " type " << type_traits(t).name);
            const KernelTraits* e = find_kernel_traits(t, isa);
            const KernelTraits* scalar = find_kernel_traits(t, Isa::scalar);
            REQUIRE(e != nullptr);
            REQUIRE(scalar != nullptr);
            CHECK(e->type == t);
            CHECK(e->isa == isa);
            // Facts: the storage block, and the same at every ISA.
            CHECK(e->block_size == type_traits(t).block_size);
            CHECK(e->block_size == scalar->block_size);
            CHECK(e->activations == scalar->activations);
            CHECK(e->decode_block == scalar->decode_block);
            CHECK(e->reference == scalar->reference);
            // The int8 types decode blocks and follow the int8 reference; float types the float one.
            const bool int8 = e->activations == ActivationForm::q8_blocks;
            CHECK((e->decode_block != nullptr) == int8);
            CHECK(e->reference == (int8 ? &matmul_reference_int8 : &matmul_reference));
            CHECK((e->activations == ActivationForm::f32_bf16) == (t == TensorType::BF16));
            // Kernels: every ISA multiplies every type; the scalar table is the reference itself.
            REQUIRE(e->matmul != nullptr);
            if (isa == Isa::scalar) {
                CHECK(e->matmul == &matmul_reference);
                CHECK(e->matmul_repacked == nullptr);
            }
            if (e->matmul_repacked != nullptr) CHECK(can_repack_x16(t));
            if (e->amx_int8) {
                CHECK(isa == Isa::avx512);
                CHECK(int8);
                CHECK(e->matmul_repacked != nullptr);
            }
        }
    }
    // Types without kernels have no entry.
    for (TensorType t : {TensorType::Q2_K, TensorType::Q3_K, TensorType::Q8_1, TensorType::I8})
        for (int i = 0; i <= static_cast<int>(Isa::avx512); ++i)
            CHECK(find_kernel_traits(t, static_cast<Isa>(i)) == nullptr);
    CHECK_THROWS_AS(kernel_traits(TensorType::Q2_K), Error);
}

TEST_CASE("each entry's decode_block matches the type's dequantization", "[kernel_traits]") {
    std::mt19937 rng(5);
    for (TensorType t : matmul_types()) {
        const KernelTraits& e = *find_kernel_traits(t, Isa::scalar);
        if (e.decode_block == nullptr) continue;
        INFO("type " << type_traits(t).name);
        const int64_t cols = 2 * e.block_size;
        const std::vector<uint8_t> row = random_rows(t, 1, cols, rng);
        std::vector<float> wf(static_cast<size_t>(cols));
        dequantize_row(t, row.data(), wf.data(), cols);
        DecodedBlockQ8 wb;
        for (int64_t b = 0; b < cols / 32; ++b) {
            e.decode_block(row.data(), b, wb);
            for (int j = 0; j < 32; ++j) {
                const double v = static_cast<double>(wb.d) * wb.sc[j / 16] * wb.q[j] + wb.m;
                INFO("block " << b << " element " << j << " decoded " << v << " dequantized " << wf[b * 32 + j]);
                REQUIRE(std::fabs(v - wf[b * 32 + j]) <= 1e-6 * (std::fabs(v) + std::fabs(wb.m)) + 1e-30);
            }
        }
    }
}

TEST_CASE("each entry's kernels agree with its scalar reference at every ISA of this machine", "[kernel_traits]") {
    test::KernelDefaultsOnExit guard;
    std::mt19937 rng(17);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    for (TensorType t : matmul_types()) {
        const int64_t bs = type_traits(t).block_size;
        const int64_t cols = bs == 1 ? 300 : 2 * std::max<int64_t>(bs, 64);
        const int64_t rows = 37;  // two whole groups of 16 and a partial one
        const size_t rb = row_bytes(type_traits(t), cols);
        const std::vector<uint8_t> data = random_rows(t, rows, cols, rng);
        const Matrix w{t, rows, cols, data.data(), rb};
        std::vector<uint8_t> repacked;
        if (can_repack_x16(t)) {
            repacked.resize(repacked_bytes(t, rows, cols));
            repack_x16(t, data.data(), rb, rows, cols, repacked.data());
        }
        const RepackedMatrix rw{t, rows, cols, repacked.data()};
        for (int64_t m : {1, 3, 8}) {
            std::vector<float> xf(static_cast<size_t>(m * cols));
            for (auto& v : xf) v = normal(rng);
            for (const IsaSetting& s : machine_settings()) {
                set_isa_for_testing(s.isa, s.bf16, s.vbmi);
                const KernelTraits& e = kernel_traits(t);
                INFO("type " << type_traits(t).name << " isa " << isa_name(s.isa) << " bf16/vbmi " << s.bf16
                             << " m " << m);
                REQUIRE(e.isa == s.isa);
                Activations x;
                x.prepare(t, xf.data(), m, cols);
                std::vector<float> ref(static_cast<size_t>(m * rows)), got(ref.size(), std::nanf(""));
                e.reference(w, x, ref.data(), rows, 0, rows);
                e.matmul(w, x, got.data(), rows, 0, rows);
                // (the scalar table's matmul is the float reference itself: matmul_random_test.cpp
                // checks it against a direct dot product)
                const bool simd = e.matmul != &matmul_reference;
                for (int64_t i = 0; i < m && simd; ++i)
                    for (int64_t r = 0; r < rows; ++r) {
                        const double tol = error_scale(e, w, x, i, r) + 1e-30;
                        INFO("i " << i << " r " << r << " got " << got[i * rows + r] << " ref " << ref[i * rows + r]);
                        REQUIRE(std::fabs(got[i * rows + r] - ref[i * rows + r]) <= tol);
                    }
                if (e.matmul_repacked == nullptr) continue;
                // The x16 kernel against the same reference on the same rows.
                std::vector<float> got_x16(ref.size(), std::nanf(""));
                e.matmul_repacked(rw, x, got_x16.data(), rows, 0, rows);
                for (int64_t i = 0; i < m; ++i)
                    for (int64_t r = 0; r < rows; ++r) {
                        const double tol = error_scale(e, w, x, i, r) + 1e-30;
                        INFO("x16 i " << i << " r " << r << " got " << got_x16[i * rows + r] << " ref "
                                      << ref[i * rows + r]);
                        REQUIRE(std::fabs(got_x16[i * rows + r] - ref[i * rows + r]) <= tol);
                    }
            }
        }
    }
}
