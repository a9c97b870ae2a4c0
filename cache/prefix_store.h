// The prefix cache: KV snapshots of full blocks of tokens, keyed by a hash chain over the token
// ids, so a new prompt that starts like an earlier one skips recomputing the shared part.
//
// Blocks are keyed as cache/prefix_keys.h says (a key identifies the whole prefix up to the end
// of its block). An entry also keeps its
// block's tokens and parent key, checked on lookup, so a hash collision is a miss, never wrong KV.
//
// Tiers: entries start hot (plain snapshots). When the hot bytes pass the budget, the least
// recently used entries are compressed with zlib into the cold tier; when the cold bytes pass the
// same budget, the least recently used cold entries are dropped. A lookup that hits a cold entry
// decompresses it back to hot. All public methods lock one mutex (sessions may share a store
// across threads). Snapshots are handed out as shared_ptr: an entry evicted while a
// caller still holds its snapshot stays alive until the caller lets go.
#pragma once
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <span>
#include <unordered_map>
#include <vector>

#include "cache/kv_snapshot.h"
#include "silica/prefix_cache.h"

namespace silica::cache {

using PrefixStoreStats = PrefixCacheStats;

class PrefixStore {
public:
    // budget_bytes bounds the hot tier and, separately, the cold tier.
    PrefixStore(int64_t block_tokens, uint64_t budget_bytes);

    int64_t block_tokens() const { return block_tokens_; }
    // Keys of the full blocks of `tokens` (tokens.size() / B of them).
    std::vector<uint64_t> block_keys(std::span<const int32_t> tokens) const;

    // Snapshots of the longest run of leading full blocks of `tokens` that are cached, at most
    // max_blocks of them (each block's snapshot covers its positions). Marks them recently used.
    std::vector<std::shared_ptr<const KvSnapshot>> lookup(std::span<const int32_t> tokens, int64_t max_blocks);

    // Caches block b of `tokens` (which must hold it in full) unless it is already cached.
    bool contains(std::span<const int32_t> tokens, int64_t block) const;
    void insert(std::span<const int32_t> tokens, int64_t block, KvSnapshot snapshot);

    PrefixStoreStats stats() const {
        std::lock_guard lock(mutex_);
        return stats_;
    }

private:
    struct Entry {
        uint64_t key = 0, parent = 0;
        std::vector<int32_t> tokens;
        std::shared_ptr<const KvSnapshot> hot;  // null when cold
        std::vector<uint8_t> cold;              // zlib of the serialized snapshot when cold
        uint64_t cold_raw_bytes = 0;
        int cold_planes = 1;
        KvLayout layout;                        // for parsing the cold form back
    };
    using Lru = std::list<Entry>;  // front = most recently used

    bool contains_locked(std::span<const int32_t> tokens, int64_t block) const;
    Lru::iterator find(std::span<const int32_t> tokens, int64_t block, uint64_t key, uint64_t parent) const;
    void touch(Lru::iterator it);
    void make_hot(Entry& e);
    void enforce_budget();

    int64_t block_tokens_;
    uint64_t budget_;
    mutable Lru lru_;
    std::unordered_map<uint64_t, Lru::iterator> index_;
    PrefixStoreStats stats_;
    mutable std::mutex mutex_;
};

}  // namespace silica::cache
