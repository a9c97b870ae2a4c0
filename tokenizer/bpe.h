// Byte-pair merging of one pre-tokenized piece, with tiktoken's semantics: start from single
// bytes; repeatedly merge the adjacent pair whose concatenation is the token of lowest rank
// (leftmost first on ties); stop when no adjacent pair forms a token.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/pair_table.h"
#include "tokenizer/token_index.h"

namespace silica::tokenizer {

class BpeModel {
public:
    // token_bytes: raw bytes of every token (must outlive the model); mergeable: which of them BPE may produce or start from
    // (normal tokens); merges: GGUF's "left right" strings in byte-level form. A token's rank is the
    // index of the first merge that produces it (tiktoken's rank order for tiktoken vocabularies).
    // Throws silica::Error for a merge that names unknown tokens or a byte with no token.
    BpeModel(const std::vector<std::string>& token_bytes, const std::vector<bool>& mergeable,
             const std::vector<std::string>& merges);

    // The id of the mergeable token whose bytes are exactly `bytes`, or -1.
    int32_t find(std::string_view bytes) const { return index_.find(bytes); }

    // Reusable buffers of merge_fast, so a long text does not allocate per piece.
    struct Scratch {
        struct Symbol {
            int32_t id;    // -1 once merged into its left neighbour
            int32_t prev;  // index of the live neighbours, -1 at the ends
            int32_t next;
        };
        struct Candidate {
            uint32_t rank;
            int32_t left, right;  // symbol indices
            int32_t left_id, right_id, merged_id;
        };
        std::vector<Symbol> symbols;
        std::vector<Candidate> heap;
        std::vector<int32_t> ids;     // short pieces: the current parts
        std::vector<PairMerge> next;  // short pieces: what merging part i with part i + 1 gives
    };

    // Appends the tokens of `piece` (non-empty), pair ranks from a hash table of (left id, right
    // id): pieces up to kShortPiece bytes by a linear scan over the parts (no heap; each pair is
    // looked up once), longer ones by a heap of candidate pairs over a linked list. O(n log n).
    void merge_fast(std::string_view piece, std::vector<int32_t>& out, Scratch& scratch) const;
    static constexpr size_t kShortPiece = 48;
    // The same result by tiktoken's reference loop: scan every adjacent pair, look the
    // concatenated bytes up, merge the best one, repeat. O(n^2) lookups; a baseline and an oracle.
    void merge_naive(std::string_view piece, std::vector<int32_t>& out) const;

    size_t n_pairs() const { return pairs_.size(); }

private:
    void merge_short(std::string_view piece, std::vector<int32_t>& out, Scratch& scratch) const;
    void merge_long(std::string_view piece, std::vector<int32_t>& out, Scratch& scratch) const;

    TokenIndex index_;  // mergeable tokens by their bytes
    std::array<int32_t, 256> byte_id_{};
    std::vector<uint32_t> rank_;  // per token id; kNoRank when no merge produces it
    PairTable pairs_;
};

inline constexpr uint32_t kNoRank = UINT32_MAX;

}  // namespace silica::tokenizer
