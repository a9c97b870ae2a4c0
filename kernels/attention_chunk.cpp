// Prefill attention over a chunk of query positions (kernels/attention.h): the dispatcher, the
// per-token path every ISA falls back to, and the reference.
#include <algorithm>
#include <string>
#include <vector>

#include "kernels/attention.h"
#include "kernels/isa.h"
#include "silica/error.h"

namespace silica::kernels {
namespace {

// The parts of `spans` at positions [first, last], in order.
void slice_spans(std::span<const KvRowSpan> spans, int64_t first, int64_t last, std::vector<KvRowSpan>& out) {
    out.clear();
    for (const KvRowSpan& s : spans) {
        const int64_t lo = std::max(first, s.first_pos), hi = std::min(last, s.first_pos + s.n_rows - 1);
        if (lo > hi) continue;
        KvRowSpan part = s;
        part.k = s.k + (lo - s.first_pos) * s.stride;
        part.v = s.v + (lo - s.first_pos) * s.stride;
        part.n_rows = hi - lo + 1;
        part.first_pos = lo;
        out.push_back(part);
    }
}

template <class AttendOne>
void per_token(std::span<const KvRowSpan> spans, const QueryChunk& chunk, AttendOne&& attend_one) {
    std::vector<KvRowSpan> visible;
    for (int64_t t = 0; t < chunk.n_tokens; ++t) {
        const int64_t pos = chunk.first_pos + t;
        slice_spans(spans, first_visible_key(pos, chunk.window), pos, visible);
        if (visible.empty()) throw Error("attention: no cached keys for position " + std::to_string(pos));
        attend_one(std::span<const KvRowSpan>(visible), chunk.q + t * chunk.q_stride, chunk.out + t * chunk.out_stride);
    }
}

}  // namespace

void attend_chunk(std::span<const KvRowSpan> spans, const QueryChunk& chunk, const AttentionShape& shape) {
    if (active_isa() == Isa::avx512 && chunk.n_tokens > kStepExactRows && attend_chunk_avx512(spans, chunk, shape))
        return;
    if (active_isa() == Isa::avx2 && chunk.n_tokens > kStepExactRows && attend_chunk_avx2(spans, chunk, shape))
        return;
    // A verify pass or a short chunk (kernels/step_exact.h): each token as decode computes it.
    if (active_isa() == Isa::avx512 && chunk.n_tokens > 1 && attend_tokens_avx512(spans, chunk, shape)) return;
    per_token(spans, chunk, [&](std::span<const KvRowSpan> visible, const float* q, float* out) {
        attend_spans(visible, q, shape, out);
    });
}

void attend_chunk_reference(std::span<const KvRowSpan> spans, const QueryChunk& chunk, const AttentionShape& shape) {
    per_token(spans, chunk, [&](std::span<const KvRowSpan> visible, const float* q, float* out) {
        attend_spans_reference(visible, q, shape, out);
    });
}

}  // namespace silica::kernels
