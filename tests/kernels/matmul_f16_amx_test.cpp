// The split-precision F16 GEMM on AMX-BF16 (kernels/matmul_f16_amx.h):
//  * the weight split w = w_hi + w_lo is exact for every finite fp16 bit pattern (w_hi the
//    nearest bf16), and infinities / NaNs do not crash;
//  * outputs against a double-precision reference of the fp16 weights, for rows not a multiple
//    of 16, k not a multiple of 32, batch sizes around the threshold and up to 70, and row ranges
//    that start and end inside a group, within the stated bound;
//  * bit-identical outputs for any row split and for any batch size >= the threshold;
//  * AMX on and off (the FMA kernel) agree within the two kernels' bounds.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "kernels/activations.h"
#include "kernels/amx.h"
#include "kernels/isa.h"
#include "kernels/matmul.h"
#include "kernels/matmul_f16_amx.h"
#include "kernels/matmul_repacked.h"
#include "quant/fp16.h"
#include "quant/repack.h"
#include "tests/kernel_switches.h"

using namespace silica;
using namespace silica::kernels;

namespace {

bool amx_bf16_here() { return detected_isa() >= Isa::avx512 && detected_avx512_bf16() && detected_amx_bf16(); }

// rows x cols fp16 weights in [-2, 2] (some zeros, some tiny, some fp16 subnormals), GGUF rows.
std::vector<uint16_t> random_f16(int64_t rows, int64_t cols, std::mt19937& rng) {
    std::vector<uint16_t> w(rows * cols);
    std::uniform_real_distribution<float> uni(-2.0f, 2.0f);
    for (auto& h : w) {
        const int pick = std::uniform_int_distribution<int>(0, 19)(rng);
        const float v = pick == 0 ? 0.0f : pick == 1 ? uni(rng) * 1e-5f : pick == 2 ? uni(rng) * 3e-6f : uni(rng);
        h = f32_to_fp16(v);
    }
    return w;
}

std::vector<float> random_x(int64_t m, int64_t k, std::mt19937& rng) {
    std::vector<float> x(m * k);
    std::uniform_real_distribution<float> uni(-1.0f, 1.0f);
    for (auto& v : x) v = std::uniform_int_distribution<int>(0, 30)(rng) == 0 ? uni(rng) * 1e-4f : uni(rng);
    return x;
}

struct Case {
    int64_t rows, cols;
    std::vector<uint16_t> w;       // GGUF rows
    std::vector<uint8_t> packed;   // F16 panels
    RepackedMatrix rp() const { return RepackedMatrix{TensorType::F16, rows, cols, packed.data()}; }
};

Case make_case(int64_t rows, int64_t cols, std::mt19937& rng) {
    Case c{rows, cols, random_f16(rows, cols, rng), {}};
    c.packed.assign(repacked_bytes(TensorType::F16, rows, cols), 0);
    repack_x16(TensorType::F16, reinterpret_cast<const uint8_t*>(c.w.data()), 2 * cols, rows, cols, c.packed.data());
    return c;
}

// sum over j of |w[r][j] * x[i][j]|, and the exact (double) dot product.
void reference(const Case& c, const float* x, int64_t r, double& dot, double& magnitude) {
    dot = magnitude = 0;
    for (int64_t j = 0; j < c.cols; ++j) {
        const double p = static_cast<double>(fp16_to_f32(c.w[r * c.cols + j])) * x[j];
        dot += p;
        magnitude += std::fabs(p);
    }
}

// The split-precision bound, relative to sum |w*x|: x_lo's rounding (2^-18) and the dropped
// w_lo*x_lo (2^-18) per product, plus fp32 accumulation of 3 products per k (each rounding at
// most 2^-24 of the running sum of magnitudes).
double amx_bound(int64_t k) { return std::ldexp(1.0, -16) + 3.0 * (k + 1) * std::ldexp(1.0, -24); }
// The FMA kernel's: one rounding per k.
double fma_bound(int64_t k) { return (k + 1) * std::ldexp(1.0, -24); }

}  // namespace

