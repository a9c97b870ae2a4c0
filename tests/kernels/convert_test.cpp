// The SIMD F16/BF16 row conversions agree bit for bit with quant's scalar dequantize_row.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "kernels/convert.h"
#include "kernels/isa.h"
#include "quant/dequantize.h"
#include "quant/fp16.h"
#include "quant/quantize.h"

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

TEST_CASE("from_f32 to F16 matches quantize_row at every ISA, specials and rounding ties included",
          "[kernels][convert]") {
    std::mt19937 rng(9);
    std::vector<float> src;
    // Random bit patterns cover normals, subnormals, overflow and NaN; scaled normals land on
    // fp16's subnormal and overflow edges; exact ties test round-to-even.
    for (int i = 0; i < 4000; ++i) {
        const uint32_t bits = static_cast<uint32_t>(rng());
        float f;
        std::memcpy(&f, &bits, 4);
        src.push_back(f);
    }
    std::normal_distribution<float> normal;
    for (float scale : {1e-7f, 6e-5f, 1.0f, 3e4f, 7e4f})
        for (int i = 0; i < 500; ++i) src.push_back(scale * normal(rng));
    for (float tie : {1.0f + 1.0f / 2048, 1.0f + 3.0f / 2048, 65504.0f + 16.0f, 65520.0f, 5.9604645e-08f / 2})
        src.insert(src.end(), {tie, -tie});
    const int64_t n = static_cast<int64_t>(src.size());
    std::vector<uint16_t> ref(n), fast(n);
    quantize_row(TensorType::F16, src.data(), ref.data(), n);
    for (int isa = 0; isa <= static_cast<int>(kernels::detected_isa()); ++isa) {
        kernels::set_isa_for_testing(static_cast<kernels::Isa>(isa));
        for (int64_t len : {n, int64_t{13}}) {
            std::fill(fast.begin(), fast.end(), 0);
            kernels::from_f32(TensorType::F16, src.data(), fast.data(), len);
            for (int64_t i = 0; i < len; ++i) {
                INFO("isa " << isa << " x " << src[i] << " ref " << ref[i] << " fast " << fast[i]);
                if (std::isnan(src[i])) CHECK(std::isnan(fp16_to_f32(fast[i])));
                else CHECK(fast[i] == ref[i]);
            }
        }
    }
    kernels::reset_isa_for_testing();
}
