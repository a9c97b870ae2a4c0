#include "tokenizer/bpe.h"

#include <algorithm>

#include "silica/error.h"
#include "tokenizer/byte_level.h"

namespace silica::tokenizer {

BpeModel::BpeModel(const std::vector<std::string>& token_bytes, const std::vector<bool>& mergeable,
                   const std::vector<std::string>& merges)
    : index_(token_bytes, mergeable) {
    const auto n = static_cast<int32_t>(token_bytes.size());
    for (int b = 0; b < 256; ++b) {
        const char c = static_cast<char>(b);
        byte_id_[b] = find(std::string_view(&c, 1));
        if (byte_id_[b] < 0) throw Error("tokenizer vocabulary has no token for byte " + std::to_string(b));
    }

    // A token's rank: the index of the first merge that produces it.
    rank_.assign(token_bytes.size(), kNoRank);
    for (size_t i = 0; i < merges.size(); ++i) {
        const std::string_view m = merges[i];
        const size_t space = m.find(' ', 1);  // a part is never empty; " " alone is not a part
        auto left = space == std::string_view::npos ? std::nullopt : byte_level_decode(m.substr(0, space));
        auto right = space == std::string_view::npos ? std::nullopt : byte_level_decode(m.substr(space + 1));
        const int32_t merged = left && right ? find(*left + *right) : -1;
        if (!left || !right || find(*left) < 0 || find(*right) < 0 || merged < 0)
            throw Error("tokenizer merge " + std::to_string(i) + " ('" + std::string(m) + "') does not join two tokens into a token");
        rank_[merged] = std::min(rank_[merged], static_cast<uint32_t>(i));
    }

    // tiktoken merges any adjacent pair whose concatenation is a ranked token, not only the pair
    // a merge list names, so the table holds every split of every ranked token into two tokens.
    // (For GPT-OSS, the GGUF merges already are every split; GPT-2's list has one per token.)
    pairs_.reserve(merges.size());  // grows if the merges name fewer pairs than there are splits
    for (int32_t id = 0; id < n; ++id) {
        if (rank_[id] == kNoRank) continue;
        const std::string_view bytes = token_bytes[id];
        for (size_t k = 1; k < bytes.size(); ++k) {
            const int32_t l = find(bytes.substr(0, k));
            if (l < 0) continue;
            const int32_t r = find(bytes.substr(k));
            if (r >= 0) pairs_.insert(l, r, PairMerge{rank_[id], id});
        }
    }
}

void BpeModel::merge_fast(std::string_view piece, std::vector<int32_t>& out, Scratch& s) const {
    if (piece.size() <= kShortPiece) merge_short(piece, out, s);
    else merge_long(piece, out, s);
}

void BpeModel::merge_short(std::string_view piece, std::vector<int32_t>& out, Scratch& s) const {
    constexpr PairMerge kNone{kNoRank, -1};
    auto& ids = s.ids;
    auto& next = s.next;
    ids.resize(piece.size());
    for (size_t i = 0; i < piece.size(); ++i) ids[i] = byte_id_[static_cast<uint8_t>(piece[i])];
    auto lookup = [&](size_t i) {
        const PairMerge* m = pairs_.find(ids[i], ids[i + 1]);
        return m ? *m : kNone;
    };
    next.resize(piece.size() - 1);
    for (size_t i = 0; i + 1 < ids.size(); ++i) next[i] = lookup(i);
    while (ids.size() > 1) {
        size_t best = 0;  // the lowest rank, the leftmost among equals
        for (size_t i = 1; i < next.size(); ++i)
            if (next[i].rank < next[best].rank) best = i;
        if (next[best].rank == kNoRank) break;
        ids[best] = next[best].id;
        ids.erase(ids.begin() + static_cast<std::ptrdiff_t>(best) + 1);
        next.erase(next.begin() + static_cast<std::ptrdiff_t>(best));
        if (best + 1 < ids.size()) next[best] = lookup(best);
        if (best > 0) next[best - 1] = lookup(best - 1);
    }
    out.insert(out.end(), ids.begin(), ids.end());
}

void BpeModel::merge_long(std::string_view piece, std::vector<int32_t>& out, Scratch& s) const {
    using Candidate = Scratch::Candidate;
    const auto n = static_cast<int32_t>(piece.size());
    auto& sym = s.symbols;
    auto& heap = s.heap;
    sym.resize(static_cast<size_t>(n));
    heap.clear();
    for (int32_t i = 0; i < n; ++i) sym[i] = {byte_id_[static_cast<uint8_t>(piece[i])], i - 1, i + 1 < n ? i + 1 : -1};

    // Min-heap on (rank, left position): the lowest rank first, the leftmost among equals.
    auto later = [](const Candidate& a, const Candidate& b) {
        return a.rank != b.rank ? a.rank > b.rank : a.left > b.left;
    };
    auto consider = [&](int32_t left, int32_t right) {
        if (const PairMerge* m = pairs_.find(sym[left].id, sym[right].id)) {
            heap.push_back({m->rank, left, right, sym[left].id, sym[right].id, m->id});
            std::push_heap(heap.begin(), heap.end(), later);
        }
    };
    for (int32_t i = 0; i + 1 < n; ++i) consider(i, i + 1);

    while (!heap.empty()) {
        std::pop_heap(heap.begin(), heap.end(), later);
        const Candidate c = heap.back();
        heap.pop_back();
        // Skip candidates made stale by an earlier merge of either side.
        if (sym[c.left].id != c.left_id || sym[c.left].next != c.right || sym[c.right].id != c.right_id) continue;
        sym[c.left].id = c.merged_id;
        sym[c.right].id = -1;
        sym[c.left].next = sym[c.right].next;
        if (sym[c.left].next >= 0) sym[sym[c.left].next].prev = c.left;
        if (sym[c.left].prev >= 0) consider(sym[c.left].prev, c.left);
        if (sym[c.left].next >= 0) consider(c.left, sym[c.left].next);
    }
    for (int32_t i = 0; i >= 0; i = sym[i].next) out.push_back(sym[i].id);
}

void BpeModel::merge_naive(std::string_view piece, std::vector<int32_t>& out) const {
    // Part i is piece[bounds[i], bounds[i + 1]).
    std::vector<size_t> bounds(piece.size() + 1);
    for (size_t i = 0; i <= piece.size(); ++i) bounds[i] = i;
    for (;;) {
        uint32_t best_rank = kNoRank;
        size_t best = 0;
        for (size_t i = 0; i + 2 < bounds.size(); ++i) {
            const int32_t id = find(piece.substr(bounds[i], bounds[i + 2] - bounds[i]));
            if (id >= 0 && rank_[id] < best_rank) {
                best_rank = rank_[id];
                best = i;
            }
        }
        if (best_rank == kNoRank) break;
        bounds.erase(bounds.begin() + static_cast<std::ptrdiff_t>(best + 1));
    }
    for (size_t i = 0; i + 1 < bounds.size(); ++i) out.push_back(find(piece.substr(bounds[i], bounds[i + 1] - bounds[i])));
}

}  // namespace silica::tokenizer
