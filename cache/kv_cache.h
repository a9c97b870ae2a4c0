// The key/value cache of one sequence, paged: each layer's positions are grouped in blocks of
// kKvBlockTokens, each block holding the K rows and then the V rows of its positions in one
// storage type, head-major (head 0's rows of the 32 positions, then head 1's, ...). Blocks come from a
// KvBlockPool (cache/kv_block_pool.h) only when a position is first prepared, so a long context
// costs memory only as it fills. Caches of one engine share a pool: fork() makes a second cache
// holding the same blocks, and a block is copied when a cache that shares it is about to write
// to it (prepare()).
//
// A full-attention layer has a block table over the whole context. A sliding-window layer keeps a
// ring of just enough blocks for its window (+ ring_slack rows), reused as positions advance.
//
// Tiers: blocks start "hot" in the layout's storage type. With a warm tier (hot_tokens >= 0), a
// full-attention block whose positions are all older than the newest hot_tokens is converted to
// Q8_0 ("warm"), which the attention kernel reads in place. Warm blocks always form a prefix of
// a layer's blocks. (The cold tier, zlib, holds blocks outside a live cache: cache/prefix_store.h.)
#pragma once
#include <algorithm>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "cache/kv_block_pool.h"
#include "kernels/kv_rows.h"
#include "quant/types.h"

namespace silica::cache {

constexpr int64_t kKvBlockTokens = 32;
constexpr TensorType kKvWarmType = TensorType::Q8_0;

struct KvLayout {
    int64_t n_layer = 0;
    int64_t n_ctx = 0;
    int64_t n_head_kv = 0;
    int64_t head_dim = 0;
    std::vector<int64_t> window;  // per layer; 0 = full attention (keeps n_ctx rows)
    // Rows a window layer keeps beyond its window. With the forward's chunk size here, every row
    // of the latest evaluated chunk is still readable afterwards (prefix cache, session files).
    int64_t ring_slack = 0;
    TensorType storage = TensorType::F16;  // the hot tier: F32, F16, BF16 or Q8_0
    // The warm tier: full-attention blocks wholly older than the newest hot_tokens positions are
    // kept in Q8_0. < 0: no warm tier, every block stays in `storage`.
    int64_t hot_tokens = -1;
    // > 0: the whole context must fit in this many bytes of blocks. The cache picks the largest
    // hot_tokens that fits (none when everything fits hot) and throws silica::OutOfMemory when even
    // an all-warm cache would not. Overrides hot_tokens.
    uint64_t budget_bytes = 0;
};

// Bytes a layout's cache takes, by tier.
struct KvFootprint {
    uint64_t hot_per_token = 0;   // one position of every full-attention layer, hot type
    uint64_t warm_per_token = 0;  // same in the warm type
    uint64_t window_bytes = 0;    // all sliding-window rings, full (they are never tiered)
    // Whole context with `hot_tokens` positions hot (< 0: all hot), in whole blocks.
    uint64_t context_bytes(const KvLayout& layout, int64_t hot_tokens) const;
};
KvFootprint kv_footprint(const KvLayout& layout);

// Address space one cache of this layout can take at most: every block hot, plus every
// full-attention block warm (make_warm holds both for a moment).
uint64_t kv_reserve_bytes(const KvLayout& layout);
// A pool for caches of this layout (its storage type and head sizes), reserving capacity_bytes;
// numa_nodes as KvBlockPool's (one home per NUMA node).
std::shared_ptr<KvBlockPool> make_kv_block_pool(const KvLayout& layout, uint64_t capacity_bytes,
                                                const std::vector<int>& numa_nodes = {});

class KvCache {
public:
    // Blocks come from `pool` (made by make_kv_block_pool for the same storage type and heads),
    // or, when it is null, from a pool of the cache's own reserving kv_reserve_bytes(layout).
    // home: the pool's home (NUMA node) new blocks come from; a fork keeps its parent's.
    explicit KvCache(const KvLayout& layout, std::shared_ptr<KvBlockPool> pool = nullptr, int home = 0);
    ~KvCache();
    KvCache& operator=(const KvCache&) = delete;

