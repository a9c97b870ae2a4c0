// GEMV / GEMM throughput at the real shapes of GPT-2 and GPT-OSS-20B, per weight type and ISA.
//
//   matmul_bench --benchmark_filter='q8_0/gpt-oss'      (names: type/model-tensor/isa/m/threads)
//
// "q4_0-x16", "mxfp4-x16", "q8_0-x16" are the same matrices repacked at load time into the
// row-interleaved layout of quant/repack.h and multiplied by kernels/matmul_repacked.h (AVX2 and
// AVX-512; Q8_0 GEMM on AMX where available: SILICA_AMX=0 switches it off for an A/B run);
// Repacked types also run at m = 2, 4, 8, 16 (several sequences decoding together).
// "f16-x16" are F16 panels (AVX2 and AVX-512; from 16 rows on AMX-BF16 where available, and
// "f16-x16-noamx" the same with AMX off: the FMA kernel). The repacked kernels, and F16 in GGUF layout for
// comparison, also run at m = 512 (a prefill chunk), e.g.
//   matmul_bench --benchmark_filter='^f16.*/gpt2.*/avx512/m(1|512)/'
//
// Counters: GB/s of GGUF weight bytes read and GFLOP/s (2 * m * rows * cols per call), totals over
// all threads; bw_frac = GB/s / the read bandwidth the probe of apps/bench measures with as many
// threads (run once at start-up: matrices that stay in cache can exceed 1), and peak_frac =
// GFLOP/s / (threads x one core's measured peak, kernels/peak_throughput.h): the vpdpbusd peak
// for types with int8 activations, the FMA peak for F16/BF16/F32 (BF16 with vdpbf16ps and the
// AMX GEMM can exceed 1 against those). (With threads:N the Time column is wall time / (N * iterations per thread): multiply
// by N for the latency of one matmul call.) Activations are
// prepared once outside the timed loop (the engine prepares them once per batch and reuses them
// for every matrix of the same width). Threads split the rows statically as the engine does.
//
// m = 32 and 128 (repacked types): the rows a GPT-OSS expert sees in a prefill chunk of 256 or
// 1024 tokens. The matrix of a benchmark stays in cache between calls unless
// SILICA_BENCH_WEIGHT_COPIES=N is set: then the repacked calls cycle through N copies of it, so
// that (with N copies larger than the last-level cache) each call reads its weights from memory,
// as the engine's experts do (each is used once per layer and chunk), e.g.
//   SILICA_BENCH_WEIGHT_COPIES=32 matmul_bench --benchmark_filter='mxfp4-x16/gpt-oss-expert/avx512/m32/'
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "apps/bench/bandwidth_probe.h"
#include "apps/common/environment_settings.h"
#include "kernels/amx.h"
#include "kernels/isa.h"
#include "kernels/kernel_traits.h"
#include "kernels/matmul.h"
#include "kernels/peak_throughput.h"
#include "kernels/matmul_repacked.h"
#include "quant/repack.h"
#include "quant/types.h"

using namespace silica;
using namespace silica::kernels;

