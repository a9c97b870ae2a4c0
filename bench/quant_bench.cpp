// Scalar quantize_row / dequantize_row throughput per type. Counters:
//   quantized_bytes/s  bytes of blocks written (quantize) or read (dequantize) per second
//   floats/s           float elements read (quantize) or written (dequantize) per second
// Run: build/<dir>/bench/quant_bench [--benchmark_filter=Q8_0]
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "quant/dequantize.h"
#include "quant/quantize.h"

using namespace silica;

namespace {

constexpr int64_t kElements = 1 << 18;  // 256 Ki floats (1 MiB): fits in L2, so this measures compute

const TensorType kTypes[] = {TensorType::F16,  TensorType::BF16, TensorType::Q8_0, TensorType::Q4_0,
                             TensorType::Q4_1, TensorType::Q5_0, TensorType::Q5_1, TensorType::Q2_K,
                             TensorType::Q3_K, TensorType::Q4_K, TensorType::Q5_K, TensorType::Q6_K,
                             TensorType::MXFP4};

std::vector<float> gaussian_row() {
    std::mt19937 rng(42);
    std::normal_distribution<float> dist(0.0f, 0.02f);
    std::vector<float> x(kElements);
    for (auto& v : x) v = dist(rng);
    return x;
}

void set_counters(benchmark::State& state, size_t quantized) {
    const double iters = static_cast<double>(state.iterations());
    state.counters["quantized_bytes/s"] = benchmark::Counter(iters * static_cast<double>(quantized), benchmark::Counter::kIsRate);
    state.counters["floats/s"] = benchmark::Counter(iters * kElements, benchmark::Counter::kIsRate);
}

void BM_quantize(benchmark::State& state, TensorType type) {
    const auto x = gaussian_row();
    std::vector<uint8_t> q(quantized_bytes(type, kElements));
    for (auto _ : state) {
        quantize_row(type, x.data(), q.data(), kElements);
        benchmark::DoNotOptimize(q.data());
        benchmark::ClobberMemory();
    }
    set_counters(state, q.size());
}

void BM_dequantize(benchmark::State& state, TensorType type) {
    const auto x = gaussian_row();
    std::vector<uint8_t> q(quantized_bytes(type, kElements));
    quantize_row(type, x.data(), q.data(), kElements);
    std::vector<float> y(kElements);
    for (auto _ : state) {
        dequantize_row(type, q.data(), y.data(), kElements);
        benchmark::DoNotOptimize(y.data());
        benchmark::ClobberMemory();
    }
    set_counters(state, q.size());
}

const bool kRegistered = [] {
    for (TensorType t : kTypes) {
        const std::string name(type_traits(t).name);
        benchmark::RegisterBenchmark(("quantize/" + name).c_str(), BM_quantize, t)->Unit(benchmark::kMicrosecond);
        benchmark::RegisterBenchmark(("dequantize/" + name).c_str(), BM_dequantize, t)->Unit(benchmark::kMicrosecond);
    }
    return true;
}();

}  // namespace

BENCHMARK_MAIN();