    // The layout, with hot_tokens resolved from budget_bytes.
    const KvLayout& layout() const { return layout_; }
    int64_t row_dim() const { return layout_.n_head_kv * layout_.head_dim; }
    // Rows a layer is guaranteed to keep (its window + slack, or the whole context).
    int64_t capacity(int64_t layer) const { return capacity_[layer]; }
    // The constructor sets hot_tokens to -1 when the storage type rules out a warm tier.
    bool has_warm_tier() const { return layout_.hot_tokens >= 0; }

    // Call from one thread before storing positions first_pos .. last_pos (the workers' store()
    // calls then never allocate): allocates their blocks and, with a warm tier, moves the blocks
    // wholly older than the newest hot_tokens positions (as of last_pos) to q8_0; rows of this
    // range that fall there are stored in q8_0 directly. Throws silica::OutOfMemory when the pool
    // is exhausted.
    void prepare(int64_t first_pos, int64_t last_pos);
    // Moves a full-attention layer's blocks that lie wholly before `pos` to the warm tier (no-op
    // without one): restoring a snapshot whose rows there were warm keeps them warm.
    void make_warm_before(int64_t layer, int64_t pos);
    // Frees the blocks of full-attention layers that hold only positions >= n (after a truncate),
    // then compacts when that left the slabs sparse (see compact()).
    void release_from(int64_t n);
    // Frees every block (a reset session). The slabs stay committed for the next conversation:
    // giving them back made it fault every page in again (GPT-2 124M Q8_0, 512-token prefill
    // after a reset: 3331 tok/s vs 4194-4288 keeping them). compact() gives them back on request.
    void clear();
    // Packs the live blocks into as few slabs as they need (copying blocks out of the emptiest
    // slabs; the block tables follow) and gives the freed slabs' pages back to the system.
    // release_from() calls it once at least 1/kCompactSpareSlabsDivisor of a pool's slabs could
    // go. Returns the bytes of slabs given back. Not during a forward pass. Only a cache that has
    // its pool to itself compacts (a shared pool keeps its slabs for the other sequences).
    uint64_t compact();
    static constexpr size_t kCompactSpareSlabsDivisor = 4;

    // A second cache holding the same positions: it shares every block (one more owner each) and
    // copies a block only before it writes to it, as this cache does from now on.
    std::unique_ptr<KvCache> fork() const;

    // Sharing whole blocks with the engine's prefix index (cache/shared_prefix_index.h).
    struct BlockRef {
        uint8_t* block = nullptr;
        KvTier tier = KvTier::Hot;
    };
    // Layer by layer, the block holding positions [b*B, (b+1)*B), all of them stored, as of
    // n_tokens stored positions. Empty when some layer no longer holds them (a ring moved on).
    std::vector<BlockRef> block_refs(int64_t b, int64_t n_tokens) const;
    // An empty cache takes blocks 0..k-1 (blocks[i] as block_refs(i) gave them), one more owner
    // each, without copying; a window layer takes only the blocks its ring needs at position k*B.
    // k is blocks.size(), or less where a layer's warm blocks would not form a prefix. Returns k.
    int64_t adopt_prefix(std::span<const std::vector<BlockRef>> blocks);
    const std::shared_ptr<KvBlockPool>& pool() const { return pool_; }
    int home() const { return home_; }

