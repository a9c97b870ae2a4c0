// A copy of the KV rows of positions [begin, end) of every layer and KV head, in the cache's own
// storage encoding (no conversion, so capture + restore is bit-exact). Sliding-window layers hold
// only their last `window` positions, so a snapshot records per layer the first position it has.
// A layer's oldest rows may be in the warm tier (q8_0): per layer, rows before warm_end are in
// warm_type, the others in type.
// Used by the prefix cache (one snapshot per block of tokens) and by session files.
#pragma once
#include <cstdint>
#include <vector>

#include "cache/byte_io.h"
#include "cache/kv_cache.h"

namespace silica::cache {

struct KvSnapshot {
    TensorType type = TensorType::F16;       // the hot tier's type
    TensorType warm_type = kKvWarmType;
    int64_t n_layer = 0, n_head_kv = 0, head_dim = 0;
    int64_t begin = 0, end = 0;
    std::vector<int64_t> first;     // per layer: rows [first[l], end) are present
    std::vector<int64_t> warm_end;  // per layer: rows [first[l], warm_end[l]) are in warm_type
    std::vector<uint8_t> rows;  // layer by layer, position by position, head by head: K row, V row

    // One head's K (or V) row of a layer's position.
    uint64_t row_bytes(int64_t layer, int64_t pos) const;
    // Element size for zlib_compress's byte planes: 2 for F16/BF16 rows, else 1.
    int byte_planes() const { return type == TensorType::F16 || type == TensorType::BF16 ? 2 : 1; }
    uint64_t bytes() const { return rows.size(); }
};

// Rows [begin, end) of `kv`, which has stored positions 0 .. n_stored-1 (every layer's rows that
// are still cached: a sliding-window layer may start later than `begin`).
KvSnapshot capture_snapshot(const KvCache& kv, int64_t begin, int64_t end, int64_t n_stored);

// Writes the snapshot's rows into `kv` (same layer count, head count and head size; another
// storage type is converted). Rows of a window layer older than the window are skipped.
void restore_snapshot(KvCache& kv, const KvSnapshot& snapshot);

// Binary form (fields in declaration order, little-endian). Parsing checks every count against
// the remaining bytes and `expected` shape, throwing silica::Error "<what>: …".
void write_snapshot(const KvSnapshot& snapshot, ByteWriter& out);
KvSnapshot read_snapshot(ByteReader& in, const KvLayout& expected);

}  // namespace silica::cache
