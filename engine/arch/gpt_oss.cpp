#include "engine/arch/gpt_oss.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <string>

#include "cache/attention.h"
#include "cache/kv_cache.h"
#include "engine/arch/batch_attention.h"
#include "engine/arch/linear.h"
#include "engine/arch/op_profiler.h"
#include "engine/arch/tensors.h"
#include "engine/gguf/gguf.h"
#include "engine/threading/thread_pool.h"
#include "kernels/ops.h"
#include "kernels/prefetch.h"
#include "silica/error.h"

namespace silica::arch {

Rope::Rope(const GptOssConfig& c) {
    const int64_t half = c.head_dim / 2;
    inv_freq_.resize(static_cast<size_t>(half));
    std::vector<double> freq(static_cast<size_t>(half));
    for (int64_t i = 0; i < half; ++i) freq[i] = std::pow(c.rope_base, static_cast<double>(2 * i) / c.head_dim);
    if (c.yarn_factor <= 1.0) {
        for (int64_t i = 0; i < half; ++i) inv_freq_[i] = 1.0 / freq[i];
        return;
    }
    // YaRN "NTK by parts": dimensions rotating fewer than beta_slow.. beta_fast times over the
    // original context are interpolated, faster ones kept, with a linear ramp between. Like the
    // reference, the ramp ends are not rounded; they are clamped to the valid dimension range.
    concentration_ = 0.1 * std::log(c.yarn_factor) + 1.0;
    const double two_pi = 2.0 * std::numbers::pi;
    auto dim_for = [&](double rotations) {
        return half * std::log(c.yarn_orig_ctx / (rotations * two_pi)) / std::log(c.rope_base);
    };
    const double low = std::clamp(dim_for(c.yarn_beta_fast), 0.0, static_cast<double>(half - 1));
    const double high = std::clamp(dim_for(c.yarn_beta_slow), 0.0, static_cast<double>(half - 1));
    for (int64_t i = 0; i < half; ++i) {
        const double ramp = high > low ? std::clamp((i - low) / (high - low), 0.0, 1.0) : (i < low ? 0.0 : 1.0);
        const double extrapolation = 1.0 / freq[i];
        const double interpolation = extrapolation / c.yarn_factor;
        inv_freq_[i] = interpolation * ramp + extrapolation * (1.0 - ramp);
    }
}

void Rope::angles(int64_t pos, float* cos, float* sin) const {
    for (size_t i = 0; i < inv_freq_.size(); ++i) {
        const double a = static_cast<double>(pos) * inv_freq_[i];
        cos[i] = static_cast<float>(std::cos(a) * concentration_);
        sin[i] = static_cast<float>(std::sin(a) * concentration_);
    }
}

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

namespace {

// Decode prefetches (kernels/prefetch.h; SILICA_PREFETCH=0 turns them off). On the 2-layer
// GPT-OSS-20B-shaped model they measured neutral (decode within 1%, dominated by the output
// matrix); see docs/PERFORMANCE.md for the full model.
// Bytes of its share of the output projection each thread prefetches during attention.
constexpr size_t kAttnOutPrefetchBytes = 256 * 1024;
// Bytes of the start of its share of each chosen expert's gate, up and down matrices.
constexpr size_t kExpertPrefetchBytes = 4 * 1024;
// Rows up to which the MoE runs as one fused dispatch (moe_few_rows: decode steps of up to this
// many sequences) rather than two dispatches per expert with the experts' rows as GEMMs (prefill).
constexpr int64_t kMoeFewRowsMax = 16;


// q or k rows of n_heads heads: rotate the two halves of each head by the position's angles.
void apply_rope(float* x, int64_t n_heads, int64_t head_dim, const float* cos, const float* sin) {
    const int64_t half = head_dim / 2;
    for (int64_t h = 0; h < n_heads; ++h) {
        float* a = x + h * head_dim;
        float* b = a + half;
        for (int64_t i = 0; i < half; ++i) {
            const float x1 = a[i], x2 = b[i];
            a[i] = x1 * cos[i] - x2 * sin[i];
            b[i] = x2 * cos[i] + x1 * sin[i];
        }
    }
}

GptOssWeights load_weights(const gguf::File& f, const WeightOptions& options) {
    GptOssWeights w;
    auto& c = w.cfg;
    const std::string a = "gpt-oss.";
    c.n_embd = f.get_int(a + "embedding_length", 0);
    c.n_layer = f.get_int(a + "block_count", 0);
    c.n_head = f.get_int(a + "attention.head_count", 0);
    c.n_head_kv = f.get_int(a + "attention.head_count_kv", c.n_head);
    c.head_dim = f.get_int(a + "attention.key_length", c.n_head ? c.n_embd / c.n_head : 0);
    c.n_ctx_train = f.get_int(a + "context_length", 0);
    c.n_ff = f.get_int(a + "expert_feed_forward_length", f.get_int(a + "feed_forward_length", 0));
    c.n_expert = f.get_int(a + "expert_count", 0);
    c.n_expert_used = f.get_int(a + "expert_used_count", 0);
    c.sliding_window = f.get_int(a + "attention.sliding_window", 0);
    c.eps = static_cast<float>(f.get_float(a + "attention.layer_norm_rms_epsilon", 1e-5));
    c.rope_base = f.get_float(a + "rope.freq_base", 150000.0);
    if (f.get_string(a + "rope.scaling.type", "none") == "yarn") {
        c.yarn_factor = f.get_float(a + "rope.scaling.factor", 1.0);
        c.yarn_orig_ctx = f.get_float(a + "rope.scaling.original_context_length", 4096.0);
        c.yarn_beta_fast = f.get_float(a + "rope.scaling.yarn_beta_fast", 32.0);
        c.yarn_beta_slow = f.get_float(a + "rope.scaling.yarn_beta_slow", 1.0);
    }
    if (c.n_embd <= 0 || c.n_layer <= 0 || c.n_head <= 0 || c.n_head_kv <= 0 || c.n_head % c.n_head_kv != 0 ||
        c.head_dim <= 0 || c.head_dim % 2 != 0 || c.n_ctx_train <= 0 || c.n_ff <= 0 || c.n_expert <= 0 ||
        c.n_expert_used <= 0 || c.n_expert_used > c.n_expert || c.sliding_window < 0)
        throw Error(f.path() + ": invalid or missing gpt-oss hyper-parameters");

    TensorBinder b(f, options);
    const gguf::TensorInfo* embd = f.tensor("token_embd.weight");
    if (!embd) throw Error(f.path() + ": missing tensor 'token_embd.weight'");
    c.n_vocab = embd->ne[1];
    const int64_t C = c.n_embd, Q = c.n_head * c.head_dim, KV = c.n_head_kv * c.head_dim, F = c.n_ff,
                  E = c.n_expert;
    const bool tied = !b.has("output.weight");
    w.token_embd = tied ? b.weight("token_embd.weight", C, c.n_vocab) : b.embedding("token_embd.weight", C, c.n_vocab);
    for (int64_t i = 0; i < c.n_layer; ++i) {
        const std::string p = "blk." + std::to_string(i) + ".";
        GptOssLayer L;
        L.attn_norm = b.floats(p + "attn_norm.weight", {C});
        L.q = b.weight(p + "attn_q.weight", C, Q);
        L.k = b.weight(p + "attn_k.weight", C, KV);
        L.v = b.weight(p + "attn_v.weight", C, KV);
        L.o = b.weight(p + "attn_output.weight", Q, C);
        L.q_b = b.floats(p + "attn_q.bias", {Q});
        L.k_b = b.floats(p + "attn_k.bias", {KV});
        L.v_b = b.floats(p + "attn_v.bias", {KV});
        L.o_b = b.floats(p + "attn_output.bias", {C});
        L.sinks = b.floats(p + "attn_sinks.weight", {c.n_head});
        L.post_norm = b.floats(p + "post_attention_norm.weight", {C});
        L.router = b.weight(p + "ffn_gate_inp.weight", C, E);
        L.router_b = b.floats(p + "ffn_gate_inp.bias", {E});
        L.gate = b.expert_weight(p + "ffn_gate_exps.weight", C, F, E);
        L.up = b.expert_weight(p + "ffn_up_exps.weight", C, F, E);
        L.down = b.expert_weight(p + "ffn_down_exps.weight", F, C, E);
        L.gate_b = b.floats(p + "ffn_gate_exps.bias", {F, E});
        L.up_b = b.floats(p + "ffn_up_exps.bias", {F, E});
        L.down_b = b.floats(p + "ffn_down_exps.bias", {C, E});
        w.layers.push_back(std::move(L));
    }
    w.out_norm = b.floats("output_norm.weight", {C});
    w.output = tied ? w.token_embd : b.weight("output.weight", C, c.n_vocab);
    return w;
}

class GptOssForward final : public Forward {
public:
    GptOssForward(const GptOssWeights& w, const ForwardOptions& o)
        : w_(w), opt_(o), rope_(w.cfg), profiler_(o.profile), linear_(*o.pool, profiler_), attn_scratch_(o.pool->n_threads()) {}

