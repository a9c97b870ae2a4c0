// The oneDNN path for float-weight prefill (kernels/matmul_onednn.h): taken exactly when
// use_onednn() says so, matches the scalar reference (F32: 1e-5 * sum |w x|; BF16, whose
// activations are rounded to bf16: 2^-8 * sum |w x|), and gives bit-identical outputs for any
// split of the rows (chunks of kOneDnnChunkRows aligned to row 0).
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "kernels/activations.h"
#include "kernels/isa.h"
#include "kernels/matmul.h"
#include "kernels/matmul_onednn.h"
#include "kernels/matmul_ref.h"
#include "tests/kernel_switches.h"

using namespace silica;
using namespace silica::kernels;

TEST_CASE("oneDNN float prefill matches the reference and is split-invariant", "[onednn]") {
    test::KernelDefaultsOnExit guard;
    set_onednn_enabled(true);
    std::mt19937 rng(17);
    std::uniform_real_distribution<float> uni(-1.0f, 1.0f);
    for (TensorType t : {TensorType::F32, TensorType::BF16}) {
        const int64_t min_rows = onednn_min_rows(t);
        REQUIRE(min_rows > 0);
        for (int64_t m : {min_rows, min_rows + 5}) {
            const int64_t rows = std::uniform_int_distribution<int64_t>(kOneDnnChunkRows + 1, 3 * kOneDnnChunkRows + 7)(rng);
            const int64_t k = std::uniform_int_distribution<int64_t>(1, 200)(rng);
            const size_t elem = t == TensorType::F32 ? 4 : 2;
            const size_t stride = elem * (k + std::uniform_int_distribution<int64_t>(0, 3)(rng));  // padded rows
            std::vector<uint8_t> wdata(stride * rows);
            std::vector<float> wf(rows * k);
            for (int64_t r = 0; r < rows; ++r)
                for (int64_t j = 0; j < k; ++j) {
                    const float v = uni(rng);
                    if (t == TensorType::F32) {
                        std::memcpy(wdata.data() + r * stride + 4 * j, &v, 4);
                        wf[r * k + j] = v;
                    } else {
                        const uint16_t h = f32_to_bf16(v);
                        std::memcpy(wdata.data() + r * stride + 2 * j, &h, 2);
                        wf[r * k + j] = bf16_to_f32(h);
                    }
                }
            std::vector<float> xf(m * k);
            for (auto& v : xf) v = uni(rng);
            const Matrix w{t, rows, k, wdata.data(), stride};
            Activations x;
            x.prepare(t, xf.data(), m, k);
            INFO(type_traits(t).name << " m " << m << " rows " << rows << " k " << k);
            const bool expected = active_isa() == Isa::avx512 && (t == TensorType::F32 || active_avx512_bf16());
            REQUIRE(use_onednn(w, x) == expected);
            if (!expected) continue;  // this machine cannot take the path: nothing more to check
            Activations fewer;
            fewer.prepare(t, xf.data(), min_rows - 1, k);
            REQUIRE_FALSE(use_onednn(w, fewer));

            std::vector<float> ref(m * rows), y(m * rows, std::nanf(""));
            matmul_reference(w, x, ref.data(), rows, 0, rows);
            matmul(w, x, y.data(), rows, 0, rows);
            const double rel = t == TensorType::F32 ? 1e-5 : std::ldexp(1.0, -8);
            for (int64_t i = 0; i < m; ++i)
                for (int64_t r = 0; r < rows; ++r) {
                    double mag = 0;
                    for (int64_t j = 0; j < k; ++j) mag += std::fabs(static_cast<double>(wf[r * k + j]) * xf[i * k + j]);
                    INFO("i " << i << " r " << r << " got " << y[i * rows + r] << " ref " << ref[i * rows + r]);
                    REQUIRE(std::fabs(y[i * rows + r] - ref[i * rows + r]) <= rel * mag + 1e-30);
                }
            for (int trial = 0; trial < 5; ++trial) {
                int64_t a = std::uniform_int_distribution<int64_t>(0, rows)(rng);
                int64_t b = std::uniform_int_distribution<int64_t>(0, rows)(rng);
                if (a > b) std::swap(a, b);
                std::vector<float> z(m * rows, std::nanf(""));
                matmul(w, x, z.data(), rows, 0, a);
                matmul(w, x, z.data(), rows, a, b);
                for (int64_t r = b; r < rows; r += 3) matmul(w, x, z.data(), rows, r, std::min(rows, r + 3));
                INFO("split " << a << " " << b);
                REQUIRE(std::memcmp(z.data(), y.data(), z.size() * sizeof(float)) == 0);
            }
            set_onednn_enabled(false);
            REQUIRE_FALSE(use_onednn(w, x));
            set_onednn_enabled(true);
        }
    }
}
