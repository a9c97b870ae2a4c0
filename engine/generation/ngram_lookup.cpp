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
            table[ngram_hash(tokens.subspan(p - static_cast<size_t>(n), static_cast<size_t>(n)))] =
                static_cast<int64_t>(p);
        }
    }
    indexed_ = tokens.size();
}

std::vector<int32_t> NgramLookup::propose(std::span<const int32_t> tokens, int k) const {
    const size_t size = tokens.size();
    for (int n = std::min<int>(max_n_, static_cast<int>(size)); n >= min_n_; --n) {
        const auto suffix = tokens.subspan(size - static_cast<size_t>(n));
        const auto& table = tables_[static_cast<size_t>(n - min_n_)];
        const auto it = table.find(ngram_hash(suffix));
        if (it == table.end()) continue;
        const auto p = static_cast<size_t>(it->second);
        // The suffix itself is not indexed yet (no follower), so p < size: an earlier occurrence.
        if (p >= size || p < static_cast<size_t>(n)) continue;
        if (!std::equal(suffix.begin(), suffix.end(), tokens.begin() + static_cast<std::ptrdiff_t>(p - n)))
            continue;  // hash collision
        // What followed the match, continued past the end of the text as an overlapping copy
        // (token j is text[p + j] of the text extended by the proposals themselves): when the match
        // reaches the present, the text has been repeating with period size - p, so a loop such
        // as "the first time, the first time, ..." is proposed k tokens ahead, not just up to now.
        std::vector<int32_t> out;
        for (size_t j = 0; j < static_cast<size_t>(std::max(k, 0)); ++j)
            out.push_back(p + j < size ? tokens[p + j] : out[p + j - size]);
        return out;
    }
    return {};
}

int64_t NgramLookup::entries() const {
    int64_t n = 0;
    for (const auto& t : tables_) n += static_cast<int64_t>(t.size());
    return n;
}

}  // namespace silica