    void eval(const Batch& batch, std::vector<float>& logits) override {
        profiler_.begin_eval(batch.n_rows());
        eval_in_chunks(batch, w_.cfg.n_vocab, kMaxEvalChunk, logits,
                       [&](const Batch& chunk, float* out) { eval_chunk(chunk, out); });
        profiler_.end_step();
    }

private:
    // out: logits of the rows that want them; null when none does.
    void eval_chunk(const Batch& batch, float* out) {
        const auto& c = w_.cfg;
        const int64_t T = batch.n_rows(), C = c.n_embd, hd = c.head_dim;
        for (const SequenceRun& r : batch.runs)
            r.kv->prepare(r.pos0, r.pos0 + r.n_rows - 1);  // blocks for this chunk; older blocks may turn warm
        batch.positions(pos_);
        const int64_t Q = c.n_head * hd, KV = c.n_head_kv * hd;
        x_.resize(T * C);
        h_.resize(T * C);
        q_.resize(T * Q);
        k_.resize(T * KV);
        v_.resize(T * KV);
        att_.resize(T * Q);
        cos_.resize(T * hd / 2);
        sin_.resize(T * hd / 2);
        {
            OpScope scope(profiler_, "embedding+rope angles");
            for (int64_t t = 0; t < T; ++t) {
                w_.token_embd.row(batch.tokens[t], &x_[t * C]);
                rope_.angles(pos_[t], &cos_[t * hd / 2], &sin_[t * hd / 2]);
            }
        }
        for (int64_t l = 0; l < c.n_layer; ++l) {
            const GptOssLayer& L = w_.layers[l];
            rms_norm(L.attn_norm, T);
            linear_.run(L.q, h_.data(), T, q_.data(), L.q_b.data(), Epilogue::none, "matmul q");
            linear_.run(L.k, h_.data(), T, k_.data(), L.k_b.data(), Epilogue::none, "matmul k");
            linear_.run(L.v, h_.data(), T, v_.data(), L.v_b.data(), Epilogue::none, "matmul v");
            {
                OpScope scope(profiler_, "rope");
                for (int64_t t = 0; t < T; ++t) {
                    apply_rope(&q_[t * Q], c.n_head, hd, &cos_[t * hd / 2], &sin_[t * hd / 2]);
                    apply_rope(&k_[t * KV], c.n_head_kv, hd, &cos_[t * hd / 2], &sin_[t * hd / 2]);
                }
            }
            attention(batch, l);
            linear_.run(L.o, att_.data(), T, h_.data(), L.o_b.data(), Epilogue::none, "matmul o");
            {
                OpScope scope(profiler_, "residual add");
                kernels::add(x_.data(), h_.data(), T * C);
            }

            rms_norm(L.post_norm, T);
            moe(L, T);
        }
        if (!out) return;
        int64_t n_out = 0;
        {
            OpScope scope(profiler_, "rmsnorm");
            for (int64_t t = 0; t < T; ++t)
                if (batch.wants_logits[t])
                    kernels::rms_norm(&x_[t * C], w_.out_norm.data(), &h_[n_out++ * C], C, c.eps);
        }
        linear_.run(w_.output, h_.data(), n_out, out, nullptr, Epilogue::none, "matmul output");
    }

