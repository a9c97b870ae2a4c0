// Speculative decoding: cheap proposals for the next tokens, checked by the model in one pass.
//
// One step of the plain loop reads every weight to produce one token. Here a proposer guesses
// up to k next tokens, and the target evaluates the pending token and the k guesses in one
// Session::decode with logits for each (a pass over k+1 tokens costs little more than one when
// decoding is bound by reading the weights). Each guess is then put through the Generation like a
// sampled token (Generation::step_proposed): kept while the target agrees, and the first
// disagreement is replaced by the target's own token; the rejected tail is truncated from the
// KV cache(s). After a fully accepted run the last row gives one more token.
//
// Exactness: greedy output is token for token the plain loop's (the verify pass's logits are
// bit-identical to single steps: tests/engine/speculative_greedy_test.cpp); with sampling each
// token has the target's distribution (the rejection rule with a one-hot proposal, since both
// proposers propose deterministically), and the same seed gives the same text run to run (not
// the same text as plain sampling, which draws its random numbers differently).
//
// Proposers:
//   - n-gram lookup (prompt lookup): the longest run of the last max_ngram..min_ngram tokens that
//     occurred before in the prompt or the generated text proposes the token that followed it,
//     then again with that token appended (so loops are followed round), stopping where the text
//     has disagreed with itself (the n-gram's last two followers differ).
//     No second model; useful on copy-heavy text (quoting, rewriting, code edits).
//   - draft model: a smaller model with the same tokenizer, in its own Session, proposes its
//     greedy tokens one at a time, stopping early when its probability falls below draft_p_min.
//
// Adaptive k (deterministic, so runs are reproducible): for each depth i, a moving average c_i
// of how often proposal i was kept when the ones before it were (weight 0.25 per verify pass that
// reached depth i, all starting at 1; a draft model's round that proposed nothing divides c_1 by 4).
// A pass of k proposals then yields on average 1 + c_1 + c_1·c_2 + ... + c_1···c_k tokens and costs
// 1 + (c + d)·k decode steps: c = verify_cost_per_token, the target's marginal cost of one more
// verified token (measured: docs/PERFORMANCE.md), and d the draft's cost of proposing one (0 for
// lookup; for a draft model the ratio of the two files' sizes, a proxy for the bytes each pass
// reads). Each pass uses the k in 0..draft_max with the most tokens per step. When that is k = 0
// speculation is off for off_tokens plain steps (doubling at each switch-off until a proposal is
// kept again), then tried again with every c_i = 0.8. A draft that has not proposed a single token
// by its second switch-off stays off for the rest of the generation: each retry first catches
// the draft up on every token it missed (a prefill as long as the off period), so retrying a
// never-confident draft cost a fixed share of the time however long the periods grew (measured:
// 0.96x on the trained pair, docs/PERFORMANCE.md, session 15).
// Why per depth rather than one acceptance rate: kept proposals come in runs (a lookup match that
// holds tends to hold for the whole loop it copies), so after the first few are kept the next is
// likelier to be than the overall rate says. With one rate the copy task's adaptive k stayed near
// 2–3 where always proposing 8 kept 4.65 per pass (docs/PERFORMANCE.md, session 14).
// Measured costs (greedy decoding only): when the output cannot depend on the choice of k
// (temperature 0: every k gives the same tokens), the loop times its passes and c + d become the
// measured cost of a proposal, (time of a round ÷ median time of the last plain steps − 1) ÷
// proposals, the median over the last rounds. Medians, because timings are noisy one way: one
// pass slowed 10-fold (a page fault, the OS taking a core) turned a moving average's cost from
// 0.7 to 1.2 and speculation off at 95% acceptance (session 16). The configured costs hold until
// a plain step and kMinTimedRounds rounds have been timed (the first pass is plain, to time it),
// and again after each switch-off, when speculation is tried again (otherwise the cost that
// switched it off would switch it off again at once, for good). With sampling the costs stay the
// configured ones, so the same seed gives the same text run to run.
#pragma once
#include <atomic>
#include <cstdint>
#include <span>
#include <unordered_map>
#include <vector>

