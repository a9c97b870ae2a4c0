// The KV blocks of one or many sequences: one reserved address range (a BuddyPool), a pool of hot
// blocks and one of warm (q8_0) blocks carved from it, and an owner count per block. An engine
// gives all its sequences' caches one pool, so a block can belong to several caches at once (a
// forked sequence, a shared prompt prefix) and is copied only when one of them writes to it
// (copy-on-write, see KvCache::prepare). A Session's cache has a pool of its own.
//
// Not thread-safe: blocks are allocated, shared and released from the thread that drives the
// caches (never from the workers of a forward pass).
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <unordered_map>

#include "memory/buddy_pool.h"
#include "memory/fixed_block_pool.h"

namespace silica::cache {

enum class KvTier { Hot, Warm };

class KvBlockPool {
public:
    // hot_block_bytes / warm_block_bytes: one block of each tier (warm 0: no warm tier).
    // capacity_bytes: the most the blocks' slabs may take (address space reserved up front; pages
    // are committed only as slabs are handed out).
    KvBlockPool(size_t hot_block_bytes, size_t warm_block_bytes, size_t capacity_bytes);
    ~KvBlockPool();
    KvBlockPool(const KvBlockPool&) = delete;
    KvBlockPool& operator=(const KvBlockPool&) = delete;

    bool has_warm_tier() const { return warm_ != nullptr; }
    size_t block_bytes(KvTier tier) const;

    // A new block with one owner, or nullptr when the pool is full.
    uint8_t* allocate(KvTier tier);
    // One more owner of a live block.
    void retain(const uint8_t* block);
    // One owner less; the block goes back to its tier's free list when none is left.
    void release(uint8_t* block, KvTier tier);
    // True when more than one owner holds the block (a writer must copy it first).
    bool shared(const uint8_t* block) const { return !extra_owners_.empty() && extra_owners_.count(block) > 0; }
    // Owners of a live block.
    uint32_t owners(const uint8_t* block) const;

    size_t live_blocks(KvTier tier) const;
    // Bytes of slabs taken from the reserved range (what RSS can see).
    uint64_t committed_bytes() const;
    uint64_t capacity_bytes() const { return capacity_bytes_; }
    // Blocks with more than one owner.
    size_t shared_blocks() const { return extra_owners_.size(); }

    // Packs the live blocks into as few slabs as they need and gives the rest back to the system
    // (FixedBlockPool::compact). Only when no block is shared and `owners` lists every live block
    // once (one cache uses the pool); otherwise does nothing and returns 0.
    uint64_t compact(std::span<uint8_t*> owners);
    // Slabs that could go: compaction is worth it when at least 1/divisor of a tier's slabs could.
    bool sparse(size_t divisor) const;

    // The caches attached to this pool (KvCache counts itself in and out).
    int attached_caches() const { return attached_; }
    void attach() { ++attached_; }
    void detach() { --attached_; }

private:
    FixedBlockPool& tier_pool(KvTier tier) const { return tier == KvTier::Warm ? *warm_ : *hot_; }

    std::unique_ptr<BuddyPool> backing_;
    std::unique_ptr<FixedBlockPool> hot_, warm_;
    // Owners beyond the first, for blocks that have them (most blocks have one owner: no entry).
    std::unordered_map<const uint8_t*, uint32_t> extra_owners_;
    int attached_ = 0;
    uint64_t capacity_bytes_ = 0;
};

}  // namespace silica::cache
