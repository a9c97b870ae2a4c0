#include "cache/kv_cache.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "kernels/convert.h"
#include "quant/quantize.h"
#include "silica/error.h"

namespace silica::cache {

KvCache::KvCache(const KvLayout& layout) : layout_(layout) {
    const auto traits = type_traits(layout.storage);
    if (layout.storage != TensorType::F32 && layout.storage != TensorType::F16 &&
        layout.storage != TensorType::BF16 && layout.storage != TensorType::Q8_0)
        throw Error("KV cache: unsupported storage type " + std::string(traits.name));
    if (layout.head_dim % traits.block_size != 0)
        throw Error("KV cache: head size " + std::to_string(layout.head_dim) + " is not a multiple of " +
                    std::to_string(traits.block_size) + " as " + std::string(traits.name) + " needs");
    head_bytes_ = row_bytes(traits, layout.head_dim);
    uint64_t offset = 0;
    for (int64_t l = 0; l < layout.n_layer; ++l) {
        const int64_t w = l < static_cast<int64_t>(layout.window.size()) ? layout.window[l] : 0;
        const int64_t cap = w > 0 ? std::min(layout.n_ctx, w + std::max<int64_t>(0, layout.ring_slack)) : layout.n_ctx;
        capacity_.push_back(cap);
        layer_offset_.push_back(offset);
        offset += static_cast<uint64_t>(cap) * static_cast<uint64_t>(layout.n_head_kv) * head_bytes_;
    }
    try {
        k_.assign(offset, 0);
        v_.assign(offset, 0);
    } catch (const std::bad_alloc&) {
        throw OutOfMemory("KV cache: cannot allocate " + std::to_string(2 * offset / (1024 * 1024)) + " MiB");
    }
}

uint64_t KvCache::bytes() const { return k_.size() + v_.size(); }

uint8_t* KvCache::slot(std::vector<uint8_t>& plane, int64_t layer, int64_t pos, int64_t kv_head) {
    const int64_t row = pos % capacity_[layer];
    return plane.data() + layer_offset_[layer] +
           (static_cast<uint64_t>(row) * layout_.n_head_kv + kv_head) * head_bytes_;
}

const uint8_t* KvCache::slot(const std::vector<uint8_t>& plane, int64_t layer, int64_t pos, int64_t kv_head) const {
    const int64_t row = pos % capacity_[layer];
    return plane.data() + layer_offset_[layer] +
           (static_cast<uint64_t>(row) * layout_.n_head_kv + kv_head) * head_bytes_;
}

void KvCache::store(int64_t layer, int64_t pos, int64_t kv_head, const float* k, const float* v) {
    quantize_row(layout_.storage, k, slot(k_, layer, pos, kv_head), layout_.head_dim);
    quantize_row(layout_.storage, v, slot(v_, layer, pos, kv_head), layout_.head_dim);
}

void KvCache::store_encoded(int64_t layer, int64_t pos, int64_t kv_head, TensorType type, const uint8_t* k,
                            const uint8_t* v) {
    if (type == layout_.storage) {
        std::memcpy(slot(k_, layer, pos, kv_head), k, head_bytes_);
        std::memcpy(slot(v_, layer, pos, kv_head), v, head_bytes_);
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
    kernels::to_f32(layout_.storage, slot(k_, layer, pos, kv_head), out, layout_.head_dim);
}

void KvCache::load_v(int64_t layer, int64_t pos, int64_t kv_head, float* out) const {
    kernels::to_f32(layout_.storage, slot(v_, layer, pos, kv_head), out, layout_.head_dim);
}

void KvCache::visible_spans(int64_t layer, int64_t kv_head, int64_t first_pos, int64_t last_pos,
                            std::vector<kernels::KvRowSpan>& out) const {
    const int64_t cap = capacity_[layer];
    const int64_t stride = layout_.n_head_kv * static_cast<int64_t>(head_bytes_);
    // A ring wraps at most once over the visible range: split it where the row index returns to 0.
    for (int64_t pos = first_pos; pos <= last_pos;) {
        const int64_t n = std::min(last_pos - pos + 1, cap - pos % cap);
        kernels::KvRowSpan span;
        span.k = slot(k_, layer, pos, kv_head);
        span.v = slot(v_, layer, pos, kv_head);
        span.n_rows = n;
        span.stride = stride;
        span.type = layout_.storage;
        span.first_pos = pos;
        out.push_back(span);
        pos += n;
    }
}

}  // namespace silica::cache