#include "silica/generation.h"

namespace silica {

class Model;
class Session;

struct SpeculativeOptions {
    bool lookup = false;            // n-gram lookup proposals
    Session* draft = nullptr;       // draft-model proposals (same vocabulary); lookup or draft
    int draft_max = 8;              // k: tokens proposed per verify pass at most (1..64)
    float draft_p_min = 0.5f;       // draft model: stop proposing below this probability
    int min_ngram = 2, max_ngram = 4;    // lookup: n-gram lengths tried, longest first
    int64_t lookup_max_entries = 65536;  // lookup: index entries per n-gram length (then it restarts)
    bool adaptive = true;           // adaptive k above; false: always up to draft_max
    bool measure_costs = true;      // greedy decoding: choose k by the passes' measured times
    // Marginal cost of one more verified token in steps; < 0: 0.1 for dense models, 0.4 for
    // mixture-of-experts ones (each token may read other experts).
    float verify_cost_per_token = -1.0f;
    // A draft model's cost of proposing one token, in target steps; < 0: the ratio of the draft's
    // file size to the target's (AdaptiveDraftLength::proposal_cost).
    float draft_cost_per_token = -1.0f;
    int off_tokens = 32;
};

struct SpeculativeStats {
    int64_t verify_passes = 0;     // target passes that checked at least one proposal
    int64_t plain_steps = 0;       // target passes without proposals
    int64_t proposed = 0;          // proposed tokens checked
    int64_t accepted = 0;          // of those, kept
    int64_t draft_passes = 0;      // draft-model decode calls
    int64_t switched_off = 0;      // times adaptive k turned speculation off
    double acceptance() const { return proposed > 0 ? static_cast<double>(accepted) / proposed : 0.0; }
    // Tokens kept per verify pass (accepted proposals; the target's own token comes on top).
    double mean_accepted() const { return verify_passes > 0 ? static_cast<double>(accepted) / verify_passes : 0.0; }
};

struct SpeculativeResult : GenerationResult {
    SpeculativeStats stats;
};

// As generate() (include/silica/generation.h), with proposals checked in batches. The callback
// sees the same steps as with generate(). Throws silica::Error for invalid options: neither or
// both proposers, a draft with a different vocabulary size (naming both), draft_max outside
// 1..64, n-gram lengths outside 1..max.
SpeculativeResult generate_speculative(Session& target, std::span<const int32_t> prompt,
                                       const GenerationOptions& options, const SpeculativeOptions& speculative,
                                       const GenerationCallback& on_step = {},
                                       const std::atomic<bool>* cancel = nullptr);

// The adaptive choice of k described above, for any decoding loop that verifies proposals
// (generate_speculative's, and silica-server's batched scheduler).
class AdaptiveDraftLength {
public:
    // adaptive false: always k_max. A pass of k proposals costs 1 + (cost_per_token +
    // proposal_cost) × k decode steps: the target's verify cost and the proposer's.
    // off_tokens: plain steps after switching off.
    AdaptiveDraftLength(bool adaptive, double cost_per_token, int off_tokens, double proposal_cost = 0.0);
    // SpeculativeOptions::verify_cost_per_token, or when it is < 0 the default for the model:
    // 0.1 for a dense one, 0.4 for a mixture of experts (n_expert > 0).
    static double cost_per_token(const SpeculativeOptions& options, int64_t n_expert);
    // A draft model's cost of proposing one token, in target decode steps:
    // SpeculativeOptions::draft_cost_per_token, or when it is < 0 the ratio of the files' sizes
    // (a draft pass reads the draft's weights where a step reads the target's).
    static double proposal_cost(const SpeculativeOptions& options, const Model& draft, const Model& target);

