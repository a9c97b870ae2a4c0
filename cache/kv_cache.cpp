#include "cache/kv_cache.h"

#include <cstring>
#include <string>

#include "kernels/convert.h"
#include "quant/quantize.h"
#include "silica/error.h"

namespace silica::cache {

namespace {

constexpr int64_t B = kKvBlockTokens;

int64_t blocks_for(int64_t n_positions) { return (n_positions + B - 1) / B; }

uint64_t head_bytes_of(TensorType type, int64_t head_dim) { return row_bytes(type_traits(type), head_dim); }

int64_t layer_capacity(const KvLayout& L, int64_t layer) {
    const int64_t w = layer < static_cast<int64_t>(L.window.size()) ? L.window[layer] : 0;
    return w > 0 ? std::min(L.n_ctx, w + std::max<int64_t>(0, L.ring_slack)) : L.n_ctx;
}

// A ring holds the newest `capacity` rows wherever they start inside a block: one block more than
// the rows need. A window that covers the whole context is just a block table.
int64_t layer_ring_blocks(const KvLayout& L, int64_t layer) {
    const int64_t cap = layer_capacity(L, layer);
    return cap < L.n_ctx ? blocks_for(cap) + 1 : 0;
}

bool warm_tier_possible(const KvLayout& L) {
    return L.storage != kKvWarmType && L.head_dim % type_traits(kKvWarmType).block_size == 0;
}

// One block: K and V rows of kKvBlockTokens positions of every KV head.
size_t hot_block_bytes(const KvLayout& L) {
    return 2 * static_cast<size_t>(B * L.n_head_kv) * head_bytes_of(L.storage, L.head_dim);
}
size_t warm_block_bytes(const KvLayout& L) {
    return 2 * static_cast<size_t>(B * L.n_head_kv) * head_bytes_of(kKvWarmType, L.head_dim);
}

double mib(uint64_t bytes) { return static_cast<double>(bytes) / (1024.0 * 1024.0); }

std::string mib_text(uint64_t bytes) {
    const std::string s = std::to_string(mib(bytes));
    return s.substr(0, s.find('.') + 2) + " MiB";
}

// The largest hot_tokens whose whole context fits the budget (-1: everything fits hot).
int64_t hot_tokens_for_budget(const KvLayout& L) {
    const KvFootprint fp = kv_footprint(L);
    const uint64_t all_hot = fp.context_bytes(L, -1);
    if (all_hot <= L.budget_bytes) return -1;
    const uint64_t all_warm = fp.context_bytes(L, 0);
    if (!warm_tier_possible(L) || all_warm > L.budget_bytes)
        throw OutOfMemory("KV cache: a context of " + std::to_string(L.n_ctx) + " tokens needs " +
                          mib_text(warm_tier_possible(L) ? all_warm : all_hot) +
                          (warm_tier_possible(L) ? " even with every block in q8_0" : "") + ", over the budget of " +
                          mib_text(L.budget_bytes) + "; lower the context size or raise the budget");
    // context_bytes(H) counts ceil(H / B) + 1 hot blocks per full-attention layer.
    const uint64_t hot_block = static_cast<uint64_t>(B) * fp.hot_per_token;
    const uint64_t warm_block = static_cast<uint64_t>(B) * fp.warm_per_token;
    const uint64_t hot_blocks = 1 + (L.budget_bytes - all_warm) / (hot_block - warm_block);
    return static_cast<int64_t>(hot_blocks - 1) * B;
}

}  // namespace

uint64_t KvFootprint::context_bytes(const KvLayout& L, int64_t hot_tokens) const {
    const int64_t n_blocks = blocks_for(L.n_ctx);
    const int64_t hot = hot_tokens < 0 ? n_blocks : std::min(n_blocks, blocks_for(hot_tokens) + 1);
    return static_cast<uint64_t>(B) *
               (static_cast<uint64_t>(hot) * hot_per_token + static_cast<uint64_t>(n_blocks - hot) * warm_per_token) +
           window_bytes;
}

KvFootprint kv_footprint(const KvLayout& L) {
    KvFootprint fp;
    const uint64_t hot_row = 2 * static_cast<uint64_t>(L.n_head_kv) * head_bytes_of(L.storage, L.head_dim);
    const uint64_t warm_row = warm_tier_possible(L)
                                  ? 2 * static_cast<uint64_t>(L.n_head_kv) * head_bytes_of(kKvWarmType, L.head_dim)
                                  : hot_row;
    for (int64_t l = 0; l < L.n_layer; ++l) {
        if (const int64_t ring = layer_ring_blocks(L, l); ring > 0) {
            fp.window_bytes += static_cast<uint64_t>(ring * B) * hot_row;
        } else {
            fp.hot_per_token += hot_row;
            fp.warm_per_token += warm_row;
        }
    }
    return fp;
}

uint64_t kv_reserve_bytes(const KvLayout& L) {
    int64_t n_table = 0, n_full_blocks = 0;
    for (int64_t l = 0; l < L.n_layer; ++l) {
        const int64_t ring = layer_ring_blocks(L, l);
        n_table += ring > 0 ? ring : blocks_for(L.n_ctx);
        if (ring == 0) n_full_blocks += blocks_for(L.n_ctx);
    }
    uint64_t bytes = FixedBlockPool::backing_bytes(hot_block_bytes(L), static_cast<size_t>(n_table));
    if (warm_tier_possible(L))
        bytes += FixedBlockPool::backing_bytes(warm_block_bytes(L), static_cast<size_t>(n_full_blocks));
    return bytes;
}

std::shared_ptr<KvBlockPool> make_kv_block_pool(const KvLayout& L, uint64_t capacity_bytes,
                                                const std::vector<int>& numa_nodes) {
    return std::make_shared<KvBlockPool>(hot_block_bytes(L), warm_tier_possible(L) ? warm_block_bytes(L) : 0,
                                         capacity_bytes, numa_nodes);
}

KvCache::KvCache(const KvLayout& layout, std::shared_ptr<KvBlockPool> pool, int home) : layout_(layout), home_(home) {
    const TensorType t = layout.storage;
    if (t != TensorType::F32 && t != TensorType::F16 && t != TensorType::BF16 && t != TensorType::Q8_0)
        throw Error("KV cache: unsupported storage type " + std::string(type_traits(t).name));
    if (layout.head_dim % type_traits(t).block_size != 0)
        throw Error("KV cache: head size " + std::to_string(layout.head_dim) + " is not a multiple of " +
                    std::to_string(type_traits(t).block_size) + " as " + std::string(type_traits(t).name) + " needs");
    hot_head_bytes_ = head_bytes_of(t, layout.head_dim);
    warm_head_bytes_ = head_bytes_of(kKvWarmType, layout.head_dim);
    if (layout_.budget_bytes > 0) layout_.hot_tokens = hot_tokens_for_budget(layout_);
    if (!warm_tier_possible(layout_)) layout_.hot_tokens = -1;

    int64_t n_table = 0;
    for (int64_t l = 0; l < layout.n_layer; ++l) {
        capacity_.push_back(layer_capacity(layout_, l));
        ring_blocks_.push_back(layer_ring_blocks(layout_, l));
        table_offset_.push_back(n_table);
        n_table += ring_blocks_.back() > 0 ? ring_blocks_.back() : blocks_for(layout.n_ctx);
    }
    blocks_.assign(static_cast<size_t>(n_table), nullptr);
    warm_blocks_.assign(static_cast<size_t>(layout.n_layer), 0);

    pool_ = pool ? std::move(pool) : make_kv_block_pool(layout_, kv_reserve_bytes(layout_));
    auto fits = [&](KvTier tier, size_t bytes) {  // the pool rounds blocks up to cache lines
        return (tier == KvTier::Hot || pool_->has_warm_tier()) && pool_->block_bytes(tier) == (bytes + 63) / 64 * 64;
    };
    if (!fits(KvTier::Hot, hot_block_bytes(layout_)) || (has_warm_tier() && !fits(KvTier::Warm, warm_block_bytes(layout_))))
        throw Error("KV cache: the block pool was made for another storage type or head size");
    if (home_ < 0 || home_ >= pool_->n_homes())
        throw Error("KV cache: the block pool has no home " + std::to_string(home_));
    pool_->attach();
}

KvCache::~KvCache() {
    clear();
    pool_->detach();
}

std::unique_ptr<KvCache> KvCache::fork() const {
    auto copy = std::unique_ptr<KvCache>(new KvCache(*this));
    for (uint8_t* block : blocks_)
        if (block) pool_->retain(block);
    pool_->attach();
    return copy;
}

// (the two tiers' sizes kept, not looked up: attention asks several times per span)
uint64_t KvCache::head_bytes(TensorType type) const {
    if (type == layout_.storage) return hot_head_bytes_;
    if (type == kKvWarmType) return warm_head_bytes_;
    return head_bytes_of(type, layout_.head_dim);
}

size_t KvCache::slot_index(int64_t layer, int64_t block) const {
    const int64_t ring = ring_blocks_[layer];
    return static_cast<size_t>(table_offset_[layer] + (ring > 0 ? block % ring : block));
}

uint8_t*& KvCache::block_slot(int64_t layer, int64_t block) { return blocks_[slot_index(layer, block)]; }

uint8_t* KvCache::block_of(int64_t layer, int64_t pos) const { return blocks_[slot_index(layer, pos / B)]; }

KvTier KvCache::tier_of(int64_t layer, int64_t block) const {
    return !is_ring(layer) && block < warm_blocks_[layer] ? KvTier::Warm : KvTier::Hot;
}

TensorType KvCache::type_at(int64_t layer, int64_t pos) const {
    return !is_ring(layer) && pos / B < warm_blocks_[layer] ? kKvWarmType : layout_.storage;
}

// Head-major inside a block: one head's K rows of the block's positions are contiguous, so
// attention (one thread per head) streams 32 rows in a row instead of one row every n_head_kv
// (decode attention of GPT-2 at 4k-16k keys: 1.7-2x faster than position-major).
uint8_t* KvCache::k_row(uint8_t* block, TensorType type, int64_t pos, int64_t kv_head) const {
    return block + (static_cast<uint64_t>(kv_head) * B + pos % B) * head_bytes(type);
}

void KvCache::allocate_block(int64_t layer, int64_t block) {
    uint8_t* p = pool_->allocate(tier_of(layer, block), home_);
    if (!p)
        throw OutOfMemory("KV cache: no memory left for the block of positions " + std::to_string(block * B) + ".." +
                          std::to_string(block * B + B - 1) + " of layer " + std::to_string(layer));
    block_slot(layer, block) = p;
}

void KvCache::copy_before_write(int64_t layer, int64_t block) {
    uint8_t*& slot = block_slot(layer, block);
    const KvTier tier = tier_of(layer, block);
    uint8_t* copy = pool_->allocate(tier, home_);
    if (!copy)
        throw OutOfMemory("KV cache: no memory left to copy the shared block of positions " +
                          std::to_string(block * B) + ".." + std::to_string(block * B + B - 1) + " of layer " +
                          std::to_string(layer));
    std::memcpy(copy, slot, pool_->block_bytes(tier));
    pool_->release(slot, tier);
    slot = copy;
}

void KvCache::make_warm(int64_t layer, int64_t block) {
    uint8_t*& slot = block_slot(layer, block);
    if (!slot) return;  // allocated later, directly in the warm type
    uint8_t* warm = pool_->allocate(KvTier::Warm, home_);
    if (!warm) throw OutOfMemory("KV cache: no memory left to move layer " + std::to_string(layer) + " to q8_0");
    const TensorType hot = layout_.storage;
    const int64_t hd = layout_.head_dim;
    const uint64_t hot_half = B * layout_.n_head_kv * head_bytes(hot);
    const uint64_t warm_half = B * layout_.n_head_kv * head_bytes(kKvWarmType);
    convert_scratch_.resize(static_cast<size_t>(hd));
    for (int64_t r = 0; r < B; ++r)
        for (int64_t h = 0; h < layout_.n_head_kv; ++h)
            for (uint64_t half = 0; half < 2; ++half) {  // K, then V
                kernels::to_f32(hot, k_row(slot, hot, r, h) + half * hot_half, convert_scratch_.data(), hd);
                quantize_row(kKvWarmType, convert_scratch_.data(), k_row(warm, kKvWarmType, r, h) + half * warm_half,
                             hd);
            }
    pool_->release(slot, KvTier::Hot);  // another owner may keep the hot block
    slot = warm;
}

void KvCache::prepare(int64_t first_pos, int64_t last_pos) {
    if (first_pos < 0 || last_pos >= layout_.n_ctx)
        throw Error("KV cache: positions " + std::to_string(first_pos) + ".." + std::to_string(last_pos) +
                    " are outside the context of " + std::to_string(layout_.n_ctx));
    for (int64_t l = 0; l < layout_.n_layer; ++l) {
        if (has_warm_tier()) make_warm_before(l, last_pos + 1 - layout_.hot_tokens);
        const int64_t from = std::max(first_pos, oldest_cached(l, last_pos + 1));
        for (int64_t b = from / B; b <= last_pos / B; ++b) {
            if (!block_slot(l, b)) allocate_block(l, b);
            else if (pool_->shared(block_slot(l, b))) copy_before_write(l, b);
        }
    }
}

void KvCache::make_warm_before(int64_t layer, int64_t pos) {
    if (!has_warm_tier() || is_ring(layer)) return;
    const int64_t target = std::max<int64_t>(0, pos) / B;
    for (int64_t b = warm_blocks_[layer]; b < target; ++b) make_warm(layer, b);
    warm_blocks_[layer] = std::max(warm_blocks_[layer], target);
}

std::vector<KvCache::BlockRef> KvCache::block_refs(int64_t b, int64_t n_tokens) const {
    std::vector<BlockRef> refs;
    if ((b + 1) * B > n_tokens) return refs;
    for (int64_t l = 0; l < layout_.n_layer; ++l) {
        if (oldest_cached(l, n_tokens) > b * B) return {};
        refs.push_back({blocks_[slot_index(l, b)], tier_of(l, b)});
    }
    return refs;
}

int64_t KvCache::adopt_prefix(std::span<const std::vector<BlockRef>> blocks) {
    for (const uint8_t* block : blocks_)
        if (block) throw Error("KV cache: only an empty cache can adopt a prefix");
    // The blocks to take: a layer's warm blocks must come first (type_at assumes it).
    int64_t k = static_cast<int64_t>(blocks.size());
    for (int64_t l = 0; l < layout_.n_layer; ++l) {
        bool hot_seen = false;
        for (int64_t i = 0; i < k; ++i) {
            const bool warm = blocks[i][l].tier == KvTier::Warm;
            if ((warm && (hot_seen || is_ring(l) || !has_warm_tier())) || !blocks[i][l].block) k = i;
            hot_seen |= !warm;
        }
    }
    for (int64_t l = 0; l < layout_.n_layer; ++l) {
        // A ring needs the rows [k*B - capacity, k*B): its newest ring_blocks - 1 blocks.
        const int64_t first = is_ring(l) ? std::max<int64_t>(0, k - (ring_blocks_[l] - 1)) : 0;
        for (int64_t i = first; i < k; ++i) {
            pool_->retain(blocks[i][l].block);
            block_slot(l, i) = blocks[i][l].block;
            if (blocks[i][l].tier == KvTier::Warm) warm_blocks_[l] = i + 1;
        }
    }
    return k;
}

bool KvCache::can_truncate(int64_t n_tokens, int64_t n) const {
    for (int64_t l = 0; l < layout_.n_layer; ++l) {
        const int64_t w = l < static_cast<int64_t>(layout_.window.size()) ? layout_.window[l] : 0;
        const int64_t needed_from = w > 0 ? std::max<int64_t>(0, n - w) : 0;
        if (oldest_cached(l, n_tokens) > needed_from) return false;
    }
    return true;
}

void KvCache::release_from(int64_t n) {
    free_from(n);
    compact_if_sparse();
}

void KvCache::free_from(int64_t n) {
    for (int64_t l = 0; l < layout_.n_layer; ++l) {
        if (is_ring(l)) continue;
        const int64_t first_free = blocks_for(std::max<int64_t>(0, n));
        for (int64_t b = first_free; b < blocks_for(layout_.n_ctx); ++b) {
            uint8_t*& slot = block_slot(l, b);
            if (!slot) continue;
            pool_->release(slot, tier_of(l, b));
            slot = nullptr;
        }
        warm_blocks_[l] = std::min(warm_blocks_[l], first_free);
    }
}

void KvCache::clear() {
    free_from(0);
    for (int64_t l = 0; l < layout_.n_layer; ++l)
        for (int64_t b = 0; b < ring_blocks_[l]; ++b) {
            uint8_t*& slot = block_slot(l, b);
            pool_->release(slot, KvTier::Hot);
            slot = nullptr;
        }
}

uint64_t KvCache::compact() { return pool_->compact(blocks_); }

void KvCache::compact_if_sparse() {
    if (pool_->attached_caches() == 1 && pool_->sparse(kCompactSpareSlabsDivisor)) compact();
}

void KvCache::store(int64_t layer, int64_t pos, int64_t kv_head, const float* k, const float* v) {
    uint8_t* block = block_of(layer, pos);
    if (!block) throw Error("KV cache: position " + std::to_string(pos) + " was not prepared");
    const TensorType type = type_at(layer, pos);
    uint8_t* krow = k_row(block, type, pos, kv_head);
    kernels::from_f32(type, k, krow, layout_.head_dim);
    kernels::from_f32(type, v, krow + B * layout_.n_head_kv * head_bytes(type), layout_.head_dim);
}

void KvCache::store_encoded(int64_t layer, int64_t pos, int64_t kv_head, TensorType type, const uint8_t* k,
                            const uint8_t* v) {
    uint8_t* block = block_of(layer, pos);
    if (!block) throw Error("KV cache: position " + std::to_string(pos) + " was not prepared");
    const TensorType own = type_at(layer, pos);
    if (type == own) {
        uint8_t* krow = k_row(block, own, pos, kv_head);
        std::memcpy(krow, k, head_bytes(own));
        std::memcpy(krow + B * layout_.n_head_kv * head_bytes(own), v, head_bytes(own));
        return;
    }
    // Restores call this once per row: reuse one buffer instead of allocating per call.
    convert_scratch_.resize(2 * layout_.head_dim);
    float* kf = convert_scratch_.data();
    float* vf = kf + layout_.head_dim;
    kernels::to_f32(type, k, kf, layout_.head_dim);
    kernels::to_f32(type, v, vf, layout_.head_dim);
    store(layer, pos, kv_head, kf, vf);
}

void KvCache::load_k(int64_t layer, int64_t pos, int64_t kv_head, float* out) const {
    const TensorType type = type_at(layer, pos);
    kernels::to_f32(type, k_row(block_of(layer, pos), type, pos, kv_head), out, layout_.head_dim);
}

void KvCache::load_v(int64_t layer, int64_t pos, int64_t kv_head, float* out) const {
    const TensorType type = type_at(layer, pos);
    const uint8_t* v = k_row(block_of(layer, pos), type, pos, kv_head) + B * layout_.n_head_kv * head_bytes(type);
    kernels::to_f32(type, v, out, layout_.head_dim);
}

void KvCache::visible_spans(int64_t layer, int64_t kv_head, int64_t first_pos, int64_t last_pos,
                            std::vector<kernels::KvRowSpan>& out) const {
    for (int64_t pos = first_pos; pos <= last_pos;) {
        uint8_t* block = block_of(layer, pos);
        if (!block) throw Error("KV cache: position " + std::to_string(pos) + " is not cached");
        const TensorType type = type_at(layer, pos);
        const int64_t n = std::min(last_pos - pos + 1, B - pos % B);
        kernels::KvRowSpan span;
        span.k = k_row(block, type, pos, kv_head);
        span.v = span.k + B * layout_.n_head_kv * head_bytes(type);
        span.n_rows = n;
        span.stride = static_cast<int64_t>(head_bytes(type));
        span.type = type;
        span.first_pos = pos;
        out.push_back(span);
        pos += n;
    }
}

KvCache::Usage KvCache::usage() const {
    Usage u;
    for (int64_t l = 0; l < layout_.n_layer; ++l) {
        const int64_t n = is_ring(l) ? ring_blocks_[l] : blocks_for(layout_.n_ctx);
        for (int64_t b = 0; b < n; ++b) {
            const uint8_t* block = blocks_[slot_index(l, b)];
            if (!block) continue;
            if (tier_of(l, b) == KvTier::Warm) ++u.warm_blocks;
            else ++u.hot_blocks;
            if (pool_->shared(block)) ++u.shared_blocks;
        }
    }
    u.hot_bytes = static_cast<uint64_t>(u.hot_blocks) * pool_->block_bytes(KvTier::Hot);
    if (pool_->has_warm_tier())
        u.warm_bytes = static_cast<uint64_t>(u.warm_blocks) * pool_->block_bytes(KvTier::Warm);
    u.committed_bytes = pool_->committed_bytes();
    return u;
}

uint64_t KvCache::bytes() const {
    const Usage u = usage();
    return u.hot_bytes + u.warm_bytes;
}

}  // namespace silica::cache
