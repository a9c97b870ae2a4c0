// Randomized checks of every matmul kernel against the scalar references, at every ISA the machine
// has. Tolerances (all derived per output element, not hand-tuned constants):
//  * scalar ISA vs matmul_reference: bit-identical (it is the reference).
//  * int8 kernels vs matmul_reference_int8 (same integer products, different float summation
//    order): |diff| <= 1e-5 * sum over blocks of |d_w * d_x * isum| + |m_w * s_x|.
//  * int8 kernels vs the dequantize-then-float reference: the activation quantization noise bound
//    sum_j |w_j| * (max|x| in j's block) / 254, plus 1e-5 * sum |w_j x_j|.
//  * F32/F16 kernels vs the reference: 1e-5 * sum |w_j x_j|; BF16 with vdpbf16ps rounds the
//    activations to bf16 (relative error <= 2^-9): 2^-8 * sum |w_j x_j|.
//  * Any split of the row range gives bit-identical outputs.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "kernels/isa.h"
#include "kernels/matmul.h"
#include "kernels/matmul_ref.h"
#include "quant/blocks.h"
#include "quant/dequantize.h"
#include "tests/kernel_switches.h"
#include "include/silica/error.h"  // tests do not get include/ on their path (see report)

using namespace silica;
using namespace silica::kernels;

