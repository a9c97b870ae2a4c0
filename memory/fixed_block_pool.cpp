#include "memory/fixed_block_pool.h"

#include <algorithm>
#include <bit>

namespace silica {

namespace {

constexpr size_t kTargetSlabBytes = size_t{1} << 20;

size_t round_block(size_t bytes) { return (std::max<size_t>(bytes, 1) + 63) / 64 * 64; }

// Slabs are a power of two (the buddy pool's own size classes) holding at least 8 blocks, so the
// unused tail of a slab is under 1/8 of it.
size_t slab_bytes_for(size_t block_bytes) {
    return std::max(kTargetSlabBytes, std::bit_ceil(8 * block_bytes));
}

}  // namespace

size_t FixedBlockPool::backing_bytes(size_t block_bytes, size_t n_blocks) {
    const size_t block = round_block(block_bytes);
    const size_t slab = slab_bytes_for(block);
    const size_t per_slab = slab / block;
    return (n_blocks + per_slab - 1) / per_slab * slab;
}

FixedBlockPool::FixedBlockPool(BuddyPool& backing, size_t block_bytes)
    : backing_(backing),
      block_bytes_(round_block(block_bytes)),
      blocks_per_slab_(slab_bytes_for(block_bytes_) / block_bytes_),
      slab_bytes_(slab_bytes_for(block_bytes_)) {}

FixedBlockPool::~FixedBlockPool() {
    for (uint8_t* slab : slabs_) backing_.free(slab);
}

uint8_t* FixedBlockPool::allocate() {
    if (free_.empty()) {
        auto* slab = static_cast<uint8_t*>(backing_.allocate(slab_bytes_));
        if (!slab) return nullptr;
        slabs_.push_back(slab);
        // Pushed in reverse so blocks are handed out in address order.
        for (size_t i = blocks_per_slab_; i-- > 0;) free_.push_back(slab + i * block_bytes_);
    }
    uint8_t* block = free_.back();
    free_.pop_back();
    ++live_;
    return block;
}

void FixedBlockPool::free(uint8_t* block) {
    if (!block) return;
    free_.push_back(block);
    --live_;
}

}  // namespace silica
