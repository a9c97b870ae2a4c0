// The key/value cache of one session: for each layer, one K row and one V row per cached
// position, each row holding all KV heads (n_head_kv * head_dim values) in the chosen storage
// type. A layer with a sliding window keeps only `window` rows and uses them as a ring.
#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>

#include "kernels/kv_rows.h"
#include "quant/types.h"

namespace silica::cache {

struct KvLayout {
    int64_t n_layer = 0;
    int64_t n_ctx = 0;
    int64_t n_head_kv = 0;
    int64_t head_dim = 0;
    std::vector<int64_t> window;  // per layer; 0 = full attention (keeps n_ctx rows)
    // Rows a window layer keeps beyond its window. With the forward's chunk size here, every row
    // of the latest evaluated chunk is still readable afterwards (prefix cache, session files).
    int64_t ring_slack = 0;
    TensorType storage = TensorType::F16;  // F32, F16, BF16 or Q8_0
};

class KvCache {
public:
    explicit KvCache(const KvLayout& layout);

    const KvLayout& layout() const { return layout_; }
    int64_t row_dim() const { return layout_.n_head_kv * layout_.head_dim; }
    // Rows a layer keeps (its window, or the whole context).
    int64_t capacity(int64_t layer) const { return capacity_[layer]; }
    uint64_t bytes() const;

    // Store one KV head of position `pos` (head_dim floats each for K and V).
    void store(int64_t layer, int64_t pos, int64_t kv_head, const float* k, const float* v);
    // Store one KV head of `pos` given as rows already encoded in `type` (F32, F16, BF16 or Q8_0;
    // converted when it is not the storage type): restoring saved sessions.
    void store_encoded(int64_t layer, int64_t pos, int64_t kv_head, TensorType type, const uint8_t* k,
                       const uint8_t* v);
    // The oldest position a layer still holds once positions 0 .. n_tokens-1 were stored
    // (0 for full attention, n_tokens - window for a sliding-window layer).
    int64_t oldest_cached(int64_t layer, int64_t n_tokens) const {
        return std::max<int64_t>(0, n_tokens - capacity_[layer]);
    }
    // Read one KV head of a cached position back as floats.
    void load_k(int64_t layer, int64_t pos, int64_t kv_head, float* out) const;
    void load_v(int64_t layer, int64_t pos, int64_t kv_head, float* out) const;
    // Appends to `out` the spans holding positions first_pos .. last_pos (inclusive, all still
    // cached) of one KV head, in position order. The attention kernel reads them in place.
    void visible_spans(int64_t layer, int64_t kv_head, int64_t first_pos, int64_t last_pos,
                       std::vector<kernels::KvRowSpan>& out) const;

private:
    uint8_t* slot(std::vector<uint8_t>& plane, int64_t layer, int64_t pos, int64_t kv_head);
    const uint8_t* slot(const std::vector<uint8_t>& plane, int64_t layer, int64_t pos, int64_t kv_head) const;

    KvLayout layout_;
    std::vector<int64_t> capacity_;
    std::vector<uint64_t> layer_offset_;  // byte offset of each layer in k_/v_
    uint64_t head_bytes_ = 0;             // bytes of one head's row in the storage type
    std::vector<uint8_t> k_, v_;
    std::vector<float> convert_scratch_;  // store_encoded's float rows when it converts
};

}  // namespace silica::cache
