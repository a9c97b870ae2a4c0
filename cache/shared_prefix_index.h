// The engine's prefix cache: full blocks of earlier sequences' KV, held by reference (one more
// owner in the shared KvBlockPool) rather than copied, keyed by the prefix hash chain of
// cache/prefix_keys.h. A new sequence adopts the longest cached run of its prompt's leading blocks
// and evaluates only the rest; the blocks stay shared until a holder writes to one (copy-on-write,
// KvCache::prepare). Entries past max_blocks are dropped, least recently used first.
//
// (Sessions use cache/prefix_store.h instead: snapshots by copy, with a zlib cold tier, shareable
// across sessions that each have their own block pool.)
#pragma once
#include <cstdint>
#include <list>
#include <memory>
#include <span>
#include <unordered_map>
#include <vector>

#include "cache/kv_cache.h"

namespace silica::cache {

class SharedPrefixIndex {
public:
    // max_blocks: token blocks (kKvBlockTokens each) to keep; every one holds a block per layer.
    SharedPrefixIndex(std::shared_ptr<KvBlockPool> pool, int64_t max_blocks);
    ~SharedPrefixIndex();
    SharedPrefixIndex(const SharedPrefixIndex&) = delete;
    SharedPrefixIndex& operator=(const SharedPrefixIndex&) = delete;

    // Offers blocks first_block.. of a cache whose n_tokens positions hold `tokens`: every full
    // block not yet cached whose rows every layer still holds. Returns the blocks now offered
    // (the caller starts there next time).
    int64_t offer(const KvCache& kv, std::span<const int32_t> tokens, int64_t first_block);
    // An empty cache adopts the longest cached run of the leading full blocks of `tokens`, at most
    // max_blocks. Returns the tokens adopted (a multiple of kKvBlockTokens).
    int64_t adopt(KvCache& kv, std::span<const int32_t> tokens, int64_t max_blocks);
    // Lets go of every block (the pool is full: the live sequences come first).
    void clear();
    int64_t blocks() const { return static_cast<int64_t>(lru_.size()); }
    // Pool blocks (one per layer per token block) that only this index holds: with no sequence
    // alive, every live block of the pool should be one of these.
    int64_t blocks_held_alone() const;

private:
    struct Entry {
        uint64_t key = 0, parent = 0;
        std::vector<int32_t> tokens;            // the block's, checked on lookup (a collision is a miss)
        std::vector<KvCache::BlockRef> blocks;  // one per layer
    };
    using Lru = std::list<Entry>;  // front = most recently used
    Lru::iterator find(std::span<const int32_t> tokens, int64_t block, uint64_t key, uint64_t parent);
    void drop(Lru::iterator it);
    void touch(std::span<const Lru::iterator> chain);  // a chain of blocks was used: most recent

    std::shared_ptr<KvBlockPool> pool_;
    int64_t max_blocks_;
    Lru lru_;
    std::unordered_map<uint64_t, Lru::iterator> index_;
};

}  // namespace silica::cache
