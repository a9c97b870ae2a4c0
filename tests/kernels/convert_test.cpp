// The SIMD F16/BF16 row conversions agree bit for bit with quant's scalar dequantize_row.
#include <catch2/catch.hpp>
#include <random>
#include <vector>

#include "kernels/convert.h"
#include "kernels/isa.h"
#include "quant/dequantize.h"

using namespace silica;

TEST_CASE("to_f32 matches dequantize_row for F16 and BF16 at every ISA", "[kernels][convert]") {
    std::mt19937 rng(7);
    for (TensorType type : {TensorType::F16, TensorType::BF16}) {
        for (int isa = 0; isa <= static_cast<int>(kernels::detected_isa()); ++isa) {
            kernels::set_isa_for_testing(static_cast<kernels::Isa>(isa));
            for (int64_t n : {1, 7, 8, 9, 64, 100}) {
                std::vector<uint16_t> src(n);
                for (auto& v : src) v = static_cast<uint16_t>(rng());
                std::vector<float> fast(n), ref(n);
                kernels::to_f32(type, src.data(), fast.data(), n);
                dequantize_row(type, src.data(), ref.data(), n);
                for (int64_t i = 0; i < n; ++i) {
                    INFO("type " << static_cast<int>(type) << " isa " << isa << " n " << n << " i " << i);
                    // NaNs compare by bit pattern class: both must be NaN.
                    if (std::isnan(ref[i])) CHECK(std::isnan(fast[i]));
                    else CHECK(fast[i] == ref[i]);
                }
            }
        }
    }
    kernels::reset_isa_for_testing();
}
