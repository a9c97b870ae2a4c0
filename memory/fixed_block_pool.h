// Equal-sized blocks carved out of a BuddyPool: the KV cache's pages. The buddy allocator rounds
// every request up to a power of two, which would waste up to half of a block whose size is not
// one (a Q8_0 KV block of GPT-OSS is 34 KiB). So this pool takes "slabs" of about 1 MiB (a power of
// two, no rounding loss) from the buddy pool and hands out blocks from them through a free list.
// Freed blocks go back on the list. Slabs go back to the buddy pool through compact(), which the
// owner calls when many blocks have been freed (the KV cache after a truncate or reset): it moves
// the live blocks of the emptiest slabs into free blocks of the fullest ones and returns the
// slabs left empty. Not thread-safe: the KV cache allocates from one thread.
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "memory/buddy_pool.h"

namespace silica {

class FixedBlockPool {
public:
    // block_bytes is rounded up to a multiple of 64 (cache-line aligned blocks).
    FixedBlockPool(BuddyPool& backing, size_t block_bytes);
    ~FixedBlockPool();
    FixedBlockPool(const FixedBlockPool&) = delete;
    FixedBlockPool& operator=(const FixedBlockPool&) = delete;

    // A block of block_bytes(), or nullptr when the backing pool has no room for another slab.
    uint8_t* allocate();
    // Gives a block of this pool back (nullptr is ignored).
    void free(uint8_t* block);

    size_t block_bytes() const { return block_bytes_; }
    size_t blocks_per_slab() const { return blocks_per_slab_; }
    size_t slab_bytes() const { return slab_bytes_; }
    size_t live_blocks() const { return live_; }
    size_t slabs() const { return slabs_.size(); }
    // True when the next allocate() takes a new slab from the backing pool.
    bool needs_slab() const { return free_.empty(); }
    // Fewest slabs that could hold the live blocks.
    size_t slabs_needed() const { return (live_ + blocks_per_slab_ - 1) / blocks_per_slab_; }

    // Packs the live blocks into slabs_needed() slabs (keeping the fullest slabs, copying the
    // others' live blocks into their free blocks) and gives the other slabs back to the backing
    // pool. `owners` must hold a pointer to every live block of this pool, each once, and may hold
    // other pointers (null, or another pool's blocks), which are left alone; moved blocks' entries
    // are updated. Throws silica::Error (changing nothing) when owners does not cover every live
    // block. Returns the bytes given back.
    size_t compact(std::span<uint8_t*> owners);

    // Backing bytes `n_blocks` blocks of `block_bytes` can take, rounded up to whole slabs (what a
    // BuddyPool must hold for them).
    static size_t backing_bytes(size_t block_bytes, size_t n_blocks);

private:
    // Index in slabs_ (sorted by address) of the slab holding `block`, or slabs_.size() when none does.
    size_t slab_of(const uint8_t* block) const;

    BuddyPool& backing_;
    size_t block_bytes_ = 0;
    size_t blocks_per_slab_ = 0;
    size_t slab_bytes_ = 0;
    std::vector<uint8_t*> slabs_;
    std::vector<uint8_t*> free_;  // blocks ready to hand out
    size_t live_ = 0;
};

}  // namespace silica
