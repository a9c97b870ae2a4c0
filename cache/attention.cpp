#include "cache/attention.h"

#include <algorithm>

#include "kernels/attention.h"

namespace silica::cache {

void attend(const KvCache& kv, int64_t layer, int64_t kv_head, int64_t pos, const float* q, int64_t n_group,
            const AttentionSpec& spec, float* out, AttentionScratch& scratch) {
    const int64_t first = spec.window > 0 ? std::max<int64_t>(0, pos - spec.window + 1) : 0;
    scratch.spans.clear();
    kv.visible_spans(layer, kv_head, first, pos, scratch.spans);
    kernels::AttentionShape shape;
    shape.head_dim = kv.layout().head_dim;
    shape.n_group = n_group;
    shape.scale = spec.scale;
    shape.sinks = spec.sinks;
    kernels::attend_spans(scratch.spans, q, shape, out);
}

}  // namespace silica::cache
