// A buddy allocator over one large anonymous memory region, for big long-lived buffers (repacked
// weights, KV cache blocks, scratch arenas) that should sit on huge pages and, on a NUMA machine,
// on a chosen node.
//
// Blocks are min_block × 2^order bytes, aligned to their own size inside a region that is itself
// 2 MiB aligned, so every block is at least 64-byte aligned. allocate() takes the smallest free
// block that fits, splitting larger ones; free() merges a block with its free "buddy" (the other
// half of the block they were split from) as far as it can. Both are O(log(capacity/min_block)).
// Bookkeeping lives outside the region (12 bytes per min_block unit: a state byte and two list links), so
// free memory is never touched.
//
// Not thread-safe unless Options::thread_safe is set (then one mutex guards every call).
#pragma once
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace silica {

class BuddyPool {
public:
    struct Options {
        size_t min_block = 4096;   // a power of two >= 64: the smallest block and the bookkeeping unit
        bool huge_pages = true;    // madvise(MADV_HUGEPAGE) on the region (transparent huge pages)
        bool hugetlb = false;      // first try MAP_HUGETLB (reserved 2 MiB pages); silently falls back
        bool thread_safe = false;  // guard every call with a mutex
        int numa_node = -1;        // >= 0: prefer this NUMA node for the region's pages (mbind)
    };

    struct Stats {
        size_t capacity = 0;
        size_t in_use = 0;              // bytes in allocated blocks (rounded up to block sizes)
        size_t free = 0;                // capacity - in_use
        size_t largest_free_block = 0;  // the biggest allocation that would succeed right now
        double fragmentation = 0.0;     // 1 - largest_free_block / free (0 when nothing is free)
        size_t live_allocations = 0;
        uint64_t total_allocations = 0;  // successful allocate() calls since construction
    };

    // capacity is rounded up to a multiple of min_block. Throws silica::OutOfMemory when the
    // region cannot be mapped, silica::Error on bad options.
    BuddyPool(size_t capacity, Options options);
    explicit BuddyPool(size_t capacity) : BuddyPool(capacity, Options{}) {}
    ~BuddyPool();
    BuddyPool(const BuddyPool&) = delete;
    BuddyPool& operator=(const BuddyPool&) = delete;

    // A block of at least `bytes` bytes (0 counts as 1), or nullptr when no free block is big enough.
    void* allocate(size_t bytes);
    // Same, but throws silica::OutOfMemory naming the sizes.
    void* allocate_or_throw(size_t bytes);
    // Gives a block back. nullptr is ignored; a pointer that is not the start of a live block of this
    // pool (foreign, interior or already freed) throws silica::Error and changes nothing.
    void free(void* ptr);

    // Gives the physical pages of every free block back to the operating system (they read as zero
    // when allocated again) and returns how many bytes that covered. Resident memory then counts
    // only what is allocated.
    size_t release_free_memory();

    // The size of the live block starting at ptr (throws silica::Error like free()).
    size_t block_size(const void* ptr) const;
    bool contains(const void* ptr) const;
    Stats stats() const;
    size_t capacity() const { return capacity_; }
    size_t min_block() const { return min_block_; }
    uint8_t* base() const { return base_; }
    bool uses_hugetlb() const { return hugetlb_; }

private:
    static constexpr uint32_t kNone = UINT32_MAX;  // "no unit" in the list links
    // state_[unit]: kNotStart, or the order of the block starting there with kFree / kAllocated.
    static constexpr uint8_t kNotStart = 0;
    static constexpr uint8_t kFree = 0x40;
    static constexpr uint8_t kAllocated = 0x80;
    static constexpr uint8_t kOrderMask = 0x3F;

    void map_region(const Options& options);
    void push_free(uint32_t unit, int order);
    void remove_free(uint32_t unit, int order);
    uint32_t unit_of_live_block(const void* ptr, const char* what) const;  // throws on a bad pointer
    int largest_free_order() const;
    void* allocate_locked(size_t bytes);

    size_t capacity_ = 0;
    size_t min_block_ = 0;
    int min_shift_ = 0;
    uint32_t n_units_ = 0;
    int max_order_ = 0;
    uint8_t* base_ = nullptr;
    size_t mapped_bytes_ = 0;
    bool hugetlb_ = false;
    bool thread_safe_ = false;

    // Per min_block unit, kept together so that one split or merge step touches one cache line.
    struct Unit {
        uint32_t next = kNone;  // doubly linked free list of the block starting here
        uint32_t prev = kNone;
        uint8_t state = kNotStart;
    };
    std::vector<Unit> units_;
    std::vector<uint32_t> free_head_;    // per order
    std::vector<size_t> free_count_;     // blocks per order
    size_t in_use_ = 0;
    size_t live_ = 0;
    uint64_t total_allocations_ = 0;
    mutable std::mutex mutex_;
};

}  // namespace silica