    // h = RMSNorm(x) for T tokens.
    void rms_norm(const std::vector<float>& w, int64_t T) {
        OpScope scope(profiler_, "rmsnorm");
        const int64_t C = w_.cfg.n_embd;
        for (int64_t t = 0; t < T; ++t) kernels::rms_norm(&x_[t * C], w.data(), &h_[t * C], C, w_.cfg.eps);
    }

    void attention(const Batch& batch, int64_t layer) {
        const auto& c = w_.cfg;
        const int64_t hd = c.head_dim, Q = c.n_head * hd, KV = c.n_head_kv * hd;
        AttentionShape shape;
        shape.n_head_kv = c.n_head_kv;
        shape.head_dim = hd;
        shape.group = c.n_head / c.n_head_kv;
        shape.spec.scale = 1.0f / std::sqrt(static_cast<float>(hd));
        shape.spec.window = c.window_of(layer);
        shape.sinks = w_.layers[layer].sinks.data();
        AttentionRows rows;
        rows.q = q_.data();
        rows.q_stride = Q;
        rows.k = k_.data();
        rows.v = v_.data();
        rows.kv_stride = KV;
        rows.out = att_.data();
        rows.out_stride = Q;
        attend_batch(*opt_.pool, profiler_, batch, layer, shape, rows, attn_scratch_, &w_.layers[layer].o,
                     kAttnOutPrefetchBytes);
    }

