#include "cache/kv_block_pool.h"

#include <algorithm>

#include "silica/error.h"

namespace silica::cache {

KvBlockPool::KvBlockPool(size_t hot_block_bytes, size_t warm_block_bytes, size_t capacity_bytes)
    : capacity_bytes_(capacity_bytes) {
    BuddyPool::Options options;
    options.min_block = size_t{1} << 20;  // slabs are >= 1 MiB; coarse units keep the bookkeeping small
    // A few spare units: the buddy allocator's own rounding must never make the last slab fail.
    backing_ = std::make_unique<BuddyPool>(std::max<size_t>(capacity_bytes, 1) + 4 * options.min_block, options);
    hot_ = std::make_unique<FixedBlockPool>(*backing_, hot_block_bytes);
    if (warm_block_bytes > 0) warm_ = std::make_unique<FixedBlockPool>(*backing_, warm_block_bytes);
}

KvBlockPool::~KvBlockPool() = default;

size_t KvBlockPool::block_bytes(KvTier tier) const { return tier_pool(tier).block_bytes(); }

uint8_t* KvBlockPool::allocate(KvTier tier) {
    FixedBlockPool& pool = tier_pool(tier);
    if (pool.needs_slab() && committed_bytes() + pool.slab_bytes() > capacity_bytes_) return nullptr;
    return pool.allocate();
}

void KvBlockPool::retain(const uint8_t* block) { ++extra_owners_[block]; }

void KvBlockPool::release(uint8_t* block, KvTier tier) {
    if (!block) return;
    if (auto it = extra_owners_.find(block); it != extra_owners_.end()) {
        if (--it->second == 0) extra_owners_.erase(it);
        return;
    }
    tier_pool(tier).free(block);
}

uint32_t KvBlockPool::owners(const uint8_t* block) const {
    const auto it = extra_owners_.find(block);
    return 1 + (it == extra_owners_.end() ? 0 : it->second);
}

size_t KvBlockPool::live_blocks(KvTier tier) const {
    return tier == KvTier::Warm && !warm_ ? 0 : tier_pool(tier).live_blocks();
}

uint64_t KvBlockPool::committed_bytes() const {
    uint64_t bytes = static_cast<uint64_t>(hot_->slabs()) * hot_->slab_bytes();
    if (warm_) bytes += static_cast<uint64_t>(warm_->slabs()) * warm_->slab_bytes();
    return bytes;
}

uint64_t KvBlockPool::compact(std::span<uint8_t*> owners) {
    if (!extra_owners_.empty() || attached_ > 1) return 0;
    uint64_t released = hot_->compact(owners);
    if (warm_) released += warm_->compact(owners);
    backing_->release_free_memory();
    return released;
}

bool KvBlockPool::sparse(size_t divisor) const {
    auto sparse = [divisor](const FixedBlockPool* p) {
        if (!p) return false;
        const size_t spare = p->slabs() - p->slabs_needed();
        return spare > 0 && spare * divisor >= p->slabs();
    };
    return sparse(hot_.get()) || sparse(warm_.get());
}

}  // namespace silica::cache
