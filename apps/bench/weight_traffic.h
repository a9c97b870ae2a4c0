// How many bytes of weights one decode step reads: the numerator of the decode roofline
// (tokens/s <= memory read bandwidth / bytes of weights touched per token; DESIGN §5).
//
// The estimate is taken from the GGUF tensor table, not from the engine, so it is the same for
// every engine version and states what an ideal decoder must read:
//   - every tensor is read in full once per token (matrices and the small norm/bias vectors),
//   - except the embedding tables (`token_embd.weight`, `position_embd.weight`): a lookup reads
//     one row. When the model has no `output.weight`, the token embedding is also the output
//     matrix (tied, as in GPT-2) and is then read in full as well;
//   - Mixture-of-experts tensors (names containing `_exps`, experts stacked along the last
//     dimension) count only n_expert_used / n_expert of their bytes: the router picks that many
//     experts per token and per layer.
// The KV cache reads grow with the context and are not included (they are small next to the
// weights for the short contexts the bench uses).
#pragma once
#include <cstdint>
#include <vector>

#include "engine/gguf/gguf.h"

namespace silica::bench {

struct WeightTraffic {
    uint64_t bytes_per_token = 0;     // the sum of the three parts below
    uint64_t dense_bytes = 0;         // tensors read in full (incl. a tied output matrix)
    uint64_t expert_bytes = 0;        // the n_expert_used / n_expert share of the `_exps` tensors
    uint64_t embedding_row_bytes = 0; // one row of each embedding table
    uint64_t total_tensor_bytes = 0;  // all tensors in the file, for reference
};

// n_expert / n_expert_used: the model's `<arch>.expert_count` / `<arch>.expert_used_count`
// (0 for dense models). Throws silica::Error if the file has `_exps` tensors but no valid counts.
WeightTraffic estimate_weight_traffic(const std::vector<gguf::TensorInfo>& tensors, int64_t n_expert,
                                      int64_t n_expert_used);

}  // namespace silica::bench
