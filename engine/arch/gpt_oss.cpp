#include "engine/arch/gpt_oss.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <string>

#include "cache/attention.h"
#include "cache/kv_cache.h"
#include "engine/arch/batch_attention.h"
#include "engine/arch/linear.h"
#include "engine/arch/logits.h"
#include "engine/arch/moe.h"
#include "engine/arch/norm.h"
#include "engine/arch/op_profiler.h"
#include "engine/arch/tensors.h"
#include "engine/gguf/gguf.h"
#include "engine/threading/thread_pool.h"
#include "kernels/ops.h"
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

namespace {

// Bytes of its share of the output projection each thread prefetches during decode attention
// (kernels/prefetch.h; SILICA_PREFETCH=0 turns it off). With the experts' prefetch
// (engine/arch/moe.cpp) it measured neutral on the 2-layer GPT-OSS-20B-shaped model (decode within
// 1%, dominated by the output matrix); see docs/PERFORMANCE.md for the full model.
constexpr size_t kAttnOutPrefetchBytes = 256 * 1024;

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

GptOssWeights load_weights(const gguf::File& f, const WeightOptions& options, const TensorParallel& tp) {
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
                  E = c.n_expert, hd = c.head_dim, group = c.n_head / c.n_head_kv;
    // This process's slice (tensor_parallel.h; everything in one process): its key/value heads
    // with their query heads (rows of q, k, v, columns of attn_output, their sinks), its features
    // of every expert (rows of gate and up, columns of down), its rows of the output matrix.
    w.tp = tp;
    const parallel::TensorSplit& split = tp.split();
    w.kv_heads = split.share(c.n_head_kv, 1, "gpt-oss's key/value heads");
    const parallel::Slice kv{w.kv_heads.begin * hd, w.kv_heads.end * hd}, q{kv.begin * group, kv.end * group},
        q_heads{w.kv_heads.begin * group, w.kv_heads.end * group};
    const parallel::Slice vocab = tp.vocab_share(c.n_vocab, split.rank);
    const bool tied = !b.has("output.weight");
    w.token_embd = tied && !split.active() ? b.weight("token_embd.weight", C, c.n_vocab)
                                           : b.embedding("token_embd.weight", C, c.n_vocab);
    for (int64_t i = 0; i < c.n_layer; ++i) {
        const std::string p = "blk." + std::to_string(i) + ".";
        GptOssLayer L;
        L.attn_norm = Norm{NormKind::rms, b.floats(p + "attn_norm.weight", {C}), {}, c.eps};
        L.q = b.weight_rows(p + "attn_q.weight", C, Q, {q});
        L.k = b.weight_rows(p + "attn_k.weight", C, KV, {kv});
        L.v = b.weight_rows(p + "attn_v.weight", C, KV, {kv});
        L.o = b.weight_cols(p + "attn_output.weight", Q, C, q);
        L.q_b = slice_of(b.floats(p + "attn_q.bias", {Q}), {q});
        L.k_b = slice_of(b.floats(p + "attn_k.bias", {KV}), {kv});
        L.v_b = slice_of(b.floats(p + "attn_v.bias", {KV}), {kv});
        L.o_b = tp.first_rank_only(b.floats(p + "attn_output.bias", {C}));
        L.sinks = slice_of(b.floats(p + "attn_sinks.weight", {c.n_head}), {q_heads});
        L.post_norm = Norm{NormKind::rms, b.floats(p + "post_attention_norm.weight", {C}), {}, c.eps};
        L.moe.router = b.weight(p + "ffn_gate_inp.weight", C, E);
        L.moe.router_b = b.floats(p + "ffn_gate_inp.bias", {E});
        // Features in whole blocks of the down stack's type, which is cut by columns.
        const int64_t unit = type_traits(b.get(p + "ffn_down_exps.weight", {F, C, E}).type).block_size;
        const parallel::Slice ff = split.share(F, unit, "gpt-oss's expert features");
        w.n_ff_local = ff.size();
        L.moe.gate = b.weight_rows(p + "ffn_gate_exps.weight", C, F, {ff}, E);
        L.moe.up = b.weight_rows(p + "ffn_up_exps.weight", C, F, {ff}, E);
        L.moe.down = b.weight_cols(p + "ffn_down_exps.weight", F, C, ff, E);
        L.moe.gate_b = slice_of_groups(b.floats(p + "ffn_gate_exps.bias", {F, E}), F, ff);
        L.moe.up_b = slice_of_groups(b.floats(p + "ffn_up_exps.bias", {F, E}), F, ff);
        L.moe.down_b = b.floats(p + "ffn_down_exps.bias", {C, E});
        if (!tp.first_rank()) std::fill(L.moe.down_b.begin(), L.moe.down_b.end(), 0.0f);  // rank 0 adds them
        w.layers.push_back(std::move(L));
    }
    w.out_norm = Norm{NormKind::rms, b.floats("output_norm.weight", {C}), {}, c.eps};
    if (tied && !split.active())
        w.output = w.token_embd;
    else
        w.output = b.weight_rows(tied ? "token_embd.weight" : "output.weight", C, c.n_vocab, {vocab});
    return w;
}

class GptOssForward final : public Forward {
public:
    GptOssForward(const GptOssWeights& w, const ForwardOptions& o)
        : w_(w),
          opt_(o),
          rope_(w.cfg),
          profiler_(o.profile),
          linear_(*o.pool, profiler_),
          moe_(*o.pool, profiler_, linear_),
          attn_scratch_(o.pool->n_threads()) {}