    // Tokens are grouped by expert so each expert's weights are read once per chunk.
    void moe(const GptOssLayer& L, int64_t T) {
        const auto& c = w_.cfg;
        const int64_t C = c.n_embd, F = c.n_ff, E = c.n_expert, K = c.n_expert_used;
        router_.resize(T * E);
        linear_.run(L.router, h_.data(), T, router_.data(), L.router_b.data(), Epilogue::none, "matmul router");
        sel_.resize(T * K);
        sel_w_.resize(T * K);
        {
            OpScope scope(profiler_, "router top-k");
            for (int64_t t = 0; t < T; ++t) route_top_k(&router_[t * E], E, K, &sel_[t * K], &sel_w_[t * K]);
        }
        if (T <= kMoeFewRowsMax) {
            moe_few_rows(L, T);
            return;
        }

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
            ++expert_reads_;
            const int64_t m = static_cast<int64_t>(rows_.size());
            xe_.resize(m * C);
            for (int64_t i = 0; i < m; ++i) std::copy_n(&h_[rows_[i] * C], C, &xe_[i * C]);
            gate_.resize(m * F);
            up_.resize(m * F);
            ye_.resize(m * C);
            const Weight gate = L.gate.expert(e), up = L.up.expert(e), down = L.down.expert(e);
            linear_.run_pair(gate, up, xe_.data(), m, gate_.data(), up_.data(), &L.gate_b[e * F], &L.up_b[e * F],
                             "matmul expert gate+up");
            {
                OpScope scope(profiler_, "swiglu");
                kernels::swiglu_clamped(gate_.data(), up_.data(), gate_.data(), m * F, c.swiglu_alpha, c.swiglu_limit);
            }
            linear_.run(down, gate_.data(), m, ye_.data(), &L.down_b[e * C], Epilogue::none, "matmul expert down");
            OpScope scope(profiler_, "expert sum");
            for (int64_t i = 0; i < m; ++i) kernels::axpy(weights_[i], &ye_[i * C], &x_[rows_[i] * C], C);
        }
    }

