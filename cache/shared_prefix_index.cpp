#include "cache/shared_prefix_index.h"

#include <algorithm>

#include "cache/prefix_keys.h"

namespace silica::cache {

SharedPrefixIndex::SharedPrefixIndex(std::shared_ptr<KvBlockPool> pool, int64_t max_blocks)
    : pool_(std::move(pool)), max_blocks_(max_blocks) {}

SharedPrefixIndex::~SharedPrefixIndex() { clear(); }

void SharedPrefixIndex::clear() {
    while (!lru_.empty()) drop(std::prev(lru_.end()));
}

void SharedPrefixIndex::drop(Lru::iterator it) {
    for (const KvCache::BlockRef& r : it->blocks) pool_->release(r.block, r.tier);
    index_.erase(it->key);
    lru_.erase(it);
}

SharedPrefixIndex::Lru::iterator SharedPrefixIndex::find(std::span<const int32_t> tokens, int64_t block, uint64_t key,
                                                         uint64_t parent) {
    const auto it = index_.find(key);
    if (it == index_.end()) return lru_.end();
    const auto block_tokens = tokens.subspan(static_cast<size_t>(block * kKvBlockTokens), kKvBlockTokens);
    const Entry& e = *it->second;
    if (e.parent != parent || !std::equal(block_tokens.begin(), block_tokens.end(), e.tokens.begin(), e.tokens.end()))
        return lru_.end();
    return it->second;
}

void SharedPrefixIndex::touch(std::span<const Lru::iterator> chain) {
    // Deepest first, so a prefix's first block ends up most recent: dropping from the back then
    // never cuts a chain in the middle while its deeper blocks stay (they could not be reached).
    for (auto it = chain.rbegin(); it != chain.rend(); ++it) lru_.splice(lru_.begin(), lru_, *it);
}

int64_t SharedPrefixIndex::offer(const KvCache& kv, std::span<const int32_t> tokens, int64_t first_block) {
    const std::vector<uint64_t> keys = prefix_block_keys(tokens, kKvBlockTokens);
    const int64_t n_tokens = static_cast<int64_t>(tokens.size());
    std::vector<Lru::iterator> chain;
    int64_t b = first_block;
    for (; b < static_cast<int64_t>(keys.size()); ++b) {
        const uint64_t parent = b > 0 ? keys[b - 1] : 0;
        if (const auto it = find(tokens, b, keys[b], parent); it != lru_.end()) {
            chain.push_back(it);
            continue;
        }
        std::vector<KvCache::BlockRef> refs = kv.block_refs(b, n_tokens);
        if (refs.empty()) continue;  // a ring no longer holds it
        for (const KvCache::BlockRef& r : refs) pool_->retain(r.block);
        const auto first = tokens.begin() + b * kKvBlockTokens;
        lru_.push_front({keys[b], parent, std::vector<int32_t>(first, first + kKvBlockTokens), std::move(refs)});
        index_[keys[b]] = lru_.begin();
        chain.push_back(lru_.begin());
    }
    touch(chain);
    while (blocks() > max_blocks_) drop(std::prev(lru_.end()));
    return b;
}

int64_t SharedPrefixIndex::adopt(KvCache& kv, std::span<const int32_t> tokens, int64_t max_blocks) {
    const std::vector<uint64_t> keys = prefix_block_keys(tokens, kKvBlockTokens);
    std::vector<std::vector<KvCache::BlockRef>> run;
    std::vector<Lru::iterator> chain;
    for (int64_t b = 0; b < std::min<int64_t>(max_blocks, static_cast<int64_t>(keys.size())); ++b) {
        const auto it = find(tokens, b, keys[b], b > 0 ? keys[b - 1] : 0);
        if (it == lru_.end()) break;
        chain.push_back(it);
        run.push_back(it->blocks);
    }
    touch(chain);
    return kv.adopt_prefix(run) * kKvBlockTokens;
}

int64_t SharedPrefixIndex::blocks_held_alone() const {
    int64_t n = 0;
    for (const Entry& e : lru_)
        for (const KvCache::BlockRef& r : e.blocks) n += pool_->owners(r.block) == 1;
    return n;
}

}  // namespace silica::cache
