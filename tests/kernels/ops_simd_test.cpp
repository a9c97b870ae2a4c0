// The vectorised GELU, clamped SwiGLU, sum_exp and argmax (kernels/ops_avx2.cpp, ops_avx512.cpp) against their scalar references,
// at every ISA the machine has: random values over the range activations take, large values (exp
// overflow and underflow), and lengths with tails that are not a multiple of the vector width.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <limits>
#include <cstring>
#include <random>
#include <vector>

#include "kernels/isa.h"
#include "kernels/ops.h"

using namespace silica;

namespace {

// |fast - ref| <= 2e-6 |ref| + 2e-7 |input|: relative, plus an absolute part in units of the input
// because the references lose digits where the output is tiny next to it (GELU's reference forms
// 1 + tanh(u) near tanh = -1; the kernel computes x / (1 + exp(-2u)) instead, more accurately).
void check_close(const std::vector<float>& fast, const std::vector<float>& ref, const std::vector<float>& input) {
    for (size_t i = 0; i < ref.size(); ++i) {
        INFO("i " << i << " input " << input[i] << " ref " << ref[i] << " fast " << fast[i]);
        REQUIRE(std::isfinite(fast[i]));
        CHECK(std::fabs(fast[i] - ref[i]) <= 2e-6f * std::fabs(ref[i]) + 2e-7f * std::fabs(input[i]));
    }
}

std::vector<float> random_values(std::mt19937& rng, int64_t n, float spread) {
    std::normal_distribution<float> normal(0.0f, spread);
    std::vector<float> v(static_cast<size_t>(n));
    for (auto& x : v) x = normal(rng);
    // A few extremes: exp overflow/underflow inside the kernels must still give the limits.
    if (n > 3) {
        v[0] = 1e4f;
        v[1] = -1e4f;
        v[2] = 0.0f;
    }
    return v;
}

}  // namespace

TEST_CASE("gelu_tanh matches the scalar reference at every ISA", "[kernels][ops]") {
    std::mt19937 rng(11);
    for (int isa = 0; isa <= static_cast<int>(kernels::detected_isa()); ++isa) {
        kernels::set_isa_for_testing(static_cast<kernels::Isa>(isa));
        for (int64_t n : {1, 5, 15, 16, 17, 33, 768, 3072 + 7}) {
            for (float spread : {0.01f, 1.0f, 4.0f}) {
                INFO("isa " << isa << " n " << n << " spread " << spread);
                const std::vector<float> input = random_values(rng, n, spread);
                std::vector<float> fast = input, ref = input;
                kernels::gelu_tanh(fast.data(), n);
                kernels::gelu_tanh_reference(ref.data(), n);
                check_close(fast, ref, input);
            }
        }
    }
    kernels::reset_isa_for_testing();
}

TEST_CASE("swiglu_clamped matches the scalar reference at every ISA, also in place", "[kernels][ops]") {
    std::mt19937 rng(12);
    const float alpha = 1.702f, limit = 7.0f;
    for (int isa = 0; isa <= static_cast<int>(kernels::detected_isa()); ++isa) {
        kernels::set_isa_for_testing(static_cast<kernels::Isa>(isa));
        for (int64_t n : {1, 9, 16, 31, 2880}) {
            for (float spread : {0.1f, 3.0f, 20.0f}) {
                INFO("isa " << isa << " n " << n << " spread " << spread);
                const std::vector<float> gate = random_values(rng, n, spread), up = random_values(rng, n, spread);
                std::vector<float> fast(static_cast<size_t>(n)), ref(static_cast<size_t>(n));
                kernels::swiglu_clamped(gate.data(), up.data(), fast.data(), n, alpha, limit);
                kernels::swiglu_clamped_reference(gate.data(), up.data(), ref.data(), n, alpha, limit);
                check_close(fast, ref, gate);
                std::vector<float> in_place = gate;  // out aliases gate, as the MoE uses it
                kernels::swiglu_clamped(in_place.data(), up.data(), in_place.data(), n, alpha, limit);
                CHECK(in_place == fast);
            }
        }
    }
    kernels::reset_isa_for_testing();
}

TEST_CASE("vectorised layer norm matches the scalar reference at every ISA", "[kernels][ops]") {
    std::mt19937 rng(9);
    for (int isa = 0; isa <= static_cast<int>(kernels::detected_isa()); ++isa) {
        kernels::set_isa_for_testing(static_cast<kernels::Isa>(isa));
        for (int64_t n : {1, 7, 16, 33, 768, 1000}) {
            for (float offset : {0.0f, 50.0f}) {  // a residual stream can sit far from zero
                std::vector<float> x = random_values(rng, n, 3.0f), w = random_values(rng, n, 1.0f),
                                   b = random_values(rng, n, 1.0f);
                if (n > 3) x[0] = x[1] = x[2] = 0.5f;  // no extremes here: a norm of 1e4 swamps all else
                for (auto& v : x) v += offset;
                for (const float* bias : {static_cast<const float*>(b.data()), static_cast<const float*>(nullptr)}) {
                    std::vector<float> fast(static_cast<size_t>(n)), ref(static_cast<size_t>(n));
                    kernels::layer_norm(x.data(), w.data(), bias, fast.data(), n, 1e-5f);
                    kernels::layer_norm_reference(x.data(), w.data(), bias, ref.data(), n, 1e-5f);
                    INFO("isa " << isa << " n " << n << " offset " << offset << " bias " << (bias != nullptr));
                    for (int64_t i = 0; i < n; ++i) {
                        INFO("i " << i << " ref " << ref[i] << " fast " << fast[i]);
                        // The normalised value is O(1): 1e-6 of (|w| + |b|) bounds the float rounding.
                        CHECK(std::fabs(fast[i] - ref[i]) <= 1e-6f * (std::fabs(w[i]) + (bias ? std::fabs(bias[i]) : 0.0f)) + 1e-7f);
                    }
                    // In place (y == x) gives the same.
                    std::vector<float> inplace = x;
                    kernels::layer_norm(inplace.data(), w.data(), bias, inplace.data(), n, 1e-5f);
                    REQUIRE(inplace == fast);
                }
            }
        }
    }
    kernels::reset_isa_for_testing();
}

