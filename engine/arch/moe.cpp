#include "engine/arch/moe.h"

#include <algorithm>
#include <cmath>

#include "kernels/ops.h"

namespace silica::arch {
namespace {

// Bytes of the start of its share of each chosen expert's gate, up and down matrices that a
// thread prefetches while it works on the previous expert (kernels/prefetch.h; SILICA_PREFETCH=0
// turns it off). On the 2-layer GPT-OSS-20B-shaped model it measured neutral (decode within 1%,
// dominated by the output matrix); see docs/PERFORMANCE.md for the full model.
constexpr size_t kExpertPrefetchBytes = 4 * 1024;
// Rows up to which the block runs as one fused dispatch (run_few_rows: decode steps of up to this
// many sequences) rather than two dispatches per expert with the experts' rows as GEMMs (prefill).
constexpr int64_t kMoeFewRowsMax = 16;

}  // namespace

void route_top_k(const float* logits, int64_t n_expert, int64_t k, int32_t* idx, float* weight) {
    // Selection by repeated max keeps ties on the lower index and needs no allocation.
    for (int64_t j = 0; j < k; ++j) {
        int32_t best = -1;
        for (int32_t e = 0; e < n_expert; ++e) {
            bool taken = false;
            for (int64_t i = 0; i < j; ++i) taken = taken || idx[i] == e;
            if (!taken && (best < 0 || logits[e] > logits[best])) best = e;
        }
        idx[j] = best;
    }
    const float max = logits[idx[0]];
    float sum = 0.0f;
    for (int64_t j = 0; j < k; ++j) sum += (weight[j] = std::exp(logits[idx[j]] - max));
    for (int64_t j = 0; j < k; ++j) weight[j] /= sum;
}

int64_t MoeBlock::run(const MoeWeights& w, const MoeShape& s, const float* h, float* x, int64_t T) {
    const int64_t E = s.n_expert, K = s.n_expert_used;
    router_.resize(T * E);
    linear_.run(w.router, h, T, router_.data(), w.router_b.data(), Epilogue::none, "matmul router");
    sel_.resize(T * K);
    sel_w_.resize(T * K);
    {
        OpScope scope(profiler_, "router top-k");
        for (int64_t t = 0; t < T; ++t) route_top_k(&router_[t * E], E, K, &sel_[t * K], &sel_w_[t * K]);
    }
    return T <= kMoeFewRowsMax ? run_few_rows(w, s, h, x, T) : run_by_expert(w, s, h, x, T);
}

int64_t MoeBlock::run_by_expert(const MoeWeights& w, const MoeShape& s, const float* h, float* x, int64_t T) {
    const int64_t C = s.n_embd, F = s.n_ff, E = s.n_expert, K = s.n_expert_used;
    int64_t reads = 0;
    for (int64_t e = 0; e < E; ++e) {
        rows_.clear();
        weights_.clear();
        for (int64_t t = 0; t < T; ++t)
            for (int64_t j = 0; j < K; ++j)
                if (sel_[t * K + j] == e) {
                    rows_.push_back(t);
                    weights_.push_back(sel_w_[t * K + j]);
                }
        if (rows_.empty()) continue;
        ++reads;
        const int64_t m = static_cast<int64_t>(rows_.size());
        xe_.resize(m * C);
        for (int64_t i = 0; i < m; ++i) std::copy_n(&h[rows_[i] * C], C, &xe_[i * C]);
        gate_.resize(m * F);
        up_.resize(m * F);
        ye_.resize(m * C);
        const Weight gate = w.gate.expert(e), up = w.up.expert(e), down = w.down.expert(e);
        linear_.run_pair(gate, up, xe_.data(), m, gate_.data(), up_.data(), &w.gate_b[e * F], &w.up_b[e * F],
                         "matmul expert gate+up");
        {
            OpScope scope(profiler_, "swiglu");
            kernels::swiglu_clamped(gate_.data(), up_.data(), gate_.data(), m * F, s.swiglu_alpha, s.swiglu_limit);
        }
        linear_.run(down, gate_.data(), m, ye_.data(), &w.down_b[e * C], Epilogue::none, "matmul expert down");
        OpScope scope(profiler_, "expert sum");
        for (int64_t i = 0; i < m; ++i) kernels::axpy(weights_[i], &ye_[i * C], &x[rows_[i] * C], C);
    }
    return reads;
}

// Each distinct chosen expert (ascending id) gets the rows that chose it, gathered and quantized
// once for its gate and up. Each thread computes its rows of every expert's gate and up, adds the
// biases and applies the SwiGLU to those rows (the same rows of gate and up, so no exchange is
// needed); after a barrier thread 0 quantizes the experts' activations for down, and after a
// second one each thread computes its rows of every expert's down projection and adds them, biased
// and weighted, into x. The operations per element are those of run_by_expert (which also visits
// experts in ascending order), so a row's result does not depend on which other rows share the
// step. While it works on one expert, a thread prefetches the start of its share of the next one.
int64_t MoeBlock::run_few_rows(const MoeWeights& w, const MoeShape& s, const float* h, float* x, int64_t T) {
    const int64_t C = s.n_embd, F = s.n_ff, E = s.n_expert, K = s.n_expert_used;
    // experts_[i]: the i-th distinct expert; its rows are first_row_[i] .. first_row_[i + 1] of
    // row_of_ (the batch row) and row_weight_ (the router weight).
    experts_.clear();
    first_row_.clear();
    row_of_.clear();
    row_weight_.clear();
    for (int64_t e = 0; e < E; ++e) {
        const size_t before = row_of_.size();
        for (int64_t t = 0; t < T; ++t)
            for (int64_t j = 0; j < K; ++j)
                if (sel_[t * K + j] == e) {
                    row_of_.push_back(t);
                    row_weight_.push_back(sel_w_[t * K + j]);
                }
        if (row_of_.size() == before) continue;
        experts_.push_back(e);
        first_row_.push_back(static_cast<int64_t>(before));
    }
    const int64_t n_exp = static_cast<int64_t>(experts_.size());
    const int64_t R = static_cast<int64_t>(row_of_.size());  // T * K
    first_row_.push_back(R);
    gate_.resize(R * F);
    up_.resize(R * F);
    ye_.resize(R * C);
    xe_.resize(R * C);
    if (expert_act_.size() < static_cast<size_t>(n_exp)) expert_act_.resize(static_cast<size_t>(n_exp));
    if (down_act_.size() < static_cast<size_t>(n_exp)) down_act_.resize(static_cast<size_t>(n_exp));
    {
        OpScope scope(profiler_, "quantize x");
        for (int64_t r = 0; r < R; ++r) std::copy_n(&h[row_of_[r] * C], C, &xe_[r * C]);
        for (int64_t i = 0; i < n_exp; ++i)
            expert_act_[i].prepare(w.gate.type(), &xe_[first_row_[i] * C], first_row_[i + 1] - first_row_[i], C);
    }
    run_profiled(pool_, profiler_, "moe: experts (gate+up, swiglu, down)", [&](int tid, int nth) {
        const RowRange fr = Linear::thread_rows(F, tid, nth), cr = Linear::thread_rows(C, tid, nth);
        for (int64_t i = 0; i < n_exp; ++i) {
            const int64_t e = experts_[i];
            if (i + 1 < n_exp)
                for (const Weight* stack : {&w.gate, &w.up})
                    Linear::prefetch_share(stack->expert(experts_[i + 1]), tid, nth, 0, 1, kExpertPrefetchBytes);
            if (fr.begin >= fr.end) continue;
            float* g = &gate_[first_row_[i] * F];
            float* u = &up_[first_row_[i] * F];
            const int64_t n = fr.end - fr.begin;
            w.gate.expert(e).matmul(expert_act_[i], g, F, fr.begin, fr.end);
            w.up.expert(e).matmul(expert_act_[i], u, F, fr.begin, fr.end);
            for (int64_t j = 0; j < first_row_[i + 1] - first_row_[i]; ++j) {
                float* gj = g + j * F + fr.begin;
                float* uj = u + j * F + fr.begin;
                kernels::add(gj, &w.gate_b[e * F + fr.begin], n);
                kernels::add(uj, &w.up_b[e * F + fr.begin], n);
                kernels::swiglu_clamped(gj, uj, gj, n, s.swiglu_alpha, s.swiglu_limit);
            }
        }
        pool_.barrier();
        if (tid == 0)
            for (int64_t i = 0; i < n_exp; ++i)
                down_act_[i].prepare(w.down.type(), &gate_[first_row_[i] * F], first_row_[i + 1] - first_row_[i], F);
        pool_.barrier();
        for (int64_t i = 0; i < n_exp; ++i) {
            const int64_t e = experts_[i];
            if (i + 1 < n_exp)
                Linear::prefetch_share(w.down.expert(experts_[i + 1]), tid, nth, 0, 1, kExpertPrefetchBytes);
            if (cr.begin >= cr.end) continue;
            float* y = &ye_[first_row_[i] * C];
            w.down.expert(e).matmul(down_act_[i], y, C, cr.begin, cr.end);
            for (int64_t j = 0; j < first_row_[i + 1] - first_row_[i]; ++j) {
                const float weight = row_weight_[first_row_[i] + j];
                float* xr = &x[row_of_[first_row_[i] + j] * C];
                const float* yj = y + j * C;
                for (int64_t r = cr.begin; r < cr.end; ++r) {
                    const float biased = yj[r] + w.down_b[e * C + r];
                    xr[r] += weight * biased;
                }
            }
        }
    });
    return n_exp;
}

}  // namespace silica::arch
