#include "memory/fixed_block_pool.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <numeric>

#include "silica/error.h"

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

size_t FixedBlockPool::slab_of(const uint8_t* block) const {
    // slabs_ is sorted by address here (compact() sorts it first).
    const auto after = std::upper_bound(slabs_.begin(), slabs_.end(), block, std::less<>());
    if (after == slabs_.begin()) return slabs_.size();
    const size_t i = static_cast<size_t>(after - slabs_.begin()) - 1;
    return block < slabs_[i] + blocks_per_slab_ * block_bytes_ ? i : slabs_.size();
}

size_t FixedBlockPool::compact(std::span<uint8_t*> owners) {
    std::sort(slabs_.begin(), slabs_.end(), std::less<>());
    // Which owner entries are ours, and how full each slab is.
    std::vector<size_t> slab_of_owner(owners.size());
    std::vector<size_t> live_in(slabs_.size(), 0);
    size_t found = 0;
    for (size_t i = 0; i < owners.size(); ++i) {
        slab_of_owner[i] = owners[i] ? slab_of(owners[i]) : slabs_.size();
        if (slab_of_owner[i] < slabs_.size()) {
            ++live_in[slab_of_owner[i]];
            ++found;
        }
    }
    if (found != live_)
        throw Error("block pool: compact was given " + std::to_string(found) + " of its " + std::to_string(live_) +
                    " live blocks");
    // Keep the fullest slabs_needed() slabs.
    std::vector<size_t> order(slabs_.size());
    std::iota(order.begin(), order.end(), size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return live_in[a] > live_in[b]; });
    std::vector<bool> keep(slabs_.size(), false);
    for (size_t i = 0; i < slabs_needed(); ++i) keep[order[i]] = true;

    // Free blocks of the kept slabs receive the moved blocks; what remains is the new free list.
    std::vector<uint8_t*> targets;
    for (uint8_t* block : free_)
        if (keep[slab_of(block)]) targets.push_back(block);
    for (size_t i = 0; i < owners.size(); ++i) {
        if (slab_of_owner[i] >= slabs_.size() || keep[slab_of_owner[i]]) continue;
        uint8_t* to = targets.back();
        targets.pop_back();
        std::memcpy(to, owners[i], block_bytes_);
        owners[i] = to;
    }
    size_t released = 0;
    std::vector<uint8_t*> kept;
    for (size_t i = 0; i < slabs_.size(); ++i) {
        if (keep[i]) {
            kept.push_back(slabs_[i]);
        } else {
            backing_.free(slabs_[i]);
            released += slab_bytes_;
        }
    }
    slabs_ = std::move(kept);
    // Highest addresses first on the list, so blocks are handed out in address order.
    std::sort(targets.begin(), targets.end(), std::greater<>());
    free_ = std::move(targets);
    return released;
}

}  // namespace silica
