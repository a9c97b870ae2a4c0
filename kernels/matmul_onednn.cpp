#include "kernels/matmul_onednn.h"

#include <dlfcn.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <tuple>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#include "kernels/isa.h"
#include "kernels/kernel_traits.h"
#include "kernels/step_exact.h"

namespace silica::kernels {
namespace {

bool g_enabled = true;  // set_onednn_enabled (silica::set_kernel_settings)

// oneDNN (Debian builds it with OpenMP) would start an OpenMP team in every calling thread, on top
// of the engine's own threads. The team size is a per-thread setting; omp_set_num_threads is
// looked up at run time because Silica reaches libgomp only through libdnnl.
void single_threaded_openmp() {
    using SetThreads = void (*)(int);
    if (auto set = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "omp_set_num_threads"))) set(1);
}

// One matmul shape: m activation rows x k, n weight rows (one chunk), weights ld_w elements apart.
using Key = std::tuple<TensorType, int64_t, int64_t, int64_t, int64_t>;

struct Prepared {
    dnnl::matmul prim;
    dnnl::memory src, weights, dst;  // data handles are set per call
};

// Per thread: oneDNN streams are not thread-safe, and a per-thread cache needs no lock.
struct ThreadState {
    dnnl::engine eng{dnnl::engine::kind::cpu, 0};
    dnnl::stream strm{eng};
    std::map<Key, std::unique_ptr<Prepared>> cache;  // nullptr: oneDNN has no kernel for it
    std::vector<float> scratch;
    ThreadState() { single_threaded_openmp(); }
};
ThreadState& thread_state() {
    thread_local ThreadState state;
    return state;
}

Prepared* prepared(ThreadState& ts, TensorType t, int64_t m, int64_t k, int64_t n, int64_t ld_w) {
    const Key key{t, m, k, n, ld_w};
    auto it = ts.cache.find(key);
    if (it != ts.cache.end()) return it->second.get();
    using dt = dnnl::memory::data_type;
    const dt in = t == TensorType::BF16 ? dt::bf16 : dt::f32;
    std::unique_ptr<Prepared> p;
    try {
        const dnnl::memory::desc src_md({m, k}, in, dnnl::memory::dims{k, 1});
        const dnnl::memory::desc w_md({k, n}, in, dnnl::memory::dims{1, ld_w});  // W[n][k], row-major
        const dnnl::memory::desc dst_md({m, n}, dt::f32, dnnl::memory::dims{n, 1});
        const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(src_md, w_md, dst_md), ts.eng);
        p = std::make_unique<Prepared>(Prepared{dnnl::matmul(pd), dnnl::memory(src_md, ts.eng, nullptr),
                                                dnnl::memory(w_md, ts.eng, nullptr),
                                                dnnl::memory(dst_md, ts.eng, nullptr)});
    } catch (const dnnl::error&) {
        p.reset();  // this chunk shape stays on Silica's kernels (always, so still deterministic)
    }
    return ts.cache.emplace(key, std::move(p)).first->second.get();
}

}  // namespace

int64_t onednn_min_rows(TensorType t) {
    // bench/onednn_bench.cpp, 1 thread, 2880x2880 (Xeon with AMX): BF16 oneDNN 118 GFLOP/s at
    // m = 8 and ~500 at m >= 64 vs Silica's 33; F32 oneDNN 44 / 71 / 101 / 122 GFLOP/s at m = 8 /
    // 16 / 32 / 64 vs Silica's ~80.
    // Passes of up to kStepExactRows rows (a verify pass, a decode batch) stay on Silica's own
    // kernels so that each row gets the bits it gets alone (kernels/step_exact.h); that gives up
    // oneDNN's BF16 lead at 8..65 rows on AMX machines.
    switch (t) {
        case TensorType::F32:
        case TensorType::BF16: return kStepExactRows + 1;
        default: return 0;
    }
}

void set_onednn_enabled(bool enabled) { g_enabled = enabled; }
bool onednn_enabled() { return g_enabled; }

bool use_onednn(const Matrix& w, const Activations& x) {
    const int64_t min_rows = onednn_min_rows(w.type);
    if (!g_enabled || min_rows == 0 || x.rows() < min_rows || active_isa() != Isa::avx512) return false;
    if (w.type == TensorType::BF16 && !active_avx512_bf16()) return false;
    const size_t elem = w.type == TensorType::BF16 ? 2 : 4;
    return w.row_stride % elem == 0;
}

void matmul_onednn(const Matrix& w, const Activations& x, float* y, int64_t ldy, int64_t r_begin, int64_t r_end) {
    ThreadState& ts = thread_state();
    const int64_t m = x.rows(), k = w.cols;
    const size_t elem = w.type == TensorType::BF16 ? 2 : 4;
    const int64_t ld_w = static_cast<int64_t>(w.row_stride / elem);
    void* src = w.type == TensorType::BF16 ? static_cast<void*>(const_cast<uint16_t*>(x.bf16()))
                                           : static_cast<void*>(const_cast<float*>(x.f32()));
    ts.scratch.resize(static_cast<size_t>(m * kOneDnnChunkRows));
    for (int64_t c0 = r_begin / kOneDnnChunkRows * kOneDnnChunkRows; c0 < r_end; c0 += kOneDnnChunkRows) {
        const int64_t n = std::min(kOneDnnChunkRows, w.rows - c0);
        const int64_t lo = std::max(r_begin, c0), hi = std::min(r_end, c0 + n);
        Prepared* p = prepared(ts, w.type, m, k, n, ld_w);
        if (p == nullptr) {
            kernel_traits(w.type).matmul(w, x, y, ldy, lo, hi);  // oneDNN has no kernel for it: ours
            continue;
        }
        p->src.set_data_handle(src);
        p->weights.set_data_handle(const_cast<uint8_t*>(w.data) + static_cast<size_t>(c0) * w.row_stride);
        p->dst.set_data_handle(ts.scratch.data());
        p->prim.execute(ts.strm, {{DNNL_ARG_SRC, p->src}, {DNNL_ARG_WEIGHTS, p->weights}, {DNNL_ARG_DST, p->dst}});
        ts.strm.wait();
        for (int64_t i = 0; i < m; ++i)
            std::memcpy(y + i * ldy + lo, ts.scratch.data() + i * n + (lo - c0), static_cast<size_t>(hi - lo) * sizeof(float));
    }
}

}  // namespace silica::kernels