    void eval(const Batch& batch, std::vector<float>& logits) override {
        profiler_.begin_eval(batch.n_rows());
        eval_in_chunks(batch, w_.cfg.n_vocab, kMoeMaxEvalChunk, logits,
                       [&](const Batch& chunk, float* out) { eval_chunk(chunk, out); });
        profiler_.end_step();
    }

private:
    // out: logits of the rows that want them; null when none does.
    void eval_chunk(const Batch& batch, float* out) {
        const auto& c = w_.cfg;
        const int64_t T = batch.n_rows(), C = c.n_embd, hd = c.head_dim;
        const int64_t n_head = w_.n_head_local(), n_head_kv = w_.kv_heads.size();  // this process's heads
        for (const SequenceRun& r : batch.runs)
            r.kv->prepare(r.pos0, r.pos0 + r.n_rows - 1);  // blocks for this chunk; older blocks may turn warm
        batch.positions(pos_);
        const int64_t Q = n_head * hd, KV = n_head_kv * hd;
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
        // x is the residual stream, h each block's output (engine/arch/norm.h). Split over ranks,
        // each block's output is a partial sum until tp.sum adds the ranks' parts.
        MoeShape moe_shape = c.moe_shape();
        moe_shape.n_ff = w_.n_ff_local;
        for (int64_t l = 0; l < c.n_layer; ++l) {
            const GptOssLayer& L = w_.layers[l];
            {
                OpScope scope(profiler_, L.attn_norm.name());  // h = RMSNorm(x) (the MoE added into x)
                add_and_norm_rows(L.attn_norm, false, x_.data(), h_.data(), C, 0, T);
            }
            linear_.run(L.q, h_.data(), T, q_.data(), L.q_b.data(), Epilogue::none, "matmul q");
            linear_.run(L.k, h_.data(), T, k_.data(), L.k_b.data(), Epilogue::none, "matmul k");
            linear_.run(L.v, h_.data(), T, v_.data(), L.v_b.data(), Epilogue::none, "matmul v");
            {
                OpScope scope(profiler_, "rope");
                for (int64_t t = 0; t < T; ++t) {
                    apply_rope(&q_[t * Q], n_head, hd, &cos_[t * hd / 2], &sin_[t * hd / 2]);
                    apply_rope(&k_[t * KV], n_head_kv, hd, &cos_[t * hd / 2], &sin_[t * hd / 2]);
                }
            }
            attention(batch, l);
            linear_.run(L.o, att_.data(), T, h_.data(), bias_or_null(L.o_b), Epilogue::none, "matmul o");
            w_.tp.sum(h_.data(), h_.size(), profiler_);
            {
                OpScope scope(profiler_, "residual add+rmsnorm");  // x += h (attention), h = RMSNorm(x)
                add_and_norm_rows(L.post_norm, true, x_.data(), h_.data(), C, 0, T);
            }
            if (!w_.tp.active()) {
                expert_reads_ += moe_.run(L.moe, moe_shape, h_.data(), x_.data(), T);  // x += MoE(h)
                continue;
            }
            moe_out_.assign(T * C, 0.0f);  // the ranks' partial MoE outputs, summed, then x += MoE(h)
            expert_reads_ += moe_.run(L.moe, moe_shape, h_.data(), moe_out_.data(), T);
            w_.tp.sum(moe_out_.data(), moe_out_.size(), profiler_);
            kernels::add(x_.data(), moe_out_.data(), T * C);
        }
        // Final RMSNorm, output matrix (this process's vocabulary slice, then gathered into whole rows).
        if (!out) return;
        final_norm_and_logits(linear_, profiler_, batch, w_.out_norm, false, x_.data(), h_.data(), C, w_.output, w_.tp,
                              c.n_vocab, logits_scratch_, out);
    }