    // Proposals to make for the next pass, 0..k_max (0: a plain step).
    int choose(int k_max);
    // A pass that checked nothing: speculation off, or no proposal found (a lookup miss).
    void plain_step();
    // A pass that checked `proposed` (>= 1) proposals and kept `accepted`.
    void verified(int proposed, int accepted);
    // A proposer that stops on its own (n-gram lookup) was asked for up to `asked` proposals and
    // made `made`: choose() then prices a cap of k by the proposals it expects to be made, not k,
    // since a cap the proposer does not reach costs nothing.
    void offered(int asked, int made);
    // A round whose proposer was asked and proposed nothing, at a cost (a draft model's passes):
    // quarters the average, so a draft that is never confident is switched off within two rounds.
    void empty_round();

    // Measured costs (the doc comment above; only for loops whose output does not depend on k).
    // After measure_costs(), choose() asks for a plain step until one has been timed, and prices
    // proposals by the timed rounds once there are any.
    void measure_costs();
    void timed_plain_step(double seconds);
    // A round that checked `proposed` (>= 1) proposals: the proposer's time and the verify pass's.
    void timed_round(int proposed, double seconds);
    // The cost of one proposal in decode steps that choose() uses now.
    double proposal_cost_now() const;
    // Times choose() turned speculation off.
    int64_t switched_off() const { return switched_off_; }

private:
    bool adaptive_;
    double configured_cost_;  // of one proposal: the target's verify cost and the proposer's
    int off_tokens_;
    static constexpr int kMaxDepth = 64;  // SpeculativeOptions::draft_max at most
    // kept_[i - 1]: moving average of "proposal i kept" over passes that kept proposals 1..i-1
    // and proposed i (c_i above)
    std::vector<double> kept_ = std::vector<double>(kMaxDepth, 1.0);
    // offered_[i - 1]: moving average of "proposal i made" over rounds that made 1..i-1 and
    // allowed i (1 for proposers that never report offered())
    std::vector<double> offered_ = std::vector<double>(kMaxDepth, 1.0);
    int off_left_ = 0;
    // Plain steps of the next switch-off: off_tokens, doubled at every switch-off until a pass
    // keeps a proposal again (at most 32 × off_tokens), so proposals that never pay cost less
    // and less of a long generation.
    int off_period_;
    int64_t switched_off_ = 0;
    bool proposed_any_ = false;  // a pass has checked a proposal (verified() was called)
    bool measuring_ = false;
    // The last few values of a timing, and their median.
    class RecentMedian {
    public:
        void add(double value);
        int count() const { return count_; }
        double median() const;  // of the last kWindow values; 0 when there are none
        void clear() { count_ = next_ = 0; }

    private:
        static constexpr int kWindow = 9;
        double values_[kWindow] = {};
        int count_ = 0, next_ = 0;
    };
    static constexpr int kMinTimedRounds = 3;
    RecentMedian step_seconds_;  // timed plain steps
    RecentMedian round_costs_;   // timed rounds' cost per proposal, in steps
};

// The n-gram lookup proposer (exposed for tests and benchmarks): an index over a growing token
// sequence of where each n-gram last occurred.
class NgramLookup {
public:
    NgramLookup(int min_ngram, int max_ngram, int64_t max_entries);
    // Indexes tokens appended since the last call (`tokens` only ever grows between calls).
    void update(std::span<const int32_t> tokens);
    // Up to k tokens, one at a time: the token that followed the most recent earlier occurrence
    // of the longest suffix (max..min n-gram) of `tokens` (the sequence update() saw last) and
    // the proposals so far, so a loop in the text is proposed round and round. Stops early at
    // an n-gram whose last two occurrences were followed by different tokens (after the first
    // proposal), and where nothing matches; empty without a first match.
    std::vector<int32_t> propose(std::span<const int32_t> tokens, int k) const;

    int64_t entries() const;  // over all n-gram lengths

private:
    int min_n_, max_n_;
    int64_t max_entries_;
    size_t indexed_ = 0;  // tokens seen by update()
    struct Follower {
        int64_t pos = 0;       // the position just after the n-gram's latest occurrence
        bool changed = false;  // the token there differs from the one after the occurrence before
    };
    // tables_[n - min_n_]: hash of an n-gram -> its latest follower.
    std::vector<std::unordered_map<uint64_t, Follower>> tables_;
};

}  // namespace silica
