// GPT-OSS (general.architecture = "gpt-oss"): RMSNorm blocks; GQA attention with biases, NeoX
// RoPE with YaRN scaling, learned attention sinks, and a sliding window on even layers; a
// mixture-of-experts MLP (top-4 of 32, softmax over the chosen four) of clamped-SwiGLU experts
// stored in MXFP4. Ground truth: OpenAI's reference implementation (gpt_oss/torch/model.py).
#pragma once
#include <memory>
#include <vector>

#include "engine/arch/architecture.h"
#include "engine/arch/moe.h"
#include "engine/arch/norm.h"
#include "engine/arch/tensor_parallel.h"
#include "engine/arch/weight.h"

namespace silica::arch {

struct GptOssConfig {
    int64_t n_vocab = 0, n_ctx_train = 0, n_embd = 0, n_layer = 0, n_head = 0, n_head_kv = 0, head_dim = 0;
    int64_t n_ff = 0;  // per expert
    int64_t n_expert = 0, n_expert_used = 0;
    int64_t sliding_window = 0;  // on even layers
    float eps = 1e-5f;
    double rope_base = 150000.0;
    double yarn_factor = 1.0;  // 1: no YaRN
    double yarn_orig_ctx = 4096.0;
    double yarn_beta_fast = 32.0, yarn_beta_slow = 1.0;
    float swiglu_alpha = 1.702f, swiglu_limit = 7.0f;

    int64_t window_of(int64_t layer) const { return layer % 2 == 0 ? sliding_window : 0; }
    MoeShape moe_shape() const { return {n_embd, n_ff, n_expert, n_expert_used, swiglu_alpha, swiglu_limit}; }
};

struct GptOssLayer {
    Norm attn_norm;  // RMSNorm before attention
    Weight q, k, v, o;
    std::vector<float> q_b, k_b, v_b, o_b;
    std::vector<float> sinks;  // [n_head]
    Norm post_norm;  // RMSNorm before the MoE (attn_post_norm in GGUF)
    MoeWeights moe;
};

struct GptOssWeights {
    GptOssConfig cfg;
    // Tensor parallelism (tensor_parallel.h): this process holds key/value heads
    // [kv_heads.begin, kv_heads.end) with their query heads, and n_ff_local features of every
    // expert (all of them in one process).
    TensorParallel tp;
    parallel::Slice kv_heads;
    int64_t n_ff_local = 0;
    int64_t n_head_local() const { return kv_heads.size() * (cfg.n_head / cfg.n_head_kv); }
    Weight token_embd;  // repacked only when it is also the output (tied)
    std::vector<GptOssLayer> layers;
    Norm out_norm;
    Weight output;
};

// Expert e of a stacked expert matrix (rows of expert e follow those of expert e-1).
inline Weight expert(const Weight& stacked, int64_t e) { return stacked.expert(e); }

// YaRN-scaled rotary embedding (NeoX layout: the two halves of a head are rotated together).
class Rope {
public:
    explicit Rope(const GptOssConfig& c);
    // cos/sin for one position: head_dim/2 values each, concentration already applied.
    void angles(int64_t pos, float* cos, float* sin) const;
    double concentration() const { return concentration_; }
    const std::vector<double>& inv_freq() const { return inv_freq_; }

private:
    std::vector<double> inv_freq_;
    double concentration_ = 1.0;
};

// tp: this process's slice (a default TensorParallel: the whole model).
std::unique_ptr<Architecture> bind_gpt_oss(const gguf::File& file, ModelParams& params, const WeightOptions& options,
                                           const TensorParallel& tp);
std::vector<float> gpt_oss_reference_logits(const GptOssWeights& w, std::span<const int32_t> tokens);

}  // namespace silica::arch
