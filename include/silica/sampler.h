// Picks the next token from a row of logits.
//
// The steps, in order (each one optional):
//   1. repetition penalty over the last repeat_last_n accepted tokens (llama.cpp semantics: a
//      positive logit is divided by the penalty, a negative one multiplied; once per distinct token),
//      then OpenAI's presence and frequency penalties over the same tokens;
//   2. temperature 0: greedy, the highest logit (ties: the lowest token id); nothing below applies;
//   3. top-k: keep the k highest logits (ties: lower ids first);
//   4. softmax with temperature over what is left;
//   5. top-p: keep the smallest set of most likely tokens whose probability adds up to >= top_p;
//   6. min-p: drop tokens whose probability is below min_p × the highest probability;
//   7. draw from the kept tokens in proportion to their probabilities (most likely first; in id
//      order when steps 3, 5 and 6 cut nothing, which saves sorting the vocabulary), with std::mt19937_64 seeded
//      from `seed` and our own conversion to a uniform number (the same seed gives the same tokens
//      with any standard library).
// At least one token is always kept. NaN logits count as -inf; a row with no finite logit is an
// error. Not thread-safe: one Sampler per generation stream.
#pragma once
#include <cstdint>
#include <random>
#include <span>
#include <vector>

namespace silica {

struct SamplerOptions {
    float temperature = 0.8f;    // 0 = greedy; must be >= 0
    int top_k = 40;              // <= 0: keep all
    float top_p = 0.95f;         // >= 1: keep all
    float min_p = 0.05f;         // <= 0: keep all
    float repeat_penalty = 1.0f;  // 1 = off; must be > 0
    int repeat_last_n = 64;      // 0 = off; < 0 = every accepted token
    // OpenAI's penalties over the same window of accepted tokens: a token's logit loses
    // presence_penalty once if it occurs and frequency_penalty per occurrence. Each in [-2, 2].
    float presence_penalty = 0.0f;
    float frequency_penalty = 0.0f;
    uint64_t seed = 0;           // fixed by default so runs are reproducible
};

struct TokenProbability {
    int32_t token = 0;
    float probability = 0.0f;
};

class Sampler {
public:
    explicit Sampler(SamplerOptions options = {});  // throws silica::Error on invalid options

    // The next token for this row of logits (one per vocabulary entry).
    int32_t sample(std::span<const float> logits);
    // Records a token as part of the text (prompt or generated), for the repetition penalty.
    void accept(int32_t token);
    // Forgets the accepted tokens and restarts the random sequence from the seed.
    void reset();

    // Speculative decoding with a deterministic proposal (a draft model's greedy token, or an
    // n-gram lookup: its distribution q is one-hot on `proposed`). Greedy: sample(). Otherwise
    // the rejection rule with q one-hot: `proposed` is kept with probability p(proposed) (p: the
    // distribution sample() draws from), else the token is drawn from p without `proposed`,
    // renormalised, so the result is distributed exactly as sample()'s. The result equals
    // `proposed` exactly when it was accepted.
    int32_t sample_proposed(std::span<const float> logits, int32_t proposed);

    // The tokens sample() would draw from for these logits, most likely first, with their
    // probabilities renormalised to sum to 1 (greedy: the one chosen token with probability 1).
    // Does not advance the random sequence.
    std::vector<TokenProbability> distribution(std::span<const float> logits);

    const SamplerOptions& options() const { return options_; }

private:
    struct Candidate {
        float logit;
        int32_t token;
    };
    void prepare(std::span<const float> logits);  // fills work_ with sanitised, penalised logits
    bool penalties_apply() const;                      // a penalty is set and there is history
    int32_t greedy_of(std::span<const float> logits);  // temperature 0: the highest (penalised) logit
    void select_candidates();  // fills cand_ (sorted), weights_ and n_kept_
    double uniform01();

    SamplerOptions options_;
    std::mt19937_64 rng_;
    std::vector<int32_t> history_;  // ring of the last repeat_last_n accepted tokens
    size_t history_next_ = 0;       // where the next accepted token goes once the ring is full
    std::vector<float> work_;
    std::vector<Candidate> cand_;
    std::vector<double> weights_;  // exp((logit - max) / temperature) of cand_[i]
    size_t n_kept_ = 0;
    std::vector<int32_t> penalised_;
};

}  // namespace silica