namespace {

const TensorType kAllTypes[] = {TensorType::F32,  TensorType::F16,  TensorType::BF16, TensorType::Q8_0,
                                TensorType::Q4_0, TensorType::Q4_1, TensorType::Q5_0, TensorType::Q5_1,
                                TensorType::MXFP4, TensorType::Q4_K, TensorType::Q5_K, TensorType::Q6_K};

// A positive normal fp16 with exponent in [lo, hi] (value ~ 2^(e-15)), random mantissa and sign.
uint16_t random_fp16(std::mt19937& rng, int lo, int hi, bool allow_negative) {
    const int e = std::uniform_int_distribution<int>(lo, hi)(rng);
    const int mant = std::uniform_int_distribution<int>(0, 1023)(rng);
    const int sign = allow_negative ? std::uniform_int_distribution<int>(0, 1)(rng) : 0;
    return static_cast<uint16_t>((sign << 15) | (e << 10) | mant);
}

void put_u16(uint8_t* p, uint16_t v) { std::memcpy(p, &v, 2); }

// Random but valid weight bytes: every code pattern is legal; scales are kept finite and moderate.
std::vector<uint8_t> random_weights(TensorType t, int64_t rows, int64_t cols, std::mt19937& rng) {
    const TypeTraits tr = type_traits(t);
    const size_t nbytes = row_bytes(tr, cols) * rows;
    std::vector<uint8_t> data(nbytes);
    std::uniform_int_distribution<int> byte(0, 255);
    for (auto& b : data) b = static_cast<uint8_t>(byte(rng));
    std::uniform_real_distribution<float> uni(-1.0f, 1.0f);
    const int64_t nblocks = static_cast<int64_t>(nbytes) / tr.block_bytes;
    for (int64_t i = 0; i < nblocks; ++i) {
        uint8_t* p = data.data() + i * tr.block_bytes;
        switch (t) {
            case TensorType::F32: {
                const float v = uni(rng);
                std::memcpy(p, &v, 4);
                break;
            }
            case TensorType::F16: put_u16(p, random_fp16(rng, 8, 15, true)); break;
            case TensorType::BF16: {
                const float v = uni(rng);
                uint32_t u;
                std::memcpy(&u, &v, 4);
                put_u16(p, static_cast<uint16_t>(u >> 16));
                break;
            }
            case TensorType::Q8_0:
            case TensorType::Q4_0:
            case TensorType::Q5_0: put_u16(p, random_fp16(rng, 5, 10, true)); break;
            case TensorType::Q4_1:
            case TensorType::Q5_1:
            case TensorType::Q4_K:
            case TensorType::Q5_K:
                put_u16(p, random_fp16(rng, 5, 10, false));
                put_u16(p + 2, random_fp16(rng, 5, 10, true));
                break;
            case TensorType::Q6_K: put_u16(p + 208, random_fp16(rng, 5, 10, true)); break;
            case TensorType::MXFP4: p[0] = static_cast<uint8_t>(std::uniform_int_distribution<int>(118, 130)(rng)); break;
            default: FAIL("no generator for type");
        }
    }
    return data;
}

std::vector<float> random_activations(int64_t m, int64_t k, std::mt19937& rng) {
    std::vector<float> x(m * k);
    std::uniform_real_distribution<float> uni(-1.0f, 1.0f);
    for (int64_t i = 0; i < m; ++i) {
        const float scale = std::ldexp(1.0f, std::uniform_int_distribution<int>(-3, 4)(rng));  // rows of varied size
        for (int64_t j = 0; j < k; ++j) x[i * k + j] = uni(rng) * scale;
    }
    return x;
}

struct Problem {
    TensorType type;
    int64_t rows, k, m;
    std::vector<uint8_t> wdata;
    std::vector<float> xf;
    std::vector<float> wf;  // dequantized weights, rows x k
    Matrix w;
    Activations x;
};

void make_problem(Problem& p, TensorType t, int64_t rows, int64_t k, int64_t m, std::mt19937& rng) {
    p.type = t;
    p.rows = rows;
    p.k = k;
    p.m = m;
    p.wdata = random_weights(t, rows, k, rng);
    p.xf = random_activations(m, k, rng);
    p.w = Matrix{t, rows, k, p.wdata.data(), row_bytes(type_traits(t), k)};
    p.x.prepare(t, p.xf.data(), m, k);
    p.wf.resize(rows * k);
    for (int64_t r = 0; r < rows; ++r) dequantize_row(t, p.wdata.data() + r * p.w.row_stride, p.wf.data() + r * k, k);
}

std::vector<float> run(const Problem& p, int64_t r_begin, int64_t r_end, std::vector<float> y = {}) {
    if (y.empty()) y.assign(p.m * p.rows, std::nanf(""));
    matmul(p.w, p.x, y.data(), p.rows, r_begin, r_end);
    return y;
}

// sum_j |w_j x_j| for output (i, r).
double abs_dot(const Problem& p, int64_t i, int64_t r) {
    double s = 0;
    for (int64_t j = 0; j < p.k; ++j) s += std::fabs(static_cast<double>(p.wf[r * p.k + j]) * p.xf[i * p.k + j]);
    return s;
}

// The activation quantization noise bound for output (i, r): sum_j |w_j| * amax(block of j) / 254.
double quant_noise_bound(const Problem& p, int64_t i, int64_t r) {
    double s = 0;
    for (int64_t b = 0; b < p.k / 32; ++b) {
        float amax = 0;
        for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(p.xf[i * p.k + b * 32 + j]));
        double wsum = 0;
        for (int j = 0; j < 32; ++j) wsum += std::fabs(p.wf[r * p.k + b * 32 + j]);
        s += wsum * amax / 254.0;
    }
    return s * 1.0001;
}

// sum over blocks of |d_w d_x isum| + |m_w s_x|: the magnitude the int8 kernels sum in float.
double int8_magnitude(const Problem& p, int64_t i, int64_t r) {
    const int64_t nb = p.k / 32;
    double s = 0;
    DecodedBlockQ8 wb;
    for (int64_t b = 0; b < nb; ++b) {
        decode_block_int8(p.type, p.w.data + r * p.w.row_stride, b, wb);
        const ActBlockQ8& xb = p.x.q8()[i * nb + b];
        // each half separately: the kernels may round each scaled half (Q6_K) on its own
        for (int h = 0; h < 2; ++h) {
            int32_t isum = 0;
            for (int j = 16 * h; j < 16 * h + 16; ++j) isum += wb.q[j] * xb.qs[j];
            s += std::fabs(static_cast<double>(wb.d) * xb.d * wb.sc[h] * isum);
        }
        s += std::fabs(static_cast<double>(wb.m) * xb.s);
    }
    return s;
}

std::vector<Isa> machine_isas() {
    std::vector<Isa> out;
    for (int i = 0; i <= static_cast<int>(detected_isa()); ++i) out.push_back(static_cast<Isa>(i));
    return out;
}

