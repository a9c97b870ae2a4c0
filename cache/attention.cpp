#include "cache/attention.h"

#include "kernels/attention.h"

namespace silica::cache {

namespace {

kernels::AttentionShape shape_of(const KvCache& kv, int64_t n_group, const AttentionSpec& spec) {
    kernels::AttentionShape shape;
    shape.head_dim = kv.layout().head_dim;
    shape.n_group = n_group;
    shape.scale = spec.scale;
    shape.sinks = spec.sinks;
    return shape;
}

}  // namespace

void attend(const KvCache& kv, int64_t layer, int64_t kv_head, int64_t pos, const float* q, int64_t n_group,
            const AttentionSpec& spec, float* out, AttentionScratch& scratch,
            std::span<const kernels::KvRowSpan> prefetch_later) {
    scratch.spans.clear();
    kv.visible_spans(layer, kv_head, kernels::first_visible_key(pos, spec.window), pos, scratch.spans);
    kernels::attend_spans(scratch.spans, q, shape_of(kv, n_group, spec), out, prefetch_later);
}

void attend_chunk(const KvCache& kv, int64_t layer, int64_t kv_head, int64_t pos0, int64_t n_tokens, const float* q,
                  int64_t q_stride, int64_t n_group, const AttentionSpec& spec, float* out, int64_t out_stride,
                  AttentionScratch& scratch) {
    scratch.spans.clear();
    kv.visible_spans(layer, kv_head, kernels::first_visible_key(pos0, spec.window), pos0 + n_tokens - 1, scratch.spans);
    kernels::QueryChunk chunk;
    chunk.q = q;
    chunk.q_stride = q_stride;
    chunk.out = out;
    chunk.out_stride = out_stride;
    chunk.n_tokens = n_tokens;
    chunk.first_pos = pos0;
    chunk.window = spec.window;
    kernels::attend_chunk(scratch.spans, chunk, shape_of(kv, n_group, spec));
}

}  // namespace silica::cache
