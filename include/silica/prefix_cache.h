// A prefix cache shared by sessions of one model: the KV of full blocks of prompt tokens, so a
// session whose prompt starts like an earlier one (a system prompt, a chat history, a few-shot
// preamble) evaluates only the new part. Give the same PrefixCache to several sessions through
// SessionOptions::prefix_cache. Thread-safe.
#pragma once
#include <cstdint>
#include <memory>

namespace silica {

namespace cache { class PrefixStore; }

struct PrefixCacheStats {
    uint64_t hot_bytes = 0, cold_bytes = 0;  // KV held uncompressed / zlib-compressed
    uint64_t hot_entries = 0, cold_entries = 0;
    uint64_t hits = 0, misses = 0;           // blocks found / not found by lookups
    uint64_t compressed = 0, dropped = 0;    // blocks moved hot -> cold, cold -> out
    uint64_t raw_bytes_compressed = 0;       // zlib input so far (ratio = this / output)
    uint64_t compressed_output_bytes = 0;
    double compress_seconds = 0, decompress_seconds = 0;
};

class PrefixCache {
public:
    // budget_bytes bounds the uncompressed (hot) tier and, separately, the compressed (cold) tier.
    // block_tokens: tokens per cached block (prefixes are reused in whole blocks).
    explicit PrefixCache(uint64_t budget_bytes, int64_t block_tokens = 32);
    ~PrefixCache();
    PrefixCacheStats stats() const;

    cache::PrefixStore& store() { return *store_; }  // internal (engine)

private:
    std::unique_ptr<cache::PrefixStore> store_;
};

}  // namespace silica
