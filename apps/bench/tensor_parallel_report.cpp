#include "apps/bench/tensor_parallel_report.h"

#include <chrono>
#include <cstdio>
#include <vector>

namespace silica::bench {

std::string tensor_parallel_report(const std::shared_ptr<const Model>& model, const SessionOptions& options,
                                   int steps) {
    if (model->tp_ranks() <= 1) return "";
    SessionOptions so = options;
    so.n_ctx = 16 + steps;
    Session session(model, so);
    std::vector<int32_t> prompt;
    for (int i = 0; i < 16; ++i) prompt.push_back(static_cast<int32_t>((i * 7919 + 13) % model->params().n_vocab));
    session.decode(prompt);
    const TensorParallelStats before = model->tp_stats();
    const auto start = std::chrono::steady_clock::now();
    std::vector<int32_t> token{1};
    for (int i = 0; i < steps; ++i) session.decode(token);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const TensorParallelStats after = model->tp_stats();

    const double n = steps, layers = static_cast<double>(model->params().n_layer);
    const double reduces = (after.allreduces - before.allreduces) / n;
    const double reduce_kib = (after.allreduce_bytes - before.allreduce_bytes) / n / 1024.0;
    const double gather_kib = (after.allgather_bytes - before.allgather_bytes) / n / 1024.0;
    const double exchange_ms = (after.seconds - before.seconds) / n * 1e3, step_ms = seconds / n * 1e3;
    char text[768];
    std::snprintf(text, sizeof text,
                  "tensor parallel: rank %d of %d; per decoded token (%d steps of one sequence): %.0f allreduces "
                  "(%.1f per layer), %.1f KiB allreduced (%.2f KiB per layer), %.1f KiB of logits gathered from "
                  "the other ranks; %.3f ms in exchanges of a %.3f ms step (%.0f%%), %.1f us per exchange\n",
                  model->tp_rank(), model->tp_ranks(), steps, reduces, reduces / layers, reduce_kib,
                  reduce_kib / layers, gather_kib, exchange_ms, step_ms, 100.0 * exchange_ms / step_ms,
                  1e3 * exchange_ms / (reduces + (after.allgathers - before.allgathers) / n));
    return text;
}

}  // namespace silica::bench
