// The KV blocks of one or many sequences: one reserved address range (a BuddyPool), a pool of hot
// blocks and one of warm (q8_0) blocks carved from it, and an owner count per block. An engine
// gives all its sequences' caches one pool, so a block can belong to several caches at once (a
// forked sequence, a shared prompt prefix) and is copied only when one of them writes to it
// (copy-on-write, see KvCache::prepare). A Session's cache has a pool of its own.
//
// On a NUMA machine the pool has one home per node (its own address range, bound to that node, with
// its own hot and warm slabs): a sequence's cache takes its blocks from its home, the node whose
// threads attend to it (attend_batch), so attention reads local memory. The capacity is shared.
//
// Not thread-safe: blocks are allocated, shared and released from the thread that drives the
// caches (never from the workers of a forward pass).
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <unordered_map>
#include <vector>

#include "memory/buddy_pool.h"
#include "memory/fixed_block_pool.h"

namespace silica::cache {

enum class KvTier { Hot, Warm };

class KvBlockPool {
public:
    // hot_block_bytes / warm_block_bytes: one block of each tier (warm 0: no warm tier).
    // capacity_bytes: the most the blocks' slabs may take (address space reserved up front; pages
    // are committed only as slabs are handed out).
    // numa_nodes: one home per entry, bound to that kernel NUMA node number (mbind, preferred); empty:
    // one home, unbound. A node the system refuses to bind to gets an unbound home (first touch).
    KvBlockPool(size_t hot_block_bytes, size_t warm_block_bytes, size_t capacity_bytes,
                const std::vector<int>& numa_nodes = {});
    ~KvBlockPool();
    KvBlockPool(const KvBlockPool&) = delete;
    KvBlockPool& operator=(const KvBlockPool&) = delete;

    bool has_warm_tier() const { return warm_block_bytes_ > 0; }
    int n_homes() const { return static_cast<int>(homes_.size()); }
    // The kernel node a home's memory is bound to, or -1 (unbound).
    int home_node(int home) const { return homes_.at(static_cast<size_t>(home)).numa_node; }
    // The home whose range holds `block` (-1: not this pool's).
    int home_of(const uint8_t* block) const;
    size_t block_bytes(KvTier tier) const;

    // A new block with one owner from home `home` (0 .. n_homes() - 1), or nullptr when the pool is full.
    uint8_t* allocate(KvTier tier, int home = 0);
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
    // (FixedBlockPool::compact). Only when no block is shared, the pool has one home and `owners`
    // lists every live block once (one cache uses the pool); otherwise does nothing and returns 0.
    uint64_t compact(std::span<uint8_t*> owners);
    // Slabs that could go: compaction is worth it when at least 1/divisor of a tier's slabs could.
    bool sparse(size_t divisor) const;

    // The caches attached to this pool (KvCache counts itself in and out).
    int attached_caches() const { return attached_; }
    void attach() { ++attached_; }
    void detach() { --attached_; }

private:
    struct Home {
        std::unique_ptr<BuddyPool> backing;
        std::unique_ptr<FixedBlockPool> hot, warm;
        int numa_node = -1;
        FixedBlockPool& tier(KvTier t) const { return t == KvTier::Warm ? *warm : *hot; }
    };
    FixedBlockPool& tier_pool(const uint8_t* block, KvTier tier) const;

    std::vector<Home> homes_;
    size_t warm_block_bytes_ = 0;
    // Owners beyond the first, for blocks that have them (most blocks have one owner: no entry).
    std::unordered_map<const uint8_t*, uint32_t> extra_owners_;
    int attached_ = 0;
    uint64_t capacity_bytes_ = 0;
};

}  // namespace silica::cache
