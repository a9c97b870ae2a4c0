#include "engine/arch/weight_placement.h"

#include <algorithm>
#include <string>

#include "quant/repack.h"
#include "silica/error.h"

namespace silica::arch {
namespace {

// Appends [begin, end) on `node`, merging with the last range when it is on the same node.
void append(std::vector<NodeBytes>& ranges, size_t begin, size_t end, int node) {
    if (end <= begin) return;
    if (!ranges.empty() && ranges.back().node == node && ranges.back().end == begin) {
        ranges.back().end = end;
        return;
    }
    ranges.push_back({begin, end, node});
}

}  // namespace

StorageLayout repacked_layout(TensorType type, int64_t rows, int64_t cols, int64_t n_expert) {
    return {rows, kRepackRows, repacked_group_bytes(type, cols), n_expert, repacked_bytes(type, rows, cols)};
}

StorageLayout gguf_layout(TensorType type, int64_t rows, int64_t cols, int64_t n_expert) {
    const size_t row = row_bytes(type_traits(type), cols);
    return {rows, 1, row, n_expert, row * static_cast<size_t>(rows)};
}

std::vector<NodeBytes> node_bytes(const NumaPlan& plan, const StorageLayout& layout, int64_t granularity) {
    if (layout.rows_per_unit < 1 || granularity < 1 || granularity % layout.rows_per_unit != 0)
        throw Error("weight placement: rows are split in " + std::to_string(granularity) +
                    "s, not whole units of " + std::to_string(layout.rows_per_unit) + " rows");
    std::vector<NodeBytes> ranges;
    for (int64_t e = 0; e < layout.n_expert; ++e) {
        const size_t base = static_cast<size_t>(e) * layout.expert_stride;
        size_t covered = base;
        for (int s = 0; s < plan.n_slots(); ++s) {
            const RowRange rows = plan.slot_rows(layout.rows, s, granularity);
            if (rows.size() <= 0) continue;  // fewer row units than threads: this node reads nothing
            // Units start at multiples of rows_per_unit and slot ranges at multiples of granularity,
            // so no unit is shared by two slots.
            const size_t end = base + static_cast<size_t>((rows.end + layout.rows_per_unit - 1) / layout.rows_per_unit) *
                                          layout.unit_bytes;
            append(ranges, covered, end, plan.nodes[static_cast<size_t>(s)]);
            covered = end;
        }
        // Padding after the last unit (or an empty matrix) stays with the last range.
        const size_t expert_end = base + layout.expert_stride;
        if (covered < expert_end) {
            if (ranges.empty())
                append(ranges, covered, expert_end, plan.n_slots() > 0 ? plan.nodes[0] : 0);
            else
                ranges.back().end = expert_end;
        }
    }
    return ranges;
}

WeightPlacement place_weight(const NumaPlan& plan, const StorageLayout& layout, int64_t granularity,
                             size_t base_page, size_t huge_page) {
    const std::vector<NodeBytes> exact = node_bytes(plan, layout, granularity);
    WeightPlacement placement;
    placement.page_bytes = base_page > 0 ? base_page : 1;
    if (huge_page > 0) {
        bool all_large = true;
        for (const NodeBytes& r : exact) all_large = all_large && r.end - r.begin >= kHugePagesPerRange * huge_page;
        if (all_large) placement.page_bytes = huge_page;
    }
    const size_t page = placement.page_bytes;
    // Each inner boundary moves to the nearest page boundary (a tie rounds up: the page goes to the
    // earlier node); a range that shrinks to nothing disappears and its neighbours may merge.
    const size_t total = exact.empty() ? 0 : exact.back().end;
    size_t begin = 0;
    for (size_t i = 0; i < exact.size(); ++i) {
        const bool last = i + 1 == exact.size();
        const size_t end = last ? total : std::min(total, (exact[i].end + page / 2) / page * page);
        if (end > begin) {
            append(placement.ranges, begin, end, exact[i].node);
            begin = end;
        }
    }
    return placement;
}

}  // namespace silica::arch
