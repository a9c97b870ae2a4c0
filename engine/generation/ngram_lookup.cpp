// The n-gram lookup proposer: where each n-gram of the text so far last occurred.
#include <algorithm>
#include <string>

#include "silica/error.h"
#include "silica/speculative.h"

namespace silica {
namespace {

uint64_t ngram_hash(std::span<const int32_t> ngram) {
    uint64_t h = 0x9E3779B97F4A7C15ull;
    for (int32_t t : ngram) {
        h ^= static_cast<uint32_t>(t);
        h *= 0x100000001B3ull;  // FNV-style mixing; collisions are checked against the tokens
        h ^= h >> 29;
    }
    return h;
}

}  // namespace

NgramLookup::NgramLookup(int min_ngram, int max_ngram, int64_t max_entries)
    : min_n_(min_ngram), max_n_(max_ngram), max_entries_(max_entries) {
    if (min_ngram < 1 || max_ngram < min_ngram || max_ngram > 64)
        throw Error("n-gram lookup: lengths must satisfy 1 <= min <= max <= 64 (got " + std::to_string(min_ngram) +
                    ".." + std::to_string(max_ngram) + ")");
    if (max_entries < 1) throw Error("n-gram lookup: the index needs at least one entry");
    tables_.resize(static_cast<size_t>(max_n_ - min_n_ + 1));
}

void NgramLookup::update(std::span<const int32_t> tokens) {
    if (tokens.size() < indexed_) throw Error("n-gram lookup: the token sequence shrank");
    // Position p (a token) follows the n-gram tokens[p-n, p): record p as its latest follower.
    for (size_t p = std::max<size_t>(indexed_, 1); p < tokens.size(); ++p) {
        for (int n = min_n_; n <= max_n_ && static_cast<size_t>(n) <= p; ++n) {
            auto& table = tables_[static_cast<size_t>(n - min_n_)];
            // Bounded: a full table starts over, so it holds the most recent text.
            if (static_cast<int64_t>(table.size()) >= max_entries_) table.clear();
            const auto [it, first] = table.try_emplace(
                ngram_hash(tokens.subspan(p - static_cast<size_t>(n), static_cast<size_t>(n))), Follower{});
            Follower& f = it->second;
            f.changed = !first && tokens[static_cast<size_t>(f.pos)] != tokens[p];
            f.pos = static_cast<int64_t>(p);
        }
    }
    indexed_ = tokens.size();
}

std::vector<int32_t> NgramLookup::propose(std::span<const int32_t> tokens, int k) const {
    const size_t size = tokens.size();
    std::vector<int32_t> out;
    // The last max_n tokens of the text followed by the proposals so far: each proposal is the
    // follower of this window's longest suffix seen before.
    std::vector<int32_t> window(tokens.end() - static_cast<std::ptrdiff_t>(std::min<size_t>(size, max_n_)), tokens.end());
    while (static_cast<int>(out.size()) < k) {
        const Follower* next = nullptr;
        for (int n = std::min<int>(max_n_, static_cast<int>(window.size())); n >= min_n_ && !next; --n) {
            const auto suffix = std::span<const int32_t>(window).subspan(window.size() - static_cast<size_t>(n));
            const auto& table = tables_[static_cast<size_t>(n - min_n_)];
            const auto it = table.find(ngram_hash(suffix));
            if (it == table.end()) continue;
            const auto p = static_cast<size_t>(it->second.pos);
            // Indexed positions have a follower, so p < size: an earlier occurrence.
            if (p >= size || p < static_cast<size_t>(n)) continue;
            if (!std::equal(suffix.begin(), suffix.end(), tokens.begin() + static_cast<std::ptrdiff_t>(p - n)))
                continue;  // hash collision
            next = &it->second;
        }
        // No match; or the history disagrees with itself here (the last two times this n-gram
        // came, different tokens followed), where a guess past the first is more likely wasted.
        if (!next || (next->changed && !out.empty())) break;
        out.push_back(tokens[static_cast<size_t>(next->pos)]);
        window.push_back(out.back());
        if (window.size() > static_cast<size_t>(max_n_)) window.erase(window.begin());
    }
    return out;
}

int64_t NgramLookup::entries() const {
    int64_t n = 0;
    for (const auto& t : tables_) n += static_cast<int64_t>(t.size());
    return n;
}

}  // namespace silica