int64_t random_k(TensorType t, std::mt19937& rng) {
    const int64_t bs = type_traits(t).block_size;
    if (bs == 1) return std::uniform_int_distribution<int64_t>(1, 300)(rng);  // includes non-multiples of 8/16
    return bs * std::uniform_int_distribution<int64_t>(1, bs == 32 ? 9 : 3)(rng);
}

}  // namespace

TEST_CASE("matmul matches the scalar references for every type and ISA", "[matmul]") {
    test::KernelDefaultsOnExit guard;
    std::mt19937 rng(1234);
    for (TensorType t : kAllTypes) {
        for (int64_t m : {1, 2, 3, 5, 8}) {
            Problem p;
            const int64_t rows = std::uniform_int_distribution<int64_t>(1, 23)(rng);
            make_problem(p, t, rows, random_k(t, rng), m, rng);
            INFO("type " << type_traits(t).name << " rows " << rows << " k " << p.k << " m " << m);
            std::vector<float> ref(m * rows), ref8(m * rows);
            matmul_reference(p.w, p.x, ref.data(), rows, 0, rows);
            if (has_int8_kernel(t)) matmul_reference_int8(p.w, p.x, ref8.data(), rows, 0, rows);
            // The float reference itself against a direct dot of the dequantized weights.
            for (int64_t i = 0; i < m; ++i)
                for (int64_t r = 0; r < rows; ++r) {
                    double d = 0;
                    for (int64_t j = 0; j < p.k; ++j) d += static_cast<double>(p.wf[r * p.k + j]) * p.xf[i * p.k + j];
                    REQUIRE(ref[i * rows + r] == static_cast<float>(d));
                }
            for (Isa isa : machine_isas()) {
                for (bool bf16 : {true, false}) {
                    if (!bf16 && !(isa == Isa::avx512 && t == TensorType::BF16 && detected_avx512_bf16())) continue;
                    set_isa_for_testing(isa, bf16);
                    INFO("isa " << isa_name(isa) << " bf16 " << bf16);
                    const std::vector<float> y = run(p, 0, rows);
                    const bool int8_path = isa != Isa::scalar && has_int8_kernel(t);
                    for (int64_t i = 0; i < m; ++i)
                        for (int64_t r = 0; r < rows; ++r) {
                            const float got = y[i * rows + r];
                            INFO("i " << i << " r " << r << " got " << got << " ref " << ref[i * rows + r]);
                            if (isa == Isa::scalar) {
                                // No SIMD kernel: the reference itself.
                                REQUIRE(got == ref[i * rows + r]);
                            } else if (int8_path) {
                                const double tol8 = 1e-5 * int8_magnitude(p, i, r) + 1e-30;
                                REQUIRE(std::fabs(got - ref8[i * rows + r]) <= tol8);
                                const double tolq = quant_noise_bound(p, i, r) + 1e-5 * abs_dot(p, i, r) + 1e-30;
                                REQUIRE(std::fabs(got - ref[i * rows + r]) <= tolq);
                            } else {
                                const bool dpbf16 = t == TensorType::BF16 && active_avx512_bf16();
                                const double tol = (dpbf16 ? std::ldexp(1.0, -8) : 1e-5) * abs_dot(p, i, r) + 1e-30;
                                REQUIRE(std::fabs(got - ref[i * rows + r]) <= tol);
                            }
                        }
                }
            }
        }
    }
}

TEST_CASE("matmul output does not depend on how rows are split", "[matmul]") {
    test::KernelDefaultsOnExit guard;
    std::mt19937 rng(99);
    for (TensorType t : kAllTypes) {
        for (int64_t m : {1, 3, 8}) {
            Problem p;
            const int64_t rows = std::uniform_int_distribution<int64_t>(9, 29)(rng);
            make_problem(p, t, rows, random_k(t, rng), m, rng);
            for (Isa isa : machine_isas()) {
                set_isa_for_testing(isa);
                INFO("type " << type_traits(t).name << " isa " << isa_name(isa) << " rows " << rows << " m " << m);
                const std::vector<float> whole = run(p, 0, rows);
                for (int trial = 0; trial < 4; ++trial) {
                    int64_t a = std::uniform_int_distribution<int64_t>(0, rows)(rng);
                    int64_t b = std::uniform_int_distribution<int64_t>(0, rows)(rng);
                    if (a > b) std::swap(a, b);
                    std::vector<float> y = run(p, 0, a);
                    y = run(p, a, b, y);
                    // the last part one row at a time
                    for (int64_t r = b; r < rows; ++r) y = run(p, r, r + 1, y);
                    REQUIRE(std::memcmp(y.data(), whole.data(), y.size() * sizeof(float)) == 0);
                }
            }
        }
    }
}

