#include "cache/kv_block_pool.h"

#include <algorithm>

#include "silica/error.h"

namespace silica::cache {

KvBlockPool::KvBlockPool(size_t hot_block_bytes, size_t warm_block_bytes, size_t capacity_bytes,
                         const std::vector<int>& numa_nodes)
    : warm_block_bytes_(warm_block_bytes), capacity_bytes_(capacity_bytes) {
    BuddyPool::Options options;
    options.min_block = size_t{1} << 20;  // slabs are >= 1 MiB; coarse units keep the bookkeeping small
    // Each home reserves the whole capacity as address space (pages are committed only as slabs
    // are handed out), so one home can take it all. A few spare units: the buddy allocator's own
    // rounding must never make the last slab fail.
    const size_t reserve = std::max<size_t>(capacity_bytes, 1) + 4 * options.min_block;
    const std::vector<int> nodes = numa_nodes.empty() ? std::vector<int>{-1} : numa_nodes;
    for (int node : nodes) {
        Home home;
        options.numa_node = node;
        try {
            home.backing = std::make_unique<BuddyPool>(reserve, options);
            home.numa_node = node;
        } catch (const OutOfMemory&) {
            throw;
        } catch (const Error&) {  // the system refused the binding: the pages go to first touch
            options.numa_node = -1;
            home.backing = std::make_unique<BuddyPool>(reserve, options);
        }
        home.hot = std::make_unique<FixedBlockPool>(*home.backing, hot_block_bytes);
        if (warm_block_bytes > 0) home.warm = std::make_unique<FixedBlockPool>(*home.backing, warm_block_bytes);
        homes_.push_back(std::move(home));
    }
}

KvBlockPool::~KvBlockPool() = default;

size_t KvBlockPool::block_bytes(KvTier tier) const { return homes_[0].tier(tier).block_bytes(); }

int KvBlockPool::home_of(const uint8_t* block) const {
    for (size_t h = 0; h < homes_.size(); ++h)
        if (homes_[h].backing->contains(block)) return static_cast<int>(h);
    return -1;
}

FixedBlockPool& KvBlockPool::tier_pool(const uint8_t* block, KvTier tier) const {
    const int h = homes_.size() == 1 ? 0 : home_of(block);
    if (h < 0) throw Error("KV block pool: a block that is not this pool's was given back");
    return homes_[static_cast<size_t>(h)].tier(tier);
}

uint8_t* KvBlockPool::allocate(KvTier tier, int home) {
    if (home < 0 || home >= n_homes()) throw Error("KV block pool: no home " + std::to_string(home));
    FixedBlockPool& pool = homes_[static_cast<size_t>(home)].tier(tier);
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
    tier_pool(block, tier).free(block);
}

uint32_t KvBlockPool::owners(const uint8_t* block) const {
    const auto it = extra_owners_.find(block);
    return 1 + (it == extra_owners_.end() ? 0 : it->second);
}

size_t KvBlockPool::live_blocks(KvTier tier) const {
    if (tier == KvTier::Warm && !has_warm_tier()) return 0;
    size_t n = 0;
    for (const Home& h : homes_) n += h.tier(tier).live_blocks();
    return n;
}

uint64_t KvBlockPool::committed_bytes() const {
    uint64_t bytes = 0;
    for (const Home& h : homes_) {
        bytes += static_cast<uint64_t>(h.hot->slabs()) * h.hot->slab_bytes();
        if (h.warm) bytes += static_cast<uint64_t>(h.warm->slabs()) * h.warm->slab_bytes();
    }
    return bytes;
}

uint64_t KvBlockPool::compact(std::span<uint8_t*> owners) {
    if (!extra_owners_.empty() || attached_ > 1 || homes_.size() != 1) return 0;
    Home& h = homes_[0];
    uint64_t released = h.hot->compact(owners);
    if (h.warm) released += h.warm->compact(owners);
    h.backing->release_free_memory();
    return released;
}

bool KvBlockPool::sparse(size_t divisor) const {
    auto sparse = [divisor](const FixedBlockPool* p) {
        if (!p) return false;
        const size_t spare = p->slabs() - p->slabs_needed();
        return spare > 0 && spare * divisor >= p->slabs();
    };
    for (const Home& h : homes_)
        if (sparse(h.hot.get()) || sparse(h.warm.get())) return true;
    return false;
}

}  // namespace silica::cache