    // A few rows (decoding sequences): the whole MoE in one pool dispatch instead of two per
    // expert. Each distinct chosen expert (ascending id) gets the rows that chose it, gathered and
    // quantized once for its gate and up. Each thread computes its rows of every expert's gate and
    // up, adds the biases and applies the SwiGLU to those rows (the same rows of gate and up, so no
    // exchange is needed); after a barrier thread 0 quantizes the experts' activations for down,
    // and after a second one each thread computes its rows of every expert's down projection and
    // adds them, biased and weighted, into x. The operations per element are those of the
    // per-expert path above (which also visits experts in ascending order), so a row's result does
    // not depend on which other rows share the step. While it works on one expert, a thread
    // prefetches the start of its share of the next one.
    void moe_few_rows(const GptOssLayer& L, int64_t T) {
        const auto& c = w_.cfg;
        const int64_t C = c.n_embd, F = c.n_ff, E = c.n_expert, K = c.n_expert_used;
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
        expert_reads_ += n_exp;
        gate_.resize(R * F);
        up_.resize(R * F);
        ye_.resize(R * C);
        xe_.resize(R * C);
        if (expert_act_.size() < static_cast<size_t>(n_exp)) expert_act_.resize(static_cast<size_t>(n_exp));
        if (down_act_.size() < static_cast<size_t>(n_exp)) down_act_.resize(static_cast<size_t>(n_exp));
        {
            OpScope scope(profiler_, "quantize x");
            for (int64_t r = 0; r < R; ++r) std::copy_n(&h_[row_of_[r] * C], C, &xe_[r * C]);
            for (int64_t i = 0; i < n_exp; ++i)
                expert_act_[i].prepare(L.gate.type(), &xe_[first_row_[i] * C], first_row_[i + 1] - first_row_[i], C);
        }
        run_profiled(*opt_.pool, profiler_, "moe: experts (gate+up, swiglu, down)", [&](int tid, int nth) {
            const RowRange fr = Linear::thread_rows(F, tid, nth), cr = Linear::thread_rows(C, tid, nth);
            for (int64_t i = 0; i < n_exp; ++i) {
                const int64_t e = experts_[i];
                if (i + 1 < n_exp)
                    for (const Weight* stack : {&L.gate, &L.up})
                        Linear::prefetch_share(stack->expert(experts_[i + 1]), tid, nth, 0, 1, kExpertPrefetchBytes);
                if (fr.begin >= fr.end) continue;
                float* g = &gate_[first_row_[i] * F];
                float* u = &up_[first_row_[i] * F];
                const int64_t n = fr.end - fr.begin;
                L.gate.expert(e).matmul(expert_act_[i], g, F, fr.begin, fr.end);
                L.up.expert(e).matmul(expert_act_[i], u, F, fr.begin, fr.end);
                for (int64_t j = 0; j < first_row_[i + 1] - first_row_[i]; ++j) {
                    float* gj = g + j * F + fr.begin;
                    float* uj = u + j * F + fr.begin;
                    kernels::add(gj, &L.gate_b[e * F + fr.begin], n);
                    kernels::add(uj, &L.up_b[e * F + fr.begin], n);
                    kernels::swiglu_clamped(gj, uj, gj, n, c.swiglu_alpha, c.swiglu_limit);
                }
            }
            opt_.pool->barrier();
            if (tid == 0)
                for (int64_t i = 0; i < n_exp; ++i)
                    down_act_[i].prepare(L.down.type(), &gate_[first_row_[i] * F], first_row_[i + 1] - first_row_[i], F);
            opt_.pool->barrier();
            for (int64_t i = 0; i < n_exp; ++i) {
                const int64_t e = experts_[i];
                if (i + 1 < n_exp)
                    Linear::prefetch_share(L.down.expert(experts_[i + 1]), tid, nth, 0, 1, kExpertPrefetchBytes);
                if (cr.begin >= cr.end) continue;
                float* y = &ye_[first_row_[i] * C];
                L.down.expert(e).matmul(down_act_[i], y, C, cr.begin, cr.end);
                for (int64_t j = 0; j < first_row_[i + 1] - first_row_[i]; ++j) {
                    const float weight = row_weight_[first_row_[i] + j];
                    float* x = &x_[row_of_[first_row_[i] + j] * C];
                    const float* yj = y + j * C;
                    for (int64_t r = cr.begin; r < cr.end; ++r) {
                        const float biased = yj[r] + L.down_b[e * C + r];
                        x[r] += weight * biased;
                    }
                }
            }
        });
    }

