#include "memory/buddy_pool.h"

#include <linux/mempolicy.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "silica/error.h"

namespace silica {
namespace {

constexpr size_t kHugePage = size_t{2} << 20;

size_t round_up(size_t n, size_t multiple) { return (n + multiple - 1) / multiple * multiple; }

std::string mib(size_t bytes) {
    char text[64];
    std::snprintf(text, sizeof text, "%.1f MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
    return text;
}

// Takes the pool's lock only when the pool was built thread-safe.
class MaybeLock {
public:
    MaybeLock(std::mutex& m, bool enabled) : mutex_(enabled ? &m : nullptr) {
        if (mutex_) mutex_->lock();
    }
    ~MaybeLock() {
        if (mutex_) mutex_->unlock();
    }
    MaybeLock(const MaybeLock&) = delete;
    MaybeLock& operator=(const MaybeLock&) = delete;

private:
    std::mutex* mutex_;
};

}  // namespace

BuddyPool::BuddyPool(size_t capacity, Options options) {
    if (options.min_block < 64 || !std::has_single_bit(options.min_block))
        throw Error("buddy pool: the minimum block must be a power of two of at least 64 bytes (got " +
                    std::to_string(options.min_block) + ")");
    if (capacity == 0) throw Error("buddy pool: capacity must be more than 0 bytes");
    min_block_ = options.min_block;
    min_shift_ = std::countr_zero(min_block_);
    if (capacity > SIZE_MAX - kHugePage * 2) throw Error("buddy pool: capacity is too large");
    capacity_ = round_up(capacity, min_block_);
    const size_t units = capacity_ >> min_shift_;
    if (units >= kNone) throw Error("buddy pool: too many blocks; use a larger minimum block");
    n_units_ = static_cast<uint32_t>(units);
    max_order_ = std::bit_width(units) - 1;
    thread_safe_ = options.thread_safe;

    map_region(options);

    units_.assign(n_units_, Unit{});
    free_head_.assign(static_cast<size_t>(max_order_) + 1, kNone);
    free_count_.assign(static_cast<size_t>(max_order_) + 1, 0);
    // Cover the region with the largest aligned power-of-two blocks that fit, so a capacity that is
    // not a power of two still works (its last blocks simply have no buddy).
    for (uint32_t unit = 0; unit < n_units_;) {
        int order = std::min(unit == 0 ? max_order_ : std::countr_zero(unit), max_order_);
        while (static_cast<uint64_t>(unit) + (uint64_t{1} << order) > n_units_) --order;
        push_free(unit, order);
        unit += uint32_t{1} << order;
    }
}

BuddyPool::~BuddyPool() {
    if (base_) munmap(base_, mapped_bytes_);
}

void BuddyPool::map_region(const Options& options) {
    const size_t bytes = round_up(capacity_, kHugePage);
    if (options.hugetlb) {
        void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
        if (p != MAP_FAILED) {  // otherwise: no reserved huge pages; use ordinary pages below
            base_ = static_cast<uint8_t*>(p);
            mapped_bytes_ = bytes;
            hugetlb_ = true;
        }
    }
    if (!base_) {
        // Map 2 MiB more than needed and trim, so the region starts on a huge-page boundary.
        const size_t span = bytes + kHugePage;
        void* p = mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p == MAP_FAILED)
            throw OutOfMemory("buddy pool: cannot map " + mib(capacity_) + ": " + std::strerror(errno));
        const uintptr_t start = reinterpret_cast<uintptr_t>(p);
        const uintptr_t aligned = round_up(start, kHugePage);
        if (aligned > start) munmap(p, aligned - start);
        const uintptr_t end = start + span, used_end = aligned + bytes;
        if (end > used_end) munmap(reinterpret_cast<void*>(used_end), end - used_end);
        base_ = reinterpret_cast<uint8_t*>(aligned);
        mapped_bytes_ = bytes;
        if (options.huge_pages) madvise(base_, bytes, MADV_HUGEPAGE);  // a hint: failure is harmless
    }
    if (options.numa_node >= 0) {
        constexpr int kMaxNodes = 1024;
        if (options.numa_node >= kMaxNodes) throw Error("buddy pool: NUMA node " + std::to_string(options.numa_node) + " is out of range");
        unsigned long mask[kMaxNodes / (8 * sizeof(unsigned long))] = {};
        const size_t bits = 8 * sizeof(unsigned long);
        mask[static_cast<size_t>(options.numa_node) / bits] = 1ul << (static_cast<size_t>(options.numa_node) % bits);
        // Preferred, not bound: if the node runs out, pages come from elsewhere instead of failing.
        if (syscall(SYS_mbind, base_, mapped_bytes_, MPOL_PREFERRED, mask, kMaxNodes + 1, 0) != 0) {
            const int err = errno;
            munmap(base_, mapped_bytes_);
            base_ = nullptr;
            throw Error("buddy pool: cannot place memory on NUMA node " + std::to_string(options.numa_node) + ": " +
                        std::strerror(err));
        }
    }
}

void BuddyPool::push_free(uint32_t unit, int order) {
    const size_t o = static_cast<size_t>(order);
    units_[unit].state = static_cast<uint8_t>(kFree | order);
    units_[unit].prev = kNone;
    units_[unit].next = free_head_[o];
    if (free_head_[o] != kNone) units_[free_head_[o]].prev = unit;
    free_head_[o] = unit;
    ++free_count_[o];
}

void BuddyPool::remove_free(uint32_t unit, int order) {
    const size_t o = static_cast<size_t>(order);
    if (units_[unit].prev != kNone)
        units_[units_[unit].prev].next = units_[unit].next;
    else
        free_head_[o] = units_[unit].next;
    if (units_[unit].next != kNone) units_[units_[unit].next].prev = units_[unit].prev;
    units_[unit].state = kNotStart;
    --free_count_[o];
}

void* BuddyPool::allocate_locked(size_t bytes) {
    if (bytes == 0) bytes = 1;
    if (bytes > capacity_) return nullptr;
    const size_t units = (bytes + min_block_ - 1) >> min_shift_;
    const int order = std::bit_width(units - 1);  // smallest order with 2^order >= units
    if (order > max_order_) return nullptr;
    int k = order;
    while (k <= max_order_ && free_head_[static_cast<size_t>(k)] == kNone) ++k;
    if (k > max_order_) return nullptr;
    const uint32_t unit = free_head_[static_cast<size_t>(k)];
    remove_free(unit, k);
    while (k > order) {  // split, keeping the lower half, freeing the upper
        --k;
        push_free(unit + (uint32_t{1} << k), k);
    }
    units_[unit].state = static_cast<uint8_t>(kAllocated | order);
    in_use_ += min_block_ << order;
    ++live_;
    ++total_allocations_;
    return base_ + (static_cast<size_t>(unit) << min_shift_);
}

void* BuddyPool::allocate(size_t bytes) {
    MaybeLock lock(mutex_, thread_safe_);
    return allocate_locked(bytes);
}

void* BuddyPool::allocate_or_throw(size_t bytes) {
    MaybeLock lock(mutex_, thread_safe_);
    if (void* p = allocate_locked(bytes)) return p;
    const int largest = largest_free_order();
    throw OutOfMemory("buddy pool: cannot allocate " + std::to_string(bytes) + " bytes (" + mib(bytes) + "): " +
                      mib(capacity_ - in_use_) + " free of " + mib(capacity_) + ", largest free block " +
                      mib(largest < 0 ? 0 : min_block_ << largest));
}

uint32_t BuddyPool::unit_of_live_block(const void* ptr, const char* what) const {
    const uint8_t* p = static_cast<const uint8_t*>(ptr);
    if (!contains(p)) throw Error(std::string("buddy pool: ") + what + " of a pointer that is not in this pool");
    const size_t offset = static_cast<size_t>(p - base_);
    const uint32_t unit = static_cast<uint32_t>(offset >> min_shift_);
    if ((offset & (min_block_ - 1)) != 0 || !(units_[unit].state & kAllocated))
        throw Error(std::string("buddy pool: ") + what + " of a pointer that is not a live block (freed twice, or inside a block)");
    return unit;
}

void BuddyPool::free(void* ptr) {
    if (!ptr) return;
    MaybeLock lock(mutex_, thread_safe_);
    uint32_t unit = unit_of_live_block(ptr, "free");
    int order = units_[unit].state & kOrderMask;
    units_[unit].state = kNotStart;
    in_use_ -= min_block_ << order;
    --live_;
    // Merge with the buddy while it is free and whole (same order).
    while (order < max_order_) {
        const uint32_t buddy = unit ^ (uint32_t{1} << order);
        if (static_cast<uint64_t>(buddy) + (uint64_t{1} << order) > n_units_) break;
        if (units_[buddy].state != (kFree | order)) break;
        remove_free(buddy, order);
        unit = std::min(unit, buddy);
        ++order;
    }
    push_free(unit, order);
}

size_t BuddyPool::release_free_memory() {
    MaybeLock lock(mutex_, thread_safe_);
    const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    size_t released = 0;
    for (int order = 0; order <= max_order_; ++order) {
        const size_t bytes = min_block_ << order;
        if (bytes < page) continue;  // blocks are aligned to their size: big ones cover whole pages
        for (uint32_t unit = free_head_[static_cast<size_t>(order)]; unit != kNone; unit = units_[unit].next) {
            if (madvise(base_ + (static_cast<size_t>(unit) << min_shift_), bytes, MADV_DONTNEED) == 0)
                released += bytes;
        }
    }
    return released;
}

size_t BuddyPool::block_size(const void* ptr) const {
    MaybeLock lock(mutex_, thread_safe_);
    const uint32_t unit = unit_of_live_block(ptr, "block_size");
    return min_block_ << (units_[unit].state & kOrderMask);
}

bool BuddyPool::contains(const void* ptr) const {
    const uint8_t* p = static_cast<const uint8_t*>(ptr);
    return base_ && p >= base_ && p < base_ + capacity_;
}

int BuddyPool::largest_free_order() const {
    for (int k = max_order_; k >= 0; --k)
        if (free_count_[static_cast<size_t>(k)] > 0) return k;
    return -1;
}

BuddyPool::Stats BuddyPool::stats() const {
    MaybeLock lock(mutex_, thread_safe_);
    Stats s;
    s.capacity = capacity_;
    s.in_use = in_use_;
    s.free = capacity_ - in_use_;
    const int largest = largest_free_order();
    s.largest_free_block = largest < 0 ? 0 : min_block_ << largest;
    s.fragmentation = s.free == 0 ? 0.0 : 1.0 - static_cast<double>(s.largest_free_block) / static_cast<double>(s.free);
    s.live_allocations = live_;
    s.total_allocations = total_allocations_;
    return s;
}

}  // namespace silica
