#include "apps/bench/weight_traffic.h"

#include <string>
#include <string_view>

#include "silica/error.h"

namespace silica::bench {
namespace {

bool is_embedding_table(std::string_view name) {
    return name == "token_embd.weight" || name == "position_embd.weight";
}

bool is_expert_tensor(std::string_view name) { return name.find("_exps") != std::string_view::npos; }

// Bytes of one row: a 2-D table is ne[1] rows of ne[0] elements stored contiguously.
uint64_t row_bytes(const gguf::TensorInfo& t) {
    const int64_t rows = t.n_dims >= 2 ? t.ne[1] * t.ne[2] * t.ne[3] : 1;
    return rows > 0 ? t.nbytes / static_cast<uint64_t>(rows) : t.nbytes;
}

}  // namespace

WeightTraffic estimate_weight_traffic(const std::vector<gguf::TensorInfo>& tensors, int64_t n_expert,
                                      int64_t n_expert_used) {
    bool has_output = false;
    for (const auto& t : tensors)
        if (t.name == "output.weight") has_output = true;

    WeightTraffic w;
    for (const auto& t : tensors) {
        w.total_tensor_bytes += t.nbytes;
        if (is_embedding_table(t.name)) {
            w.embedding_row_bytes += row_bytes(t);
            if (t.name == "token_embd.weight" && !has_output) w.dense_bytes += t.nbytes;  // tied output
        } else if (is_expert_tensor(t.name)) {
            if (n_expert <= 0 || n_expert_used <= 0 || n_expert_used > n_expert)
                throw Error("tensor " + t.name + " holds experts but the model declares " + std::to_string(n_expert) +
                            " experts with " + std::to_string(n_expert_used) + " used per token");
            // Integer arithmetic, exact when each expert's slice is a whole number of bytes.
            w.expert_bytes += t.nbytes / static_cast<uint64_t>(n_expert) * static_cast<uint64_t>(n_expert_used);
        } else {
            w.dense_bytes += t.nbytes;
        }
    }
    w.bytes_per_token = w.dense_bytes + w.expert_bytes + w.embedding_row_bytes;
    return w;
}

}  // namespace silica::bench