    const GptOssWeights& w_;
    ForwardOptions opt_;
    Rope rope_;
    OpProfiler profiler_;  // before linear_, which keeps a reference
    Linear linear_;
    std::vector<cache::AttentionScratch> attn_scratch_;
    std::vector<float> x_, h_, q_, k_, v_, att_, cos_, sin_, router_, sel_w_, xe_, gate_, up_, ye_;
    std::vector<int32_t> sel_;
    std::vector<int64_t> rows_, pos_;
    std::vector<int64_t> experts_, first_row_, row_of_;  // moe_few_rows: experts and their rows
    std::vector<float> row_weight_;
    std::vector<kernels::Activations> expert_act_;  // moe_few_rows: each expert's rows of h
    std::vector<kernels::Activations> down_act_;  // decode: each chosen expert's down input
    std::vector<float> weights_;
};

class GptOss final : public Architecture {
public:
    explicit GptOss(GptOssWeights w) : w_(std::move(w)) {}
    std::unique_ptr<Forward> make_forward(const ForwardOptions& o) const override {
        return std::make_unique<GptOssForward>(w_, o);
    }
    cache::KvLayout kv_layout(const KvOptions& o) const override {
        const auto& c = w_.cfg;
        cache::KvLayout l;
        l.n_layer = c.n_layer;
        l.n_ctx = o.n_ctx;
        l.n_head_kv = c.n_head_kv;
        l.head_dim = c.head_dim;
        l.storage = o.storage;
        l.hot_tokens = o.hot_tokens;
        l.budget_bytes = o.budget_bytes;
        for (int64_t i = 0; i < c.n_layer; ++i) l.window.push_back(c.window_of(i));
        l.ring_slack = static_cast<int64_t>(kMaxEvalChunk);
        return l;
    }
    std::vector<float> reference_logits(std::span<const int32_t> tokens) const override {
        return gpt_oss_reference_logits(w_, tokens);
    }
    uint64_t bytes_per_token() const override {
        const auto& c = w_.cfg;
        uint64_t bytes = w_.output.bytes() + w_.token_embd.row_bytes();
        for (const auto& L : w_.layers) {
            for (const auto* m : {&L.q, &L.k, &L.v, &L.o, &L.router}) bytes += m->bytes();
            for (const auto* m : {&L.gate, &L.up, &L.down}) bytes += c.n_expert_used * m->bytes();
        }
        return bytes;
    }

private:
    GptOssWeights w_;
};

}  // namespace

std::unique_ptr<Architecture> bind_gpt_oss(const gguf::File& file, ModelParams& params, const WeightOptions& options) {
    GptOssWeights w = load_weights(file, options);
    const auto& c = w.cfg;
    params.n_vocab = c.n_vocab;
    params.n_ctx_train = c.n_ctx_train;
    params.n_embd = c.n_embd;
    params.n_layer = c.n_layer;
    params.n_head = c.n_head;
    params.n_head_kv = c.n_head_kv;
    params.head_dim = c.head_dim;
    params.n_ff = c.n_ff;
    params.n_expert = c.n_expert;
    params.n_expert_used = c.n_expert_used;
    params.sliding_window = c.sliding_window;
    params.norm_eps = c.eps;
    return std::make_unique<GptOss>(std::move(w));
}

}  // namespace silica::arch
