// Prefill GEMMs with float weights: Silica's kernels vs oneDNN's matmul, same shapes and types.
//
//   OMP_NUM_THREADS=1 onednn_bench --benchmark_filter='m512'
//
// y[m][n] = sum_k x[m][k] * W[n][k] with W row-major (as GGUF stores it), f32 and bf16.
//  * silica/...        Silica's own kernels (oneDNN path off), activations prepared outside the
//                      timed loop; threads:N splits the rows statically as the engine does.
//  * silica-auto/...   kernels::matmul as the engine calls it: for F32/BF16 above
//                      onednn_min_rows() that is oneDNN in fixed 64-row chunks, single-threaded
//                      per caller (kernels/matmul_onednn.h).
//  * onednn-plain/...  dnnl::matmul on W as it is (weights memory "ba": the transposed view).
//  * onednn-packed/... dnnl::matmul with weights reordered once to oneDNN's preferred layout
//                      (format any; the reorder is outside the timed loop, as a load-time repack).
// oneDNN runs its own OpenMP threads: set OMP_NUM_THREADS (1 or 2) to compare with threads:N.
// bf16: oneDNN takes bf16 activations (converted outside the loop) and writes f32.
#include <benchmark/benchmark.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#include "kernels/activations.h"
#include "kernels/isa.h"
#include "kernels/matmul.h"
#include "kernels/matmul_onednn.h"
#include "quant/types.h"

using namespace silica;
using namespace silica::kernels;

namespace {

struct Shape {
    const char* name;
    int64_t rows, cols;  // n, k
};
const Shape kShapes[] = {
    {"gpt2-fc", 3072, 768},
    {"gpt2-proj", 768, 3072},
    {"gpt-oss-attn", 2880, 2880},
    {"gpt-oss-expert", 5760, 2880},
};

struct Data {
    std::vector<float> w;       // n x k
    std::vector<uint16_t> wb;   // bf16 bits of w
    std::vector<float> x;       // m x k
    std::vector<uint16_t> xb;   // bf16 bits of x
};

Data make_data(int64_t m, const Shape& s) {
    Data d;
    std::mt19937 rng(7);
    std::uniform_real_distribution<float> uni(-1.0f, 1.0f);
    d.w.resize(s.rows * s.cols);
    for (auto& v : d.w) v = uni(rng);
    d.x.resize(m * s.cols);
    for (auto& v : d.x) v = uni(rng);
    d.wb.resize(d.w.size());
    for (size_t i = 0; i < d.w.size(); ++i) d.wb[i] = f32_to_bf16(d.w[i]);
    d.xb.resize(d.x.size());
    for (size_t i = 0; i < d.x.size(); ++i) d.xb[i] = f32_to_bf16(d.x[i]);
    return d;
}

void set_counters(benchmark::State& state, int64_t m, const Shape& s, double row_fraction) {
    state.counters["GFLOP/s"] = benchmark::Counter(2.0 * m * s.rows * row_fraction * s.cols * 1e-9 * state.iterations(),
                                                   benchmark::Counter::kIsRate);
}

void bm_silica(benchmark::State& state, TensorType t, Shape s, int64_t m, bool onednn) {
    static Data d;
    static Activations x;
    static std::vector<float> y;
    if (state.thread_index() == 0) {
        set_onednn_enabled(onednn);
        d = make_data(m, s);
        x.prepare(t, d.x.data(), m, s.cols);
        y.assign(m * s.rows, 0.0f);
    }
    const uint8_t* wdata = t == TensorType::F32 ? reinterpret_cast<const uint8_t*>(d.w.data())
                                                : reinterpret_cast<const uint8_t*>(d.wb.data());
    const Matrix w{t, s.rows, s.cols, wdata, row_bytes(type_traits(t), s.cols)};
    const int64_t chunks = (s.rows + 15) / 16;
    const int64_t r_begin = std::min(s.rows, chunks * state.thread_index() / state.threads() * 16);
    const int64_t r_end = std::min(s.rows, chunks * (state.thread_index() + 1) / state.threads() * 16);
    for (auto _ : state) {
        matmul(w, x, y.data(), s.rows, r_begin, r_end);
        benchmark::ClobberMemory();
    }
    set_counters(state, m, s, static_cast<double>(r_end - r_begin) / s.rows);
}

void bm_onednn(benchmark::State& state, bool bf16, bool packed, Shape s, int64_t m) {
    using namespace dnnl;
    using dt = memory::data_type;
    const Data d = make_data(m, s);
    engine eng(engine::kind::cpu, 0);
    stream strm(eng);
    const memory::dim M = m, K = s.cols, N = s.rows;
    const dt in_type = bf16 ? dt::bf16 : dt::f32;
    const memory::desc src_md({M, K}, in_type, memory::format_tag::ab);
    const memory::desc w_plain_md({K, N}, in_type, memory::format_tag::ba);  // W[n][k] row-major
    const memory::desc dst_md({M, N}, dt::f32, memory::format_tag::ab);
    const memory::desc w_md = packed ? memory::desc({K, N}, in_type, memory::format_tag::any) : w_plain_md;
    const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(src_md, w_md, dst_md), eng);
    memory src_mem(src_md, eng, const_cast<void*>(bf16 ? static_cast<const void*>(d.xb.data()) : d.x.data()));
    memory w_plain(w_plain_md, eng, const_cast<void*>(bf16 ? static_cast<const void*>(d.wb.data()) : d.w.data()));
    memory w_mem = w_plain;
    if (pd.weights_desc() != w_plain_md) {
        w_mem = memory(pd.weights_desc(), eng);
        reorder(w_plain, w_mem).execute(strm, w_plain, w_mem);
        strm.wait();
    }
    memory dst_mem(dst_md, eng);
    dnnl::matmul prim(pd);
    state.SetLabel(pd.impl_info_str());
    for (auto _ : state) {
        prim.execute(strm, {{DNNL_ARG_SRC, src_mem}, {DNNL_ARG_WEIGHTS, w_mem}, {DNNL_ARG_DST, dst_mem}});
        strm.wait();
    }
    set_counters(state, m, s, 1.0);
}

int register_all() {
    for (const Shape& s : kShapes)
        for (int64_t m : {64, 512})
            for (bool bf16 : {false, true}) {
                const std::string tail = std::string(bf16 ? "bf16" : "f32") + "/" + s.name + "/m" + std::to_string(m);
                for (bool auto_path : {false, true})
                    benchmark::RegisterBenchmark(((auto_path ? "silica-auto/" : "silica/") + tail).c_str(), bm_silica,
                                                 bf16 ? TensorType::BF16 : TensorType::F32, s, m, auto_path)
                        ->UseRealTime()->Unit(benchmark::kMillisecond)->Threads(1)->Threads(2);
                benchmark::RegisterBenchmark(("onednn-plain/" + tail).c_str(), bm_onednn, bf16, false, s, m)
                    ->UseRealTime()->Unit(benchmark::kMillisecond);
                benchmark::RegisterBenchmark(("onednn-packed/" + tail).c_str(), bm_onednn, bf16, true, s, m)
                    ->UseRealTime()->Unit(benchmark::kMillisecond);
            }
    return 0;
}
const int g_registered = register_all();

}  // namespace

BENCHMARK_MAIN();
