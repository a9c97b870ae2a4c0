// GPT-2 (general.architecture = "gpt2"): learned position embeddings, pre-LayerNorm blocks with
// fused QKV, causal multi-head attention and a GELU MLP, all with biases; tied output matrix
// unless the file has output.weight.
#pragma once
#include <memory>
#include <vector>

#include "engine/arch/architecture.h"
#include "engine/arch/dense_ffn.h"
#include "engine/arch/norm.h"
#include "engine/arch/tensor_parallel.h"
#include "engine/arch/weight.h"

namespace silica::arch {

struct Gpt2Config {
    int64_t n_vocab = 0, n_ctx_train = 0, n_embd = 0, n_layer = 0, n_head = 0, n_ff = 0;
    float eps = 1e-5f;
    int64_t head_dim() const { return n_embd / n_head; }
};

struct Gpt2Layer {
    Norm ln1;    // LayerNorm before attention
    Weight qkv;  // [3C][C]: q, k, v stacked
    std::vector<float> qkv_b;
    Weight attn_out;
    std::vector<float> attn_out_b;
    Norm ln2;  // LayerNorm before the MLP
    DenseFfnWeights mlp;  // up [F][C], GELU, down [C][F]
};

struct Gpt2Weights {
    Gpt2Config cfg;
    // Tensor parallelism: this process holds heads [heads.begin, heads.end) of every layer's
    // attention (all of them in one process), and a share of the MLP's features and of the vocabulary.
    TensorParallel tp;
    parallel::Slice heads;
    Weight token_embd;     // [V][C]; repacked only when it is also the output
    Weight position_embd;  // [n_ctx_train][C]
    std::vector<Gpt2Layer> layers;
    Norm out_norm;
    Weight output;  // [V][C]; the token embedding when the file has no output.weight
};

// tp: this process's slice (a default TensorParallel: the whole model).
std::unique_ptr<Architecture> bind_gpt2(const gguf::File& file, ModelParams& params, const WeightOptions& options,
                                        const TensorParallel& tp);

// Slow scalar reference (double accumulation, dequantized weights, no threads): logits of every
// position of `tokens`, evaluated from position 0. Used only by tests; needs the whole model.
std::vector<float> gpt2_reference_logits(const Gpt2Weights& w, std::span<const int32_t> tokens);

}  // namespace silica::arch