TEST_CASE("F16 split into bf16 hi + lo is exact for every finite fp16", "[kernels][amx][f16]") {
    if (!amx_bf16_here()) {
        WARN("AMX-BF16 / AVX512-BF16 not available here: nothing to check");
        return;
    }
    std::vector<uint16_t> all(65536), hi(65536), lo(65536);
    for (int i = 0; i < 65536; ++i) all[i] = static_cast<uint16_t>(i);
    split_f16_to_bf16(all.data(), 65536, hi.data(), lo.data());
    for (int i = 0; i < 65536; ++i) {
        const float w = fp16_to_f32(all[i]);
        INFO("fp16 bits " << i);
        if (!std::isfinite(w)) {
            // inf stays inf in hi (lo 0); NaN stays NaN
            CHECK(std::isinf(w) == std::isinf(silica::bf16_to_f32(hi[i])));
            CHECK(std::isnan(w) == std::isnan(silica::bf16_to_f32(hi[i])));
            CHECK(silica::bf16_to_f32(lo[i]) == 0.0f);
            continue;
        }
        REQUIRE(hi[i] == kernels::f32_to_bf16(w));  // the nearest bf16 (ties to even)
        REQUIRE(static_cast<double>(silica::bf16_to_f32(hi[i])) + silica::bf16_to_f32(lo[i]) == static_cast<double>(w));
        // w_lo is at most 2^-8 of |w| (half a bf16 ulp)
        REQUIRE(std::fabs(silica::bf16_to_f32(lo[i])) <= std::ldexp(std::fabs(w), -8));
    }
    // an odd length (masked tail)
    std::vector<uint16_t> h5(5, 0xAAAA), l5(5, 0xAAAA);
    split_f16_to_bf16(all.data() + 15360, 3, h5.data(), l5.data());
    CHECK(h5[3] == 0xAAAA);
    CHECK(h5[2] == kernels::f32_to_bf16(fp16_to_f32(all[15362])));
}

TEST_CASE("F16 AMX GEMM matches a double reference within the split-precision bound", "[kernels][amx][f16]") {
    if (!amx_bf16_here()) {
        WARN("AMX-BF16 / AVX512-BF16 not available here: nothing to check");
        return;
    }
    test::KernelDefaultsOnExit guard;
    set_amx_for_testing(true);
    REQUIRE(active_amx_bf16());
    std::mt19937 rng(5);
    double worst = 0;  // max |y - exact| / sum |w*x| over all outputs
    for (int64_t m : {kF16AmxMinRows, kF16AmxMinRows + 1, int64_t{31}, int64_t{32}, int64_t{33}, int64_t{47},
                      int64_t{64}, int64_t{70}}) {
        // m = 70: more than one panel of 64 groups (1024 rows)
        const int64_t rows = m == 70 ? std::uniform_int_distribution<int64_t>(1030, 1100)(rng)
                                     : std::uniform_int_distribution<int64_t>(1, 300)(rng);
        const int64_t cols = std::uniform_int_distribution<int64_t>(1, 700)(rng);
        const Case c = make_case(rows, cols, rng);
        const std::vector<float> xf = random_x(m, cols, rng);
        Activations x;
        x.prepare(TensorType::F16, xf.data(), m, cols);
        int64_t a = std::uniform_int_distribution<int64_t>(0, rows - 1)(rng);
        int64_t b = std::uniform_int_distribution<int64_t>(a + 1, rows)(rng);
        if (m % 2 == 0) a = 0, b = rows;
        const float sentinel = -12345.0f;
        std::vector<float> y(m * rows, sentinel);
        matmul(c.rp(), x, y.data(), rows, a, b);
        for (int64_t i = 0; i < m; ++i)
            for (int64_t r = 0; r < rows; ++r) {
                INFO("rows " << rows << " cols " << cols << " m " << m << " range " << a << ".." << b << " i " << i
                             << " r " << r);
                if (r < a || r >= b) {
                    REQUIRE(y[i * rows + r] == sentinel);
                    continue;
                }
                double dot, mag;
                reference(c, xf.data() + i * cols, r, dot, mag);
                const double err = std::fabs(y[i * rows + r] - dot);
                REQUIRE(err <= amx_bound(cols) * mag + 1e-30);
                if (mag > 0) worst = std::max(worst, err / mag);
            }
    }
    // Measured here: worst 2.3e-6 of sum |w*x| (~2^-18.7; the bound for k = 700 is 1.4e-4; at
    // k = 768 / 3072 / 333 with m = 20: 5.6e-7 / 3.1e-7 / 8.1e-7, the FMA kernel 1.8e-7 / 1.7e-7 /
    // 1.5e-7). ggml's F16 path rounds x to fp16: up to 2^-11 ~ 4.9e-4 per product.
    CHECK(worst < 1e-5);
}

