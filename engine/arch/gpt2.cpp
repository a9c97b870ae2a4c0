#include "engine/arch/gpt2.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "cache/attention.h"
#include "cache/kv_cache.h"
#include "engine/arch/batch_attention.h"
#include "engine/arch/dense_ffn.h"
#include "engine/arch/linear.h"
#include "engine/arch/logits.h"
#include "engine/arch/norm.h"
#include "engine/arch/op_profiler.h"
#include "engine/arch/tensors.h"
#include "engine/gguf/gguf.h"
#include "engine/threading/thread_pool.h"
#include "kernels/ops.h"
#include "silica/error.h"

namespace silica::arch {
namespace {

// Bytes of its share of attn_out each thread prefetches into L2 during decode attention: the
// whole share for 124M Q8_0 (768 rows x 816 bytes / 2 threads = 306 KiB), well inside a 2 MiB L2.
// Measured on gpt2-124m Q8_0 (2 threads, 128+64 tokens): 187.5 vs 179.8 tok/s without; 64 KiB 185.4.
constexpr size_t kAttnOutPrefetchBytes = 256 * 1024;

Gpt2Weights load_weights(const gguf::File& f, const WeightOptions& options, const TensorParallel& tp) {
    Gpt2Weights w;
    auto& c = w.cfg;
    const std::string a = "gpt2.";
    c.n_embd = f.get_int(a + "embedding_length", 0);
    c.n_layer = f.get_int(a + "block_count", 0);
    c.n_head = f.get_int(a + "attention.head_count", 0);
    c.n_ctx_train = f.get_int(a + "context_length", 0);
    c.n_ff = f.get_int(a + "feed_forward_length", 4 * c.n_embd);
    c.eps = static_cast<float>(f.get_float(a + "attention.layer_norm_epsilon", 1e-5));
    if (c.n_embd <= 0 || c.n_layer <= 0 || c.n_head <= 0 || c.n_ctx_train <= 0 || c.n_ff <= 0 ||
        c.n_embd % c.n_head != 0)
        throw Error(f.path() + ": invalid or missing gpt2 hyper-parameters (embedding_length, block_count, "
                               "attention.head_count, context_length)");

    TensorBinder b(f, options);
    const gguf::TensorInfo* embd = f.tensor("token_embd.weight");
    if (!embd) throw Error(f.path() + ": missing tensor 'token_embd.weight'");
    c.n_vocab = embd->ne[1];
    const int64_t C = c.n_embd, F = c.n_ff, V = c.n_vocab, hd = c.head_dim();
    // This process's slice (tensor_parallel.h; everything in one process): its heads' rows of
    // q, k and v and columns of attn_output, its features of the MLP, its rows of the output.
    w.tp = tp;
    const parallel::TensorSplit& split = tp.split();
    w.heads = split.share(c.n_head, 1, "gpt2's attention heads");
    const parallel::Slice q{w.heads.begin * hd, w.heads.end * hd}, k{q.begin + C, q.end + C},
        v{q.begin + 2 * C, q.end + 2 * C};
    const parallel::Slice vocab = tp.vocab_share(V, split.rank);
    // A tied embedding is also the output matmul (the largest one): in one process bind it as a
    // matmul weight (repacked; lookups then unpack one row per token), else it is only read by
    // rows. Split over ranks, every rank reads whole rows of it and multiplies its slice.
    const bool tied = !b.has("output.weight");
    w.token_embd = tied && !split.active() ? b.weight("token_embd.weight", C, V) : b.embedding("token_embd.weight", C, V);
    w.position_embd = b.embedding("position_embd.weight", C, c.n_ctx_train);
    for (int64_t i = 0; i < c.n_layer; ++i) {
        const std::string p = "blk." + std::to_string(i) + ".";
        Gpt2Layer L;
        L.ln1 = Norm{NormKind::layer, b.floats(p + "attn_norm.weight", {C}), b.floats(p + "attn_norm.bias", {C}),
                     c.eps};
        L.qkv = b.weight_rows(p + "attn_qkv.weight", C, 3 * C, {q, k, v});
        L.qkv_b = slice_of(b.floats(p + "attn_qkv.bias", {3 * C}), {q, k, v});
        L.attn_out = b.weight_cols(p + "attn_output.weight", C, C, q);
        L.attn_out_b = tp.first_rank_only(b.floats(p + "attn_output.bias", {C}));
        L.ln2 = Norm{NormKind::layer, b.floats(p + "ffn_norm.weight", {C}), b.floats(p + "ffn_norm.bias", {C}), c.eps};
        // Features in whole blocks of ffn_down's type, which is cut by columns.
        const int64_t unit = type_traits(b.get(p + "ffn_down.weight", {F, C}).type).block_size;
        const parallel::Slice ff = split.share(F, unit, "gpt2's feed-forward features");
        L.mlp.up = b.weight_rows(p + "ffn_up.weight", C, F, {ff});
        L.mlp.up_b = slice_of(b.floats(p + "ffn_up.bias", {F}), {ff});
        L.mlp.down = b.weight_cols(p + "ffn_down.weight", F, C, ff);
        L.mlp.down_b = tp.first_rank_only(b.floats(p + "ffn_down.bias", {C}));
        L.mlp.activation = Epilogue::gelu_tanh;
        w.layers.push_back(std::move(L));
    }
    w.out_norm = Norm{NormKind::layer, b.floats("output_norm.weight", {C}), b.floats("output_norm.bias", {C}), c.eps};
    if (tied && !split.active())
        w.output = w.token_embd;
    else
        w.output = b.weight_rows(tied ? "token_embd.weight" : "output.weight", C, V, {vocab});
    return w;
}

class Gpt2Forward final : public Forward {
public:
    Gpt2Forward(const Gpt2Weights& w, const ForwardOptions& o)
        : w_(w), opt_(o), profiler_(o.profile), linear_(*o.pool, profiler_), attn_scratch_(o.pool->n_threads()) {}

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
        const int64_t T = batch.n_rows(), C = c.n_embd;
        const int64_t Ch = w_.heads.size() * c.head_dim();  // this process's heads' q (or k, v) width
        for (const SequenceRun& r : batch.runs)
            r.kv->prepare(r.pos0, r.pos0 + r.n_rows - 1);  // blocks for this chunk; older blocks may turn warm
        batch.positions(pos_);
        x_.resize(T * C);
        h_.resize(T * C);
        qkv_.resize(T * 3 * Ch);
        att_.resize(T * Ch);

