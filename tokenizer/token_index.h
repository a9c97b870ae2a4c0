// Finds a token id by its raw bytes: an open-addressing table of (hash, id) whose keys are the
// tokens' own byte strings (not copied). Faster than std::unordered_map<std::string, int> on the
// two hot lookups: "is this whole piece a token?" and the split enumeration at load time.
#pragma once
#include <xxhash.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace silica::tokenizer {

class TokenIndex {
public:
    // Indexes tokens[id] for every id where include[id]; the first of equal byte strings wins.
    // `tokens` must outlive the index.
    TokenIndex(const std::vector<std::string>& tokens, const std::vector<bool>& include) : tokens_(&tokens) {
        size_t n = 0;
        for (size_t id = 0; id < tokens.size(); ++id) n += include[id] ? 1 : 0;
        size_t capacity = 16;
        while (capacity < 2 * n) capacity *= 2;
        slots_.assign(capacity, Slot{0, -1});
        mask_ = capacity - 1;
        for (size_t id = 0; id < tokens.size(); ++id) {
            if (!include[id] || tokens[id].empty()) continue;
            const uint64_t h = hash(tokens[id]);
            size_t i = h & mask_;
            while (slots_[i].id >= 0 && !(slots_[i].hash == h && tokens[slots_[i].id] == tokens[id])) i = (i + 1) & mask_;
            if (slots_[i].id < 0) slots_[i] = Slot{h, static_cast<int32_t>(id)};
        }
    }

    // The id of the token with exactly these bytes, or -1.
    int32_t find(std::string_view bytes) const {
        const uint64_t h = hash(bytes);
        for (size_t i = h & mask_;; i = (i + 1) & mask_) {
            const Slot& s = slots_[i];
            if (s.id < 0) return -1;
            if (s.hash == h && (*tokens_)[s.id] == bytes) return s.id;
        }
    }

private:
    struct Slot {
        uint64_t hash;
        int32_t id;  // -1: empty
    };
    static uint64_t hash(std::string_view s) { return XXH3_64bits(s.data(), s.size()); }

    const std::vector<std::string>* tokens_;
    std::vector<Slot> slots_;
    size_t mask_ = 0;
};

}  // namespace silica::tokenizer