    // Store one KV head of position `pos` (head_dim floats each for K and V). pos must be prepared.
    void store(int64_t layer, int64_t pos, int64_t kv_head, const float* k, const float* v);
    // Store one KV head of `pos` given as rows already encoded in `type` (F32, F16, BF16 or Q8_0;
    // converted when it is not the block's type): restoring saved sessions.
    void store_encoded(int64_t layer, int64_t pos, int64_t kv_head, TensorType type, const uint8_t* k,
                       const uint8_t* v);
    // The oldest position a layer still holds once positions 0 .. n_tokens-1 were stored
    // (0 for full attention, n_tokens - capacity for a sliding-window layer).
    int64_t oldest_cached(int64_t layer, int64_t n_tokens) const {
        return std::max<int64_t>(0, n_tokens - capacity_[layer]);
    }
    // True when, after positions 0 .. n_tokens-1 were stored, every layer still holds the rows a
    // sequence cut to its first n tokens needs (a window layer's ring may have overwritten them).
    bool can_truncate(int64_t n_tokens, int64_t n) const;
    // Positions [0, warm_end(layer)) of a layer are stored in the warm type, the rest hot.
    int64_t warm_end(int64_t layer) const { return warm_blocks_[layer] * kKvBlockTokens; }
    TensorType type_at(int64_t layer, int64_t pos) const;
    // Read one KV head of a cached position back as floats.
    void load_k(int64_t layer, int64_t pos, int64_t kv_head, float* out) const;
    void load_v(int64_t layer, int64_t pos, int64_t kv_head, float* out) const;
    // Appends to `out` the spans holding positions first_pos .. last_pos (inclusive, all still
    // cached) of one KV head, in position order: one per block. The attention kernel reads them
    // in place.
    void visible_spans(int64_t layer, int64_t kv_head, int64_t first_pos, int64_t last_pos,
                       std::vector<kernels::KvRowSpan>& out) const;

    struct Usage {
        int64_t hot_blocks = 0, warm_blocks = 0;
        uint64_t hot_bytes = 0, warm_bytes = 0;  // in live blocks
        uint64_t committed_bytes = 0;            // slabs taken by the pool (all its caches; what RSS can see)
        int64_t shared_blocks = 0;               // of this cache's blocks, those another owner holds too
    };
    Usage usage() const;
    uint64_t bytes() const;  // hot + warm bytes in live blocks

private:
    KvCache(const KvCache&) = default;  // fork() only: it takes the extra ownership of the blocks
    bool is_ring(int64_t layer) const { return ring_blocks_[layer] > 0; }
    size_t slot_index(int64_t layer, int64_t block) const;  // a block's entry in blocks_
    uint8_t*& block_slot(int64_t layer, int64_t block);
    uint8_t* block_of(int64_t layer, int64_t pos) const;  // nullptr when not prepared
    KvTier tier_of(int64_t layer, int64_t block) const;
    uint64_t head_bytes(TensorType type) const;
    void allocate_block(int64_t layer, int64_t block);
    void copy_before_write(int64_t layer, int64_t block);  // a private copy of a shared block
    void make_warm(int64_t layer, int64_t block);
    void compact_if_sparse();
    void free_from(int64_t n);  // release_from without the compaction
    // Where one head's K row of `pos` starts (its V row is kKvBlockTokens * n_head_kv rows later).
    uint8_t* k_row(uint8_t* block, TensorType type, int64_t pos, int64_t kv_head) const;

    KvLayout layout_;
    std::vector<int64_t> capacity_;
    std::vector<int64_t> ring_blocks_;   // per layer: ring size in blocks, 0 for a block table
    std::vector<int64_t> table_offset_;  // per layer: its first entry in blocks_
    std::vector<uint8_t*> blocks_;       // block tables and rings, nullptr = not allocated
    std::vector<int64_t> warm_blocks_;   // per layer: blocks [0, warm_blocks) are warm
    std::shared_ptr<KvBlockPool> pool_;
    int home_ = 0;
    uint64_t hot_head_bytes_ = 0, warm_head_bytes_ = 0;  // one head's row in each tier's type
    std::vector<float> convert_scratch_;  // store_encoded's and make_warm's float rows
};

}  // namespace silica::cache
