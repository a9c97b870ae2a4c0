// One forward pass's work: rows (tokens) from any number of sequences. Each sequence contributes
// one run of rows at consecutive positions, appended to its own KV cache. The matmuls see all
// rows at once (so N decoding sequences read each weight once per step, not N times); attention
// runs per run against its sequence's cache; logits are computed only for the rows that want them.
#pragma once
#include <algorithm>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

namespace silica::cache { class KvCache; }

namespace silica::arch {

struct SequenceRun {
    cache::KvCache* kv = nullptr;  // the sequence's cache (its rows are stored there)
    int64_t pos0 = 0;              // position of the run's first row
    int64_t first_row = 0;         // the run's rows in the batch: [first_row, first_row + n_rows)
    int64_t n_rows = 0;
};

struct Batch {
    std::vector<int32_t> tokens;       // one per row
    std::vector<uint8_t> wants_logits;  // one per row
    std::vector<SequenceRun> runs;     // in row order, covering every row exactly once
    // Called after each chunk of rows is evaluated (their K/V rows are in the caches), with that
    // chunk: the engine registers prefix-cache blocks there, while window layers still hold them.
    std::function<void(const Batch& chunk)> after_chunk;

    int64_t n_rows() const { return static_cast<int64_t>(tokens.size()); }
    int64_t n_logit_rows() const { return std::count(wants_logits.begin(), wants_logits.end(), uint8_t{1}); }

    // Appends a run of `tokens` for the sequence whose cache is `kv`, starting at position pos0.
    // last_logits: only its last row wants logits; all_logits: every row (overrides last_logits).
    void add_run(cache::KvCache* kv, int64_t pos0, std::span<const int32_t> run_tokens, bool all_logits,
                 bool last_logits = true) {
        const int64_t first = n_rows(), n = static_cast<int64_t>(run_tokens.size());
        tokens.insert(tokens.end(), run_tokens.begin(), run_tokens.end());
        for (int64_t i = 0; i < n; ++i) wants_logits.push_back(all_logits || (last_logits && i == n - 1) ? 1 : 0);
        runs.push_back({kv, pos0, first, n});
    }

    // The rows [begin, end) as a batch of their own (runs cut at the edges).
    Batch slice(int64_t begin, int64_t end) const {
        Batch b;
        b.tokens.assign(tokens.begin() + begin, tokens.begin() + end);
        b.wants_logits.assign(wants_logits.begin() + begin, wants_logits.begin() + end);
        for (const SequenceRun& r : runs) {
            const int64_t lo = std::max(begin, r.first_row), hi = std::min(end, r.first_row + r.n_rows);
            if (lo < hi) b.runs.push_back({r.kv, r.pos0 + (lo - r.first_row), lo - begin, hi - lo});
        }
        return b;
    }

    // Position of every row (embeddings, rotary angles).
    void positions(std::vector<int64_t>& out) const {
        out.resize(tokens.size());
        for (const SequenceRun& r : runs)
            for (int64_t i = 0; i < r.n_rows; ++i) out[r.first_row + i] = r.pos0 + i;
    }
};

// Runs eval_chunk(chunk, out) over slices of at most max_rows rows (bounding scratch memory while
// keeping the matmuls GEMMs). `logits` gets one n_vocab row per row that wants logits, in row
// order; `out` points at the chunk's first such row (null when the chunk has none).
template <typename EvalChunk>
void eval_in_chunks(const Batch& batch, int64_t n_vocab, int64_t max_rows, std::vector<float>& logits,
                    EvalChunk&& eval_chunk) {
    logits.resize(static_cast<size_t>(batch.n_logit_rows() * n_vocab));
    int64_t logit_rows_done = 0;
    for (int64_t begin = 0; begin < batch.n_rows(); begin += max_rows) {
        const int64_t end = std::min(batch.n_rows(), begin + max_rows);
        Batch sliced;
        if (begin > 0 || end < batch.n_rows()) sliced = batch.slice(begin, end);
        const Batch& chunk = begin > 0 || end < batch.n_rows() ? sliced : batch;
        const int64_t wanted = chunk.n_logit_rows();
        eval_chunk(chunk, wanted ? logits.data() + logit_rows_done * n_vocab : nullptr);
        logit_rows_done += wanted;
        if (batch.after_chunk) batch.after_chunk(chunk);
    }
}

}  // namespace silica::arch
