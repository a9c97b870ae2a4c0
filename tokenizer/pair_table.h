// An open-addressing hash table from a pair of adjacent token ids to what merging them gives:
// the merged token and its rank. The hot lookup of BPE, so flat and allocation-free.
#pragma once
#include <cstdint>
#include <vector>

namespace silica::tokenizer {

struct PairMerge {
    uint32_t rank;  // lower merges first
    int32_t id;     // the merged token
};

class PairTable {
public:
    // Sizes the table for `n` pairs (at most half full).
    void reserve(size_t n) {
        size_t capacity = 16;
        while (capacity < 2 * n) capacity *= 2;
        slots_.assign(capacity, Slot{kEmpty, {0, -1}});
        mask_ = capacity - 1;
        shift_ = 64;
        for (size_t c = capacity; c > 1; c /= 2) --shift_;
        size_ = 0;
    }
    // Adds a pair, or keeps the lower rank when it is already there.
    void insert(int32_t left, int32_t right, PairMerge merge) {
        if (2 * (size_ + 1) > slots_.size()) grow();
        Slot& s = find_slot(key(left, right));
        if (s.key == kEmpty) {
            s.key = key(left, right);
            s.merge = merge;
            ++size_;
        } else if (merge.rank < s.merge.rank) {
            s.merge = merge;
        }
    }
    // The merge of (left, right), or nullptr.
    const PairMerge* find(int32_t left, int32_t right) const {
        if (slots_.empty()) return nullptr;
        const uint64_t k = key(left, right);
        for (size_t i = hash(k);; i = (i + 1) & mask_) {
            if (slots_[i].key == k) return &slots_[i].merge;
            if (slots_[i].key == kEmpty) return nullptr;
        }
    }
    size_t size() const { return size_; }

private:
    static constexpr uint64_t kEmpty = ~uint64_t{0};
    struct Slot {
        uint64_t key;
        PairMerge merge;
    };
    static uint64_t key(int32_t left, int32_t right) {
        return (uint64_t{static_cast<uint32_t>(left)} << 32) | static_cast<uint32_t>(right);
    }
    // Fibonacci hashing: the top bits of the product mix every bit of both ids.
    size_t hash(uint64_t k) const { return static_cast<size_t>((k * 0x9E3779B97F4A7C15ull) >> shift_); }
    Slot& find_slot(uint64_t k) {
        for (size_t i = hash(k);; i = (i + 1) & mask_)
            if (slots_[i].key == k || slots_[i].key == kEmpty) return slots_[i];
    }
    void grow() {
        std::vector<Slot> old = std::move(slots_);
        reserve(old.size());  // doubles: reserve(n) makes room for 2n slots
        for (const Slot& s : old)
            if (s.key != kEmpty) {
                find_slot(s.key) = s;
                ++size_;
            }
    }

    std::vector<Slot> slots_;
    size_t mask_ = 0;
    int shift_ = 64;
    size_t size_ = 0;
};

}  // namespace silica::tokenizer