        {
            OpScope scope(profiler_, "embedding");
            for (int64_t t = 0; t < T; ++t) {
                w_.token_embd.row(batch.tokens[t], &x_[t * C]);
                w_.position_embd.row(pos_[t], &h_[t * C]);
                kernels::add(&x_[t * C], &h_[t * C], C);
            }
        }
        // x is the residual stream, h each block's output (engine/arch/norm.h). The residual add
        // and norm before a block run inside its first matmul's dispatch. Split over ranks, each
        // block's h is a partial sum until tp.sum adds the ranks' parts.
        for (int64_t l = 0; l < c.n_layer; ++l) {
            const Gpt2Layer& L = w_.layers[l];
            // x += h (the previous layer's MLP output; layer 0 has none), h = attention(LN1(x)).
            linear_.run_with_rows(L.qkv, h_.data(), T, qkv_.data(), L.qkv_b.data(), Epilogue::none, "matmul qkv",
                                  L.ln1.add_and_norm_name(), [&](int64_t begin, int64_t end) {
                                      add_and_norm_rows(L.ln1, l > 0, x_.data(), h_.data(), C, begin, end);
                                  });
            attention(batch, l);
            linear_.run(L.attn_out, att_.data(), T, h_.data(), bias_or_null(L.attn_out_b), Epilogue::none,
                        "matmul attn_out");
            w_.tp.sum(h_.data(), h_.size(), profiler_);
            // x += h (attention output), h = MLP(LN2(x)).
            dense_ffn(linear_, L.mlp, L.ln2, x_.data(), h_.data(), T, C, ff_);
            w_.tp.sum(h_.data(), h_.size(), profiler_);
        }
        // x += h (the last MLP output), final LayerNorm, output matrix (this process's vocabulary
        // slice, then gathered into whole rows).
        if (!out) return;
        final_norm_and_logits(linear_, profiler_, batch, w_.out_norm, true, x_.data(), h_.data(), C, w_.output, w_.tp,
                              c.n_vocab, logits_scratch_, out);
    }