TEST_CASE("int8 block decoding agrees with dequantize_row", "[matmul]") {
    std::mt19937 rng(7);
    for (TensorType t : kAllTypes) {
        if (!has_int8_kernel(t)) continue;
        constexpr int kBlocks = 16;  // two K-quant super-blocks
        const std::vector<uint8_t> w = random_weights(t, 1, 32 * kBlocks, rng);
        std::vector<float> wf(32 * kBlocks);
        dequantize_row(t, w.data(), wf.data(), 32 * kBlocks);
        DecodedBlockQ8 db;
        for (int b = 0; b < kBlocks; ++b) {
            decode_block_int8(t, w.data(), b, db);
            for (int j = 0; j < 32; ++j) {
                const float v = db.d * static_cast<float>(db.sc[j / 16] * db.q[j]) + db.m;
                INFO(type_traits(t).name << " block " << b << " j " << j);
                REQUIRE(std::fabs(v - wf[b * 32 + j]) <= 1e-6f * std::fabs(wf[b * 32 + j]) + 1e-30f);
            }
        }
    }
}

TEST_CASE("activation quantization stays within half a step", "[matmul]") {
    std::mt19937 rng(5);
    const std::vector<float> x = random_activations(1, 32 * 6, rng);
    std::vector<ActBlockQ8> q(6);
    quantize_activations_q8(x.data(), q.data(), 32 * 6);
    for (int b = 0; b < 6; ++b) {
        int sum = 0;
        for (int j = 0; j < 32; ++j) {
            REQUIRE(std::fabs(q[b].d * q[b].qs[j] - x[b * 32 + j]) <= q[b].d * 0.5f * 1.0001f);
            sum += q[b].qs[j];
        }
        REQUIRE(q[b].s == q[b].d * static_cast<float>(sum));
    }
    const float zeros[32] = {};
    quantize_activations_q8(zeros, q.data(), 32);
    REQUIRE(q[0].d == 0.0f);
    for (int j = 0; j < 32; ++j) REQUIRE(q[0].qs[j] == 0);
}

TEST_CASE("matmul rejects mismatched inputs", "[matmul]") {
    std::mt19937 rng(3);
    Problem p;
    make_problem(p, TensorType::Q8_0, 4, 64, 2, rng);
    std::vector<float> y(8);
    Matrix w = p.w;
    CHECK_THROWS_AS(matmul(w, p.x, y.data(), 4, 0, 5), silica::Error);
    CHECK_THROWS_AS(matmul(w, p.x, y.data(), 4, 3, 2), silica::Error);
    CHECK_THROWS_AS(matmul(w, p.x, y.data(), 2, 0, 4), silica::Error);  // ldy too small for m = 2
    w.cols = 96;
    CHECK_THROWS_AS(matmul(w, p.x, y.data(), 4, 0, 4), silica::Error);
    w = p.w;
    w.type = TensorType::Q4_0;
    CHECK_THROWS_AS(matmul(w, p.x, y.data(), 4, 0, 4), silica::Error);
    Activations a;
    CHECK_THROWS_AS(a.prepare(TensorType::Q8_0, p.xf.data(), 1, 40), silica::Error);   // not a block multiple
    CHECK_THROWS_AS(a.prepare(TensorType::Q4_K, p.xf.data(), 1, 64), silica::Error);   // K-quants need 256
    CHECK_THROWS_AS(a.prepare(TensorType::Q2_K, p.xf.data(), 1, 256), silica::Error);  // no kernel
}