namespace {

struct Shape {
    const char* name;
    int64_t rows, cols;
};
const Shape kShapes[] = {
    {"gpt2-qkv", 2304, 768},         {"gpt2-fc", 3072, 768},          {"gpt2-proj", 768, 3072},
    {"gpt2-output", 50257, 768},     {"gpt-oss-attn", 2880, 2880},    {"gpt-oss-expert", 5760, 2880},
    {"gpt-oss-5760in", 2880, 5760},  {"gpt-oss-output", 201088, 2880},
    {"gpt2m-qkv", 3072, 1024},       {"gpt2m-fc", 4096, 1024},        {"gpt2m-proj", 1024, 4096},
};
const TensorType kTypes[] = {TensorType::Q8_0, TensorType::Q4_0, TensorType::MXFP4, TensorType::Q4_K,
                             TensorType::Q5_K, TensorType::Q6_K, TensorType::F16,   TensorType::BF16,
                             TensorType::F32};

// Valid random bytes for one 64-row tile, repeated to fill the matrix (filling gigabytes with a
// random generator would dominate the run; repetition does not change memory traffic).
void fill_weights(TensorType t, int64_t rows, int64_t cols, std::vector<uint8_t>& out) {
    const TypeTraits tr = type_traits(t);
    const size_t rb = row_bytes(tr, cols);
    const int64_t tile_rows = std::min<int64_t>(rows, 64);
    std::vector<uint8_t> tile(rb * tile_rows);
    std::mt19937 rng(42);
    std::uniform_int_distribution<int> byte(0, 255);
    for (auto& b : tile) b = static_cast<uint8_t>(byte(rng));
    const int64_t nblocks = static_cast<int64_t>(tile.size()) / tr.block_bytes;
    for (int64_t i = 0; i < nblocks; ++i) {
        uint8_t* p = tile.data() + i * tr.block_bytes;
        const uint16_t h = static_cast<uint16_t>(0x2000 | (byte(rng) << 2));  // small positive fp16
        switch (t) {
            case TensorType::F32: { const float v = (byte(rng) - 128) / 128.0f; std::memcpy(p, &v, 4); break; }
            case TensorType::F16:
            case TensorType::Q8_0:
            case TensorType::Q4_0: std::memcpy(p, &h, 2); break;
            case TensorType::BF16: { const uint16_t b = static_cast<uint16_t>(0x3c00 | byte(rng)); std::memcpy(p, &b, 2); break; }
            case TensorType::MXFP4: p[0] = static_cast<uint8_t>(120 + byte(rng) % 8); break;
            case TensorType::Q4_K:
            case TensorType::Q5_K: std::memcpy(p, &h, 2); std::memcpy(p + 2, &h, 2); break;
            case TensorType::Q6_K: std::memcpy(p + 208, &h, 2); break;
            default: break;
        }
    }
    out.resize(rb * rows);
    for (int64_t r = 0; r < rows; r += tile_rows) {
        const int64_t n = std::min(tile_rows, rows - r);
        std::memcpy(out.data() + rb * r, tile.data(), rb * n);
    }
}

// One matrix at a time (the largest is 2.3 GB in F32): benchmarks are registered grouped by
// (type, shape), so consecutive runs reuse it.
struct Fixture {
    TensorType type = TensorType::F32;
    int64_t rows = 0, cols = 0, m = 0;
    std::vector<uint8_t> weights;
    std::vector<uint8_t> repacked;  // x16 layout (over-allocated by 64 for alignment), when asked
    bool has_repacked = false;
    std::vector<uint8_t> copies;  // SILICA_BENCH_WEIGHT_COPIES copies of the repacked matrix, 64-aligned
    int n_copies = 0;
    std::vector<float> xf;  // the float activations (x reads them: it keeps no copy for quantized types)
    Activations x;
    std::vector<float> y;
};
Fixture g_fixture;

void setup(TensorType t, const Shape& s, int64_t m) {
    Fixture& f = g_fixture;
    if (f.type != t || f.rows != s.rows || f.cols != s.cols || f.weights.empty()) {
        f.weights.clear();
        f.weights.shrink_to_fit();
        fill_weights(t, s.rows, s.cols, f.weights);
        f.repacked.clear();
        f.repacked.shrink_to_fit();
        f.has_repacked = false;
        f.copies.clear();
        f.copies.shrink_to_fit();
        f.n_copies = 0;
        f.type = t;
        f.rows = s.rows;
        f.cols = s.cols;
        f.m = 0;
    }
    if (f.m != m) {
        f.xf.resize(m * s.cols);
        std::mt19937 rng(1);
        std::uniform_real_distribution<float> uni(-1.0f, 1.0f);
        for (auto& v : f.xf) v = uni(rng);
        f.x.prepare(t, f.xf.data(), m, s.cols);
        f.y.assign(m * s.rows, 0.0f);
        f.m = m;
    }
}

// The denominators of bw_frac and peak_frac, measured once (about 4 s) at the first benchmark.
struct Peaks {
    double read_gb_per_s[3] = {0, 0, 0};  // by thread count 1, 2
    double vnni_gops = 0, fma_gflops = 0;  // one core
};
const Peaks& peaks() {
    static const Peaks p = [] {
        Peaks r;
        for (int threads : {1, 2}) r.read_gb_per_s[threads] = bench::measure_read_bandwidth(threads).gb_per_s;
        r.vnni_gops = measure_vnni_peak_gops();
        r.fma_gflops = measure_fma_peak_gflops();
        return r;
    }();
    return p;
}

// SILICA_BENCH_WEIGHT_COPIES (see the top of the file), 0 when unset.
int weight_copies() {
    static const int n = [] {
        const char* v = std::getenv("SILICA_BENCH_WEIGHT_COPIES");
        const int parsed = v ? std::atoi(v) : 0;
        return parsed > 0 ? parsed : 0;
    }();
    return n;
}

const uint8_t* aligned64(const std::vector<uint8_t>& v) {
    const uintptr_t p = reinterpret_cast<uintptr_t>(v.data());
    return v.data() + ((64 - p % 64) % 64);
}

void bm_matmul(benchmark::State& state, TensorType t, Shape s, Isa isa, int64_t m, bool repacked, bool amx) {
    if (state.thread_index() == 0) {
        peaks();  // measured before the first timed loop, at the detected ISA
        set_isa_for_testing(isa);
        // As detected, or off with SILICA_AMX=0 (the apps' switch, apps/common/environment_settings.h).
        set_amx_for_testing(amx && silica::app::environment_switch("SILICA_AMX"));
        setup(t, s, m);
        if (repacked && !g_fixture.has_repacked) {
            g_fixture.repacked.assign(repacked_bytes(t, s.rows, s.cols) + 64, 0);
            repack_x16(t, g_fixture.weights.data(), row_bytes(type_traits(t), s.cols), s.rows, s.cols,
                       const_cast<uint8_t*>(aligned64(g_fixture.repacked)));
            g_fixture.has_repacked = true;
        }
        const int copies = weight_copies();
        if (repacked && copies > 0 && g_fixture.n_copies != copies) {
            Fixture& f = g_fixture;
            const size_t bytes = repacked_bytes(t, s.rows, s.cols);
            f.copies.assign(bytes * copies + 64, 0);
            for (int c = 0; c < copies; ++c)
                std::memcpy(const_cast<uint8_t*>(aligned64(f.copies)) + c * bytes, aligned64(f.repacked), bytes);
            f.n_copies = copies;
        }
    }
    // The benchmark library synchronises threads at the start of the loop: only inside it is the
    // fixture thread 0 prepares visible to the others, so the matrices are made there.
    const Fixture& f = g_fixture;
    int64_t r_begin = 0, r_end = 0;
    auto range = [&] {
        // Static split in multiples of 16 rows, as the engine does.
        const int64_t chunks = (s.rows + 15) / 16;
        r_begin = std::min(s.rows, chunks * state.thread_index() / state.threads() * 16);
        r_end = std::min(s.rows, chunks * (state.thread_index() + 1) / state.threads() * 16);
    };
    range();
    const size_t row_stride = row_bytes(type_traits(t), s.cols);
    const size_t copy_bytes = repacked ? repacked_bytes(t, s.rows, s.cols) : 0;
    int64_t call = 0;
    for (auto _ : state) {
        float* y = const_cast<float*>(f.y.data());
        if (repacked) {
            const uint8_t* w = f.n_copies > 0 ? aligned64(f.copies) + (call++ % f.n_copies) * copy_bytes
                                              : aligned64(f.repacked);
            matmul(RepackedMatrix{t, s.rows, s.cols, w}, f.x, y, s.rows, r_begin, r_end);
        } else {
            matmul(Matrix{t, s.rows, s.cols, f.weights.data(), row_stride}, f.x, y, s.rows, r_begin, r_end);
        }
        benchmark::ClobberMemory();
    }
    const double rows = static_cast<double>(r_end - r_begin);
    state.counters["GB/s"] =
        benchmark::Counter(rows * row_stride * 1e-9 * state.iterations(), benchmark::Counter::kIsRate);
    state.counters["GFLOP/s"] =
        benchmark::Counter(2.0 * m * rows * s.cols * 1e-9 * state.iterations(), benchmark::Counter::kIsRate);
    // Each thread adds its share: the sums are fractions of the whole machine's figures.
    const Peaks& pk = peaks();
    const int n = std::min(state.threads(), 2);
    const bool int8 = t != TensorType::F16 && t != TensorType::BF16 && t != TensorType::F32;
    const double peak = (int8 ? pk.vnni_gops : pk.fma_gflops) * state.threads();
    if (pk.read_gb_per_s[n] > 0)
        state.counters["bw_frac"] = benchmark::Counter(rows * row_stride * 1e-9 * state.iterations() / pk.read_gb_per_s[n],
                                                       benchmark::Counter::kIsRate);
    if (peak > 0)
        state.counters["peak_frac"] =
            benchmark::Counter(2.0 * m * rows * s.cols * 1e-9 * state.iterations() / peak, benchmark::Counter::kIsRate);
}

int register_all() {
    for (TensorType t : kTypes)
        for (const Shape& s : kShapes)
            for (int isa = static_cast<int>(detected_isa()); isa >= 0; --isa)
                for (int64_t m : {1, 2, 4, 8, 16, 32, 64, 128, 512}) {
                    // m = 2..16: several sequences decoding together (repacked kernels only).
                    const bool decode_batch = m > 1 && m <= 16;
                    // The scalar ISA is the reference (double-precision dot of dequantized blocks);
                    // its prefill speed is not interesting and would take minutes.
                    if (isa == 0 && m > 1) continue;
                    // m = 512 (a prefill chunk) only for the repacked kernels prefill uses, and F16
                    // in GGUF layout to compare.
                    // Repacked: where this ISA's type table has a repacked kernel (none for the
                    // scalar ISA; the K-quants on AVX2 stay in GGUF order, and their repacked
                    // layout would only time its scalar reference).
                    const KernelTraits* traits = find_kernel_traits(t, static_cast<Isa>(isa));
                    const bool repackable = traits != nullptr && traits->matmul_repacked != nullptr;
                    // m = 32, 128: prefill rows per expert, repacked kernels only.
                    const bool expert_rows = m == 32 || m == 128;
                    if (expert_rows && !repackable) continue;
                    if (m == 512 && !repackable && t != TensorType::F16) continue;
                    // K-quants need widths that are multiples of 256 (GPT-OSS's 2880 is not; its
                    // GGUFs use other types there).
                    if (s.cols % type_traits(t).block_size != 0) continue;
                    const std::string name = std::string(type_traits(t).name) + "/" + s.name + "/" +
                                             std::string(isa_name(static_cast<Isa>(isa))) + "/m" + std::to_string(m);
                    if (decode_batch && !repackable) continue;
                    if ((m != 512 || t == TensorType::F16) && !decode_batch && !expert_rows) {
                        auto* b = benchmark::RegisterBenchmark(name.c_str(), bm_matmul, t, s, static_cast<Isa>(isa), m, false, true);
                        b->UseRealTime()->Unit(benchmark::kMicrosecond)->Threads(1)->Threads(2);
                    }
                    if (repackable) {
                        const std::string rname = std::string(type_traits(t).name) + "-x16/" + s.name + "/" +
                                                  std::string(isa_name(static_cast<Isa>(isa))) + "/m" + std::to_string(m);
                        auto* br = benchmark::RegisterBenchmark(rname.c_str(), bm_matmul, t, s, static_cast<Isa>(isa), m, true, true);
                        br->UseRealTime()->Unit(benchmark::kMicrosecond)->Threads(1)->Threads(2);
                        // F16 GEMM with AMX-BF16 off (the FMA kernel), next to the default above
                        if (t == TensorType::F16 && m > 1 && detected_amx_bf16()) {
                            const std::string fname = "f16-x16-noamx/" + std::string(s.name) + "/" +
                                                      std::string(isa_name(static_cast<Isa>(isa))) + "/m" +
                                                      std::to_string(m);
                            auto* bf = benchmark::RegisterBenchmark(fname.c_str(), bm_matmul, t, s, static_cast<Isa>(isa),
                                                                    m, true, false);
                            bf->UseRealTime()->Unit(benchmark::kMicrosecond)->Threads(1)->Threads(2);
                        }
                    }
                }
    return 0;
}
const int g_registered = register_all();

}  // namespace

BENCHMARK_MAIN();
