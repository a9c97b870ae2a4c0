#include "cache/kv_snapshot.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "quant/types.h"

namespace silica::cache {

namespace {

bool is_kv_type(TensorType t) {
    return t == TensorType::F32 || t == TensorType::F16 || t == TensorType::BF16 || t == TensorType::Q8_0;
}

// Bytes of one layer's rows in the snapshot (every head, K and V).
uint64_t layer_bytes(const KvSnapshot& s, int64_t layer) {
    const uint64_t per_row = 2 * static_cast<uint64_t>(s.n_head_kv);
    const int64_t n_warm = s.warm_end[layer] - s.first[layer];
    const int64_t n_hot = s.end - s.warm_end[layer];
    return per_row * (static_cast<uint64_t>(n_warm) * row_bytes(type_traits(s.warm_type), s.head_dim) +
                      static_cast<uint64_t>(n_hot) * row_bytes(type_traits(s.type), s.head_dim));
}

}  // namespace

uint64_t KvSnapshot::row_bytes(int64_t layer, int64_t pos) const {
    return silica::row_bytes(type_traits(pos < warm_end[layer] ? warm_type : type), head_dim);
}

KvSnapshot capture_snapshot(const KvCache& kv, int64_t begin, int64_t end, int64_t n_stored) {
    const KvLayout& L = kv.layout();
    KvSnapshot s;
    s.type = L.storage;
    s.n_layer = L.n_layer;
    s.n_head_kv = L.n_head_kv;
    s.head_dim = L.head_dim;
    s.begin = begin;
    s.end = end;
    std::vector<kernels::KvRowSpan> spans;
    for (int64_t l = 0; l < L.n_layer; ++l) {
        const int64_t first = std::min(end, std::max(begin, kv.oldest_cached(l, n_stored)));
        s.first.push_back(first);
        s.warm_end.push_back(std::clamp(kv.warm_end(l), first, end));
        const size_t base = s.rows.size();
        s.rows.resize(base + layer_bytes(s, l));
        // Rows are laid out position-major; walk positions once per head, tracking the offset.
        for (int64_t h = 0; h < L.n_head_kv; ++h) {
            spans.clear();
            if (first < end) kv.visible_spans(l, h, first, end - 1, spans);
            size_t offset = base;
            for (const auto& span : spans)
                for (int64_t r = 0; r < span.n_rows; ++r) {
                    const int64_t pos = span.first_pos + r;
                    const uint64_t rb = s.row_bytes(l, pos);
                    if (span.type != (pos < s.warm_end[l] ? s.warm_type : s.type))
                        throw Error("KV snapshot: cache tier types are not the expected ones");
                    uint8_t* dst = s.rows.data() + offset + h * 2 * rb;
                    std::memcpy(dst, span.k + r * span.stride, rb);
                    std::memcpy(dst + rb, span.v + r * span.stride, rb);
                    offset += static_cast<size_t>(L.n_head_kv) * 2 * rb;
                }
        }
    }
    return s;
}

void restore_snapshot(KvCache& kv, const KvSnapshot& s) {
    const KvLayout& L = kv.layout();
    if (s.n_layer != L.n_layer || s.n_head_kv != L.n_head_kv || s.head_dim != L.head_dim)
        throw Error("KV snapshot shape does not match the cache");
    if (s.begin == s.end) return;
    // Rows that were warm stay warm; the others get the tier a forward would give them.
    for (int64_t l = 0; l < s.n_layer; ++l) kv.make_warm_before(l, s.warm_end[l]);
    kv.prepare(s.begin, s.end - 1);
    const uint8_t* p = s.rows.data();
    for (int64_t l = 0; l < s.n_layer; ++l) {
        // A window layer only needs (and can only hold) the last `capacity` rows of the snapshot.
        const int64_t keep_from = kv.oldest_cached(l, s.end);
        for (int64_t pos = s.first[l]; pos < s.end; ++pos) {
            const uint64_t rb = s.row_bytes(l, pos);
            const TensorType type = pos < s.warm_end[l] ? s.warm_type : s.type;
            for (int64_t h = 0; h < s.n_head_kv; ++h, p += 2 * rb)
                if (pos >= keep_from) kv.store_encoded(l, pos, h, type, p, p + rb);
        }
    }
}

void write_snapshot(const KvSnapshot& s, ByteWriter& out) {
    out.put<uint32_t>(static_cast<uint32_t>(s.type));
    out.put<uint32_t>(static_cast<uint32_t>(s.warm_type));
    out.put<int64_t>(s.n_layer);
    out.put<int64_t>(s.n_head_kv);
    out.put<int64_t>(s.head_dim);
    out.put<int64_t>(s.begin);
    out.put<int64_t>(s.end);
    for (int64_t l = 0; l < s.n_layer; ++l) {
        out.put<int64_t>(s.first[l]);
        out.put<int64_t>(s.warm_end[l]);
    }
    out.put<uint64_t>(s.rows.size());
    out.put_bytes(s.rows.data(), s.rows.size());
}

KvSnapshot read_snapshot(ByteReader& in, const KvLayout& expected) {
    KvSnapshot s;
    for (TensorType* field : {&s.type, &s.warm_type}) {
        const uint32_t raw_type = in.get<uint32_t>();
        const auto traits = type_traits(raw_type);
        if (!traits || !is_kv_type(traits->type))
            throw Error(in.what() + ": unsupported KV storage type " + std::to_string(raw_type));
        *field = traits->type;
    }
    s.n_layer = in.get<int64_t>();
    s.n_head_kv = in.get<int64_t>();
    s.head_dim = in.get<int64_t>();
    if (s.n_layer != expected.n_layer || s.n_head_kv != expected.n_head_kv || s.head_dim != expected.head_dim)
        throw Error(in.what() + ": KV shape " + std::to_string(s.n_layer) + "x" + std::to_string(s.n_head_kv) + "x" +
                    std::to_string(s.head_dim) + " does not match the model's");
    for (TensorType t : {s.type, s.warm_type})
        if (s.head_dim % type_traits(t).block_size != 0) throw Error(in.what() + ": head size does not fit the KV type");
    s.begin = in.get<int64_t>();
    s.end = in.get<int64_t>();
    if (s.begin < 0 || s.end < s.begin || s.end > (int64_t{1} << 40)) throw Error(in.what() + ": bad position range");
    uint64_t expected_rows = 0;
    for (int64_t l = 0; l < s.n_layer; ++l) {
        const int64_t f = in.get<int64_t>();
        const int64_t w = in.get<int64_t>();
        if (f < s.begin || f > s.end) throw Error(in.what() + ": bad first position in layer " + std::to_string(l));
        if (w < f || w > s.end) throw Error(in.what() + ": bad warm tier end in layer " + std::to_string(l));
        s.first.push_back(f);
        s.warm_end.push_back(w);
        expected_rows += layer_bytes(s, l);
    }
    const uint64_t n = in.get<uint64_t>();
    if (n != expected_rows) throw Error(in.what() + ": KV row bytes do not match the positions");
    const uint8_t* p = in.take(n);
    s.rows.assign(p, p + n);
    return s;
}

}  // namespace silica::cache
