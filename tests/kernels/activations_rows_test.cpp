// Activations::reset + prepare_rows (what the engine's threads call, each on its own rows) must
// give exactly what prepare() gives for the whole batch, for every kind of weight type, in any
// order of the row ranges (AMX tiles included); and no type keeps a float copy: f32() is the
// caller's x.
#include <catch2/catch.hpp>
#include <cstring>
#include <random>
#include <vector>

#include "kernels/isa.h"
#include "kernels/matmul.h"
#include "silica/error.h"

using namespace silica;
using namespace silica::kernels;

TEST_CASE("activations prepared in row ranges equal one whole prepare", "[kernels][activations]") {
    std::mt19937 rng(5);
    std::normal_distribution<float> normal(0.0f, 3.0f);
    for (int isa = 0; isa <= static_cast<int>(detected_isa()); ++isa) {
        set_isa_for_testing(static_cast<Isa>(isa));
        for (TensorType t : {TensorType::Q8_0, TensorType::MXFP4, TensorType::F32, TensorType::BF16})
            for (int64_t m : {7, 20}) {  // 20: AMX tiles too, where the machine has AMX
                const int64_t k = 96;
                std::vector<float> x(static_cast<size_t>(m * k));
                for (auto& v : x) v = normal(rng);
                Activations whole, parts;
                whole.prepare(t, x.data(), m, k);
                parts.reset(t, x.data(), m, k);
                // Ranges in a scrambled order, one of them empty, as threads may finish in any order.
                for (auto [b, e] : {std::pair<int64_t, int64_t>{4, m}, {0, 1}, {2, 2}, {1, 4}})
                    parts.prepare_rows(b, e);
                INFO("isa " << isa << " type " << type_traits(t).name);
                REQUIRE(parts.rows() == m);
                REQUIRE(parts.cols() == k);
                REQUIRE(parts.f32() == x.data());  // no copy
                if (uses_q8_activations(t)) {
                    REQUIRE(std::memcmp(parts.q8(), whole.q8(), sizeof(ActBlockQ8) * m * k / 32) == 0);
                    REQUIRE(std::memcmp(parts.q8_sums(), whole.q8_sums(), sizeof(int32_t) * m * k / 32) == 0);
                }
                REQUIRE((parts.q8_tiles() == nullptr) == (whole.q8_tiles() == nullptr));
                if (whole.q8_tiles()) {
                    const int64_t m16 = (m + 15) / 16 * 16;
                    REQUIRE(std::memcmp(parts.q8_tiles(), whole.q8_tiles(), m16 * k) == 0);
                    REQUIRE(std::memcmp(parts.q8_tile_scales(), whole.q8_tile_scales(), sizeof(float) * m16 * k / 32) ==
                            0);
                    // Row i, block b of the tiles is row i's block b; padding rows are zero.
                    for (int64_t i = 0; i < m16; ++i)
                        for (int64_t b = 0; b < k / 32; ++b) {
                            const int64_t at = ((i / 16) * (k / 32) + b) * 16 + i % 16;
                            const float d = i < m ? whole.q8()[i * (k / 32) + b].d : 0.0f;
                            REQUIRE(whole.q8_tile_scales()[at] == d);
                            for (int j = 0; j < 32; ++j)
                                REQUIRE(whole.q8_tiles()[at * 32 + j] ==
                                        (i < m ? whole.q8()[i * (k / 32) + b].qs[j] : 0));
                        }
                }
                if (t == TensorType::BF16)
                    REQUIRE(std::memcmp(parts.bf16(), whole.bf16(), sizeof(uint16_t) * m * k) == 0);
            }
    }
    reset_isa_for_testing();
}

TEST_CASE("activation row ranges outside the batch are rejected", "[kernels][activations]") {
    std::vector<float> x(64, 1.0f);
    Activations a;
    a.reset(TensorType::Q8_0, x.data(), 2, 32);
    CHECK_THROWS_AS(a.prepare_rows(1, 3), silica::Error);
    CHECK_THROWS_AS(a.prepare_rows(-1, 1), silica::Error);
    CHECK_THROWS_AS(a.prepare_rows(2, 1), silica::Error);
    CHECK_THROWS_AS(a.reset(TensorType::Q8_0, nullptr, 2, 32), silica::Error);
    CHECK_NOTHROW(a.prepare_rows(0, 2));
}
