#include "cache/prefix_store.h"

#include <algorithm>
#include <chrono>

#include "cache/prefix_keys.h"
#include "cache/zlib_codec.h"

namespace silica::cache {

namespace {
double seconds_since(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}
}  // namespace

PrefixStore::PrefixStore(int64_t block_tokens, uint64_t budget_bytes)
    : block_tokens_(block_tokens), budget_(budget_bytes) {
    if (block_tokens <= 0) throw Error("prefix cache: block size must be positive");
}

std::vector<uint64_t> PrefixStore::block_keys(std::span<const int32_t> tokens) const {
    return prefix_block_keys(tokens, block_tokens_);
}

PrefixStore::Lru::iterator PrefixStore::find(std::span<const int32_t> tokens, int64_t block, uint64_t key,
                                             uint64_t parent) const {
    const auto it = index_.find(key);
    if (it == index_.end()) return lru_.end();
    const Entry& e = *it->second;
    const auto block_tokens = tokens.subspan(block * block_tokens_, block_tokens_);
    if (e.parent != parent || !std::equal(block_tokens.begin(), block_tokens.end(), e.tokens.begin(), e.tokens.end()))
        return lru_.end();  // a hash collision
    return it->second;
}

void PrefixStore::touch(Lru::iterator it) { lru_.splice(lru_.begin(), lru_, it); }

void PrefixStore::make_hot(Entry& e) {
    if (e.hot) return;
    const auto t0 = std::chrono::steady_clock::now();
    const auto raw = zlib_decompress(e.cold, e.cold_raw_bytes, "prefix cache", e.cold_planes);
    ByteReader in(raw, "prefix cache");
    e.hot = std::make_shared<const KvSnapshot>(read_snapshot(in, e.layout));
    stats_.decompress_seconds += seconds_since(t0);
    stats_.cold_bytes -= e.cold.size();
    --stats_.cold_entries;
    e.cold = {};
    stats_.hot_bytes += e.hot->bytes();
    ++stats_.hot_entries;
}

std::vector<std::shared_ptr<const KvSnapshot>> PrefixStore::lookup(std::span<const int32_t> tokens,
                                                                   int64_t max_blocks) {
    std::lock_guard lock(mutex_);
    std::vector<std::shared_ptr<const KvSnapshot>> found;
    const auto keys = block_keys(tokens);
    uint64_t parent = 0;
    for (int64_t b = 0; b < static_cast<int64_t>(keys.size()) && b < max_blocks; ++b) {
        const auto it = find(tokens, b, keys[b], parent);
        if (it == lru_.end()) {
            ++stats_.misses;
            break;
        }
        make_hot(*it);
        touch(it);
        found.push_back(it->hot);
        ++stats_.hits;
        parent = keys[b];
    }
    enforce_budget();
    return found;
}

bool PrefixStore::contains(std::span<const int32_t> tokens, int64_t block) const {
    std::lock_guard lock(mutex_);
    return contains_locked(tokens, block);
}

bool PrefixStore::contains_locked(std::span<const int32_t> tokens, int64_t block) const {
    const auto keys = block_keys(tokens.first((block + 1) * block_tokens_));
    return find(tokens, block, keys[block], block > 0 ? keys[block - 1] : 0) != lru_.end();
}

void PrefixStore::insert(std::span<const int32_t> tokens, int64_t block, KvSnapshot snapshot) {
    std::lock_guard lock(mutex_);
    if (contains_locked(tokens, block)) return;
    const auto keys = block_keys(tokens.first((block + 1) * block_tokens_));
    Entry e;
    e.key = keys[block];
    e.parent = block > 0 ? keys[block - 1] : 0;
    const auto bt = tokens.subspan(block * block_tokens_, block_tokens_);
    e.tokens.assign(bt.begin(), bt.end());
    e.layout.n_layer = snapshot.n_layer;
    e.layout.n_head_kv = snapshot.n_head_kv;
    e.layout.head_dim = snapshot.head_dim;
    stats_.hot_bytes += snapshot.bytes();
    ++stats_.hot_entries;
    e.hot = std::make_shared<const KvSnapshot>(std::move(snapshot));
    // A colliding key of another prefix is replaced (the newest wins).
    if (const auto old = index_.find(e.key); old != index_.end()) {
        const Entry& o = *old->second;
        if (o.hot) stats_.hot_bytes -= o.hot->bytes(), --stats_.hot_entries;
        else stats_.cold_bytes -= o.cold.size(), --stats_.cold_entries;
        lru_.erase(old->second);
    }
    lru_.push_front(std::move(e));
    index_[lru_.front().key] = lru_.begin();
    enforce_budget();
}

void PrefixStore::enforce_budget() {
    // Oldest hot entries go cold until the hot tier fits.
    for (auto it = lru_.end(); stats_.hot_bytes > budget_ && it != lru_.begin();) {
        --it;
        if (!it->hot) continue;
        const auto t0 = std::chrono::steady_clock::now();
        std::vector<uint8_t> raw;
        ByteWriter out(raw);
        write_snapshot(*it->hot, out);
        it->cold_planes = it->hot->byte_planes();
        it->cold = zlib_compress(raw, 1, it->cold_planes);
        it->cold_raw_bytes = raw.size();
        stats_.compress_seconds += seconds_since(t0);
        stats_.raw_bytes_compressed += raw.size();
        stats_.compressed_output_bytes += it->cold.size();
        stats_.hot_bytes -= it->hot->bytes();
        --stats_.hot_entries;
        it->hot.reset();
        stats_.cold_bytes += it->cold.size();
        ++stats_.cold_entries;
        ++stats_.compressed;
    }
    // Then the oldest cold entries leave until the cold tier fits.
    for (auto it = lru_.end(); stats_.cold_bytes > budget_ && it != lru_.begin();) {
        --it;
        if (it->hot) continue;
        stats_.cold_bytes -= it->cold.size();
        --stats_.cold_entries;
        ++stats_.dropped;
        index_.erase(it->key);
        it = lru_.erase(it);
    }
}

}  // namespace silica::cache

namespace silica {

PrefixCache::PrefixCache(uint64_t budget_bytes, int64_t block_tokens)
    : store_(std::make_unique<cache::PrefixStore>(block_tokens, budget_bytes)) {}
PrefixCache::~PrefixCache() = default;
PrefixCacheStats PrefixCache::stats() const { return store_->stats(); }

}  // namespace silica
