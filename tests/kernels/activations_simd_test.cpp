// Activations::prepare quantizes with AVX2 / AVX-512 when it can (kernels/activations_avx*.cpp): the
// blocks and their sums must be bit-identical to the scalar quantize_activations_q8 at every ISA.
#include <catch2/catch.hpp>
#include <cstring>
#include <random>
#include <vector>

#include "kernels/activations.h"
#include "kernels/isa.h"
#include "kernels/matmul.h"

using namespace silica;
using namespace silica::kernels;

TEST_CASE("prepared int8 activations equal the scalar quantizer bit for bit at every ISA", "[kernels][activations]") {
    std::mt19937 rng(21);
    for (int isa = 0; isa <= static_cast<int>(detected_isa()); ++isa) {
        set_isa_for_testing(static_cast<Isa>(isa));
        for (int64_t m : {1, 3}) {
            for (int64_t k : {32, 96, 768, 2880}) {
                INFO("isa " << isa << " m " << m << " k " << k);
                std::normal_distribution<float> normal(0.0f, 2.0f);
                std::vector<float> x(static_cast<size_t>(m * k));
                for (auto& v : x) v = normal(rng);
                // Blocks that are all zero, hold ties (x / d exactly halfway) or one huge value.
                std::fill(x.begin(), x.begin() + 32, 0.0f);
                if (k >= 96) {
                    for (int j = 0; j < 32; ++j) x[32 + j] = static_cast<float>(j - 16) * 0.5f + (j == 0 ? -0.5f : 0.0f);
                    x[64] = 1e30f;
                }
                Activations act;
                act.prepare(TensorType::Q8_0, x.data(), m, k);
                const int64_t nb = k / 32;
                std::vector<ActBlockQ8> ref(static_cast<size_t>(m * nb));
                for (int64_t i = 0; i < m; ++i) quantize_activations_q8(x.data() + i * k, ref.data() + i * nb, k);
                for (int64_t b = 0; b < m * nb; ++b) {
                    INFO("block " << b);
                    REQUIRE(std::memcmp(&act.q8()[b], &ref[static_cast<size_t>(b)], sizeof(ActBlockQ8)) == 0);
                    int32_t sum = 0;
                    for (int j = 0; j < 32; ++j) sum += ref[static_cast<size_t>(b)].qs[j];
                    REQUIRE(act.q8_sums()[b] == sum);
                }
            }
        }
    }
    reset_isa_for_testing();
}