TEST_CASE("vectorised add and fused add + GELU equal add then GELU at every ISA", "[kernels][ops]") {
    std::mt19937 rng(10);
    for (int isa = 0; isa <= static_cast<int>(kernels::detected_isa()); ++isa) {
        kernels::set_isa_for_testing(static_cast<kernels::Isa>(isa));
        for (int64_t n : {1, 15, 16, 17, 100, 1536}) {
            const std::vector<float> x = random_values(rng, n, 3.0f), b = random_values(rng, n, 1.0f);
            INFO("isa " << isa << " n " << n);
            // add: exact (one float addition per element, in any ISA).
            std::vector<float> sum = x;
            kernels::add(sum.data(), b.data(), n);
            for (int64_t i = 0; i < n; ++i) REQUIRE(sum[i] == x[i] + b[i]);
            // add_gelu_tanh: bit for bit what add then gelu_tanh give at this ISA.
            std::vector<float> fused = x, split = x;
            kernels::add_gelu_tanh(fused.data(), b.data(), n);
            kernels::add(split.data(), b.data(), n);
            kernels::gelu_tanh(split.data(), n);
            REQUIRE(std::memcmp(fused.data(), split.data(), sizeof(float) * n) == 0);
        }
    }
    kernels::reset_isa_for_testing();
}

TEST_CASE("sum_exp matches the scalar reference at every ISA", "[kernels][ops]") {
    std::mt19937 rng(12);
    for (int isa = 0; isa <= static_cast<int>(kernels::detected_isa()); ++isa) {
        kernels::set_isa_for_testing(static_cast<kernels::Isa>(isa));
        for (int64_t n : {1, 15, 16, 17, 31, 32, 33, 50257}) {
            for (float spread : {0.1f, 3.0f, 30.0f}) {
                INFO("isa " << isa << " n " << n << " spread " << spread);
                std::normal_distribution<float> normal(0.0f, spread);
                std::vector<float> x(static_cast<size_t>(n));
                for (auto& v : x) v = normal(rng);
                if (n > 3) x[1] = -std::numeric_limits<float>::infinity();  // a masked-out logit adds 0
                float shift = -std::numeric_limits<float>::infinity();
                for (float v : x) shift = std::max(shift, v);
                const double ref = kernels::sum_exp_reference(x.data(), n, shift);
                const double fast = kernels::sum_exp(x.data(), n, shift);
                REQUIRE(ref >= 1.0);  // the maximum itself adds exp(0)
                CHECK(std::fabs(fast - ref) <= 1e-5 * ref);
            }
        }
    }
    kernels::reset_isa_for_testing();
}

TEST_CASE("argmax gives the scalar reference's index at every ISA", "[kernels][ops]") {
    // Random logits with planted ties, NaNs, infinities and all -inf / NaN rows: the same index
    // (ties to the lowest, NaN never, +inf as the largest finite float) at every ISA.
    const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
    std::mt19937 rng(13);
    for (int isa = 0; isa <= static_cast<int>(kernels::detected_isa()); ++isa) {
        kernels::set_isa_for_testing(static_cast<kernels::Isa>(isa));
        for (int64_t n : {1, 15, 16, 17, 31, 32, 33, 50257}) {
            for (int trial = 0; trial < 12; ++trial) {
                std::normal_distribution<float> normal(0.0f, 3.0f);
                std::vector<float> x(static_cast<size_t>(n));
                for (auto& v : x) v = normal(rng);
                auto at = [&] { return static_cast<size_t>(std::uniform_int_distribution<int64_t>(0, n - 1)(rng)); };
                switch (trial % 6) {
                    case 1: x[at()] = 100.0f; x[at()] = 100.0f; break;                   // a tie at the top
                    case 2: x[at()] = nan; x[at()] = nan; break;                         // NaN never wins
                    case 3: x[at()] = inf; x[at()] = FLT_MAX; x[at()] = inf; break;      // +inf ties FLT_MAX
                    case 4: for (auto& v : x) v = trial / 6 ? -inf : nan; break;        // nothing to choose
                    case 5: for (auto& v : x) v = 0.0f; x[at()] = -0.0f; break;          // signed zeros tie
                    default: break;
                }
                INFO("isa " << isa << " n " << n << " trial " << trial);
                const int64_t ref = kernels::argmax_reference(x.data(), n);
                CHECK(kernels::argmax(x.data(), n) == ref);
                if (trial % 6 == 4) CHECK(ref == -1);
                if (trial % 6 == 5) CHECK(ref == 0);
            }
        }
    }
    kernels::reset_isa_for_testing();
}