    void attention(const Batch& batch, int64_t layer) {
        const auto& c = w_.cfg;
        const int64_t hd = c.head_dim, Q = w_.n_head_local() * hd, KV = w_.kv_heads.size() * hd;
        AttentionShape shape;
        shape.n_head_kv = w_.kv_heads.size();
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

    const GptOssWeights& w_;
    ForwardOptions opt_;
    Rope rope_;
    OpProfiler profiler_;  // before linear_, which keeps a reference
    Linear linear_;
    MoeBlock moe_;
    std::vector<cache::AttentionScratch> attn_scratch_;
    std::vector<float> x_, h_, q_, k_, v_, att_, cos_, sin_;
    std::vector<float> moe_out_;       // tensor parallelism only
    LogitsScratch logits_scratch_;  // tensor parallelism: this rank's vocabulary slice, gathered
    std::vector<int64_t> pos_;
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
        l.n_head_kv = w_.kv_heads.size();  // this process's heads
        l.head_dim = c.head_dim;
        l.storage = o.storage;
        l.hot_tokens = o.hot_tokens;
        l.budget_bytes = o.budget_bytes;
        for (int64_t i = 0; i < c.n_layer; ++i) l.window.push_back(c.window_of(i));
        l.ring_slack = static_cast<int64_t>(eval_chunk_rows());
        return l;
    }
    std::vector<float> reference_logits(std::span<const int32_t> tokens) const override {
        if (w_.tp.active()) throw Error("the reference forward needs the whole model, not a tensor-parallel slice");
        return gpt_oss_reference_logits(w_, tokens);
    }
    size_t eval_chunk_rows() const override { return kMoeMaxEvalChunk; }
    uint64_t bytes_per_token() const override {
        const auto& c = w_.cfg;
        uint64_t bytes = w_.output.bytes() + w_.token_embd.row_bytes();
        for (const auto& L : w_.layers) {
            for (const auto* m : {&L.q, &L.k, &L.v, &L.o, &L.moe.router}) bytes += m->bytes();
            for (const auto* m : {&L.moe.gate, &L.moe.up, &L.moe.down}) bytes += c.n_expert_used * m->bytes();
        }
        return bytes;
    }

private:
    GptOssWeights w_;
};

}  // namespace

std::unique_ptr<Architecture> bind_gpt_oss(const gguf::File& file, ModelParams& params, const WeightOptions& options,
                                           const TensorParallel& tp) {
    GptOssWeights w = load_weights(file, options, tp);
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