    void attention(const Batch& batch, int64_t layer) {
        const auto& c = w_.cfg;
        const int64_t hd = c.head_dim(), Ch = w_.heads.size() * hd;
        AttentionShape shape;
        shape.n_head_kv = w_.heads.size();
        shape.head_dim = hd;
        shape.spec.scale = 1.0f / std::sqrt(static_cast<float>(hd));
        AttentionRows rows;  // q, k, v side by side in each row of qkv
        rows.q = qkv_.data();
        rows.k = qkv_.data() + Ch;
        rows.v = qkv_.data() + 2 * Ch;
        rows.q_stride = rows.kv_stride = 3 * Ch;
        rows.out = att_.data();
        rows.out_stride = Ch;
        attend_batch(*opt_.pool, profiler_, batch, layer, shape, rows, attn_scratch_, &w_.layers[layer].attn_out,
                     kAttnOutPrefetchBytes);
    }

    const Gpt2Weights& w_;
    ForwardOptions opt_;
    OpProfiler profiler_;  // before linear_, which keeps a reference
    Linear linear_;
    std::vector<cache::AttentionScratch> attn_scratch_;
    std::vector<float> x_, h_, qkv_, att_, ff_;
    LogitsScratch logits_scratch_;  // tensor parallelism: this rank's vocabulary slice, gathered
    std::vector<int64_t> pos_;
};

class Gpt2 final : public Architecture {
public:
    explicit Gpt2(Gpt2Weights w) : w_(std::move(w)) {}
    std::unique_ptr<Forward> make_forward(const ForwardOptions& o) const override {
        return std::make_unique<Gpt2Forward>(w_, o);
    }
    cache::KvLayout kv_layout(const KvOptions& o) const override {
        cache::KvLayout l;
        l.n_layer = w_.cfg.n_layer;
        l.n_ctx = o.n_ctx;
        l.n_head_kv = w_.heads.size();  // this process's heads
        l.head_dim = w_.cfg.head_dim();
        l.storage = o.storage;
        l.hot_tokens = o.hot_tokens;
        l.budget_bytes = o.budget_bytes;
        return l;
    }
    std::vector<float> reference_logits(std::span<const int32_t> tokens) const override {
        if (w_.tp.active()) throw Error("the reference forward needs the whole model, not a tensor-parallel slice");
        return gpt2_reference_logits(w_, tokens);
    }
    size_t eval_chunk_rows() const override { return kMaxEvalChunk; }
    uint64_t bytes_per_token() const override {
        uint64_t bytes = w_.output.bytes();
        for (const auto& L : w_.layers)
            for (const auto* m : {&L.qkv, &L.attn_out, &L.mlp.up, &L.mlp.down}) bytes += m->bytes();
        return bytes;
    }

private:
    Gpt2Weights w_;
};

}  // namespace

std::unique_ptr<Architecture> bind_gpt2(const gguf::File& file, ModelParams& params, const WeightOptions& options,
                                        const TensorParallel& tp) {
    Gpt2Weights w = load_weights(file, options, tp);
    const auto& c = w.cfg;
    params.n_vocab = c.n_vocab;
    params.n_ctx_train = c.n_ctx_train;
    params.n_embd = c.n_embd;
    params.n_layer = c.n_layer;
    params.n_head = params.n_head_kv = c.n_head;
    params.head_dim = c.head_dim();
    params.n_ff = c.n_ff;
    params.norm_eps = c.eps;
    return std::make_unique<Gpt2>(std::move(w));
}

}  // namespace silica::arch