TEST_CASE("F16 AMX GEMM is bit-identical for any row split and any batch size", "[kernels][amx][f16]") {
    if (!amx_bf16_here()) {
        WARN("AMX-BF16 / AVX512-BF16 not available here: nothing to check");
        return;
    }
    test::KernelDefaultsOnExit guard;
    set_amx_for_testing(true);
    std::mt19937 rng(7);
    for (int64_t m : {kF16AmxMinRows, int64_t{29}, int64_t{50}, int64_t{40}}) {
        // more than one panel (64 groups = 1024 rows: m = 40) and one k block (128) in some cases
        const int64_t rows = m == 40 ? std::uniform_int_distribution<int64_t>(1100, 1400)(rng)
                                     : std::uniform_int_distribution<int64_t>(17, 600)(rng);
        const int64_t cols = std::uniform_int_distribution<int64_t>(1, 600)(rng);
        const Case c = make_case(rows, cols, rng);
        const std::vector<float> xf = random_x(m, cols, rng);
        Activations x;
        x.prepare(TensorType::F16, xf.data(), m, cols);
        INFO("rows " << rows << " cols " << cols << " m " << m);
        std::vector<float> whole(m * rows, std::nanf(""));
        matmul(c.rp(), x, whole.data(), rows, 0, rows);
        for (int trial = 0; trial < 3; ++trial) {
            int64_t a = std::uniform_int_distribution<int64_t>(0, rows)(rng);
            int64_t b = std::uniform_int_distribution<int64_t>(0, rows)(rng);
            if (a > b) std::swap(a, b);
            std::vector<float> y(m * rows, std::nanf(""));
            matmul(c.rp(), x, y.data(), rows, 0, a);
            matmul(c.rp(), x, y.data(), rows, a, b);
            for (int64_t r = b; r < rows; r += 5) matmul(c.rp(), x, y.data(), rows, r, std::min(rows, r + 5));
            INFO("split " << a << " " << b);
            REQUIRE(std::memcmp(y.data(), whole.data(), y.size() * sizeof(float)) == 0);
        }
        // The first kF16AmxMinRows rows alone, and the rows from 1 on, give the same bits.
        for (int64_t first : {int64_t{0}, int64_t{1}}) {
            const int64_t n = first == 0 ? kF16AmxMinRows : m - 1;
            if (n < kF16AmxMinRows) continue;
            Activations part;
            part.prepare(TensorType::F16, xf.data() + first * cols, n, cols);
            std::vector<float> y(n * rows, std::nanf(""));
            matmul(c.rp(), part, y.data(), rows, 0, rows);
            INFO("batch of " << n << " from row " << first);
            REQUIRE(std::memcmp(y.data(), whole.data() + first * rows, y.size() * sizeof(float)) == 0);
        }
    }
}

TEST_CASE("F16 GEMM with AMX on and off agree within the kernels' bounds", "[kernels][amx][f16]") {
    if (!amx_bf16_here()) {
        WARN("AMX-BF16 / AVX512-BF16 not available here: nothing to compare");
        return;
    }
    test::KernelDefaultsOnExit guard;
    std::mt19937 rng(9);
    // GPT-2 widths (768, 3072) and a ragged one
    for (int64_t cols : {768, 3072, 333}) {
        const int64_t m = kF16AmxMinRows + 4, rows = 40;
        const Case c = make_case(rows, cols, rng);
        const std::vector<float> xf = random_x(m, cols, rng);
        Activations x;
        x.prepare(TensorType::F16, xf.data(), m, cols);
        std::vector<float> on(m * rows), off(m * rows);
        set_amx_for_testing(true);
        REQUIRE(active_amx_bf16());
        matmul(c.rp(), x, on.data(), rows, 0, rows);
        set_amx_for_testing(false);
        REQUIRE_FALSE(active_amx_bf16());
        matmul(c.rp(), x, off.data(), rows, 0, rows);
        bool differs = false;
        for (int64_t i = 0; i < m; ++i)
            for (int64_t r = 0; r < rows; ++r) {
                double dot, mag;
                reference(c, xf.data() + i * cols, r, dot, mag);
                INFO("cols " << cols << " i " << i << " r " << r);
                REQUIRE(std::fabs(on[i * rows + r] - off[i * rows + r]) <= (amx_bound(cols) + fma_bound(cols)) * mag);
                differs = differs || on[i * rows + r] != off[i * rows + r];
            }
        CHECK(differs);  // the switch really changed the kernel
    }
}
