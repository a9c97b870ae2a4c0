// What one position's logits say: the log-softmax of the row, the next token's negative
// log-likelihood and the argmax; the compact uint16 form of the row a KL base file stores; and
// the KL divergence of a row against such a stored base row.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

namespace silica::perplexity {

struct RowStats {
    double log_sum_exp = 0;  // log Σ exp(logits): log p_i = logits[i] - log_sum_exp
    double nll = 0;          // -log p(target)
    int32_t argmax = 0;      // first index of the largest logit
};

// Throws silica::Error if target is outside the row.
RowStats row_stats(std::span<const float> logits, int32_t target);

// Log-probabilities more than this below the row's largest are stored as the floor: they carry
// probabilities under e^-40 (4e-18), and the narrower range keeps the step (range / 65535) under
// 6.2e-4 nats, so the top tokens that dominate the KL divergence keep their precision.
constexpr float kBaseLogProbRange = 40.0f;

// One position of a KL base file: log p_i ≈ log_prob_min + scale * codes[i].
struct BaseRow {
    float log_prob_min = 0;
    float scale = 0;             // 0 when every logit of the row was equal
    float target_log_prob = 0;   // the next token's exact log-probability (base perplexity)
    int32_t argmax = 0;          // the base model's most likely token (exact top-1 agreement)
    std::vector<uint16_t> codes;  // one per vocabulary entry
};

// The base row of `logits` (stats: row_stats of the same row, with the next token as target).
void quantize_row(std::span<const float> logits, const RowStats& stats, BaseRow& out);

struct KlTerms {
    double kld = 0;       // KL(base || current) in nats
    double p_diff = 0;    // p_current(target) - p_base(target)
    bool same_top = false;  // the current argmax is the base's
};

// KL(base || current) of one position. The dequantized base row is renormalised first, so the
// divergence of a model from its own base file is >= 0 and of the order of the storage step squared.
KlTerms compare_row(std::span<const float> logits, const RowStats& stats, const BaseRow& base);

}  // namespace silica::perplexity
