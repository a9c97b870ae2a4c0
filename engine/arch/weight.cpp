#include "engine/arch/weight.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <thread>
#include <cstring>
#include <string>
#include <vector>

#include "engine/arch/linear.h"
#include "engine/arch/weight_placement.h"
#include "engine/threading/topology.h"
#include "quant/dequantize.h"
#include "quant/repack.h"
#include "silica/error.h"

namespace silica::arch {

namespace {

constexpr size_t kHugePage = size_t{2} << 20;

size_t page_size() { return static_cast<size_t>(sysconf(_SC_PAGESIZE)); }

// Memory for a repacked copy (see weight.h). Buffers of at least one huge page get an anonymous
// mapping whose start is 2 MiB-aligned (over-map by 2 MiB, unmap the ends), advised MADV_HUGEPAGE
// before the repack first touches it; the length is not rounded up to 2 MiB, so the tail keeps
// 4 KiB pages and nothing is wasted. Smaller buffers (or huge_pages off) use the heap, unless
// `own_pages`: then they get a page-aligned mapping of their own, which NUMA binding may place
// without moving a neighbour's pages.
std::shared_ptr<uint8_t> allocate_repacked_storage(size_t bytes, bool huge_pages, bool own_pages) {
    const bool huge = huge_pages && bytes >= kHugePage;
    if (!huge && !own_pages) {
        auto buffer = std::make_shared<AlignedBuffer>(bytes);
        return std::shared_ptr<uint8_t>(buffer, buffer->as<uint8_t>());
    }
    const size_t page = page_size();
    const size_t len = (bytes + page - 1) / page * page;
    const size_t slack = huge ? kHugePage : 0;  // mmap's start is already page-aligned
    void* raw = mmap(nullptr, len + slack, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) throw OutOfMemory("cannot map " + std::to_string(bytes) + " bytes for a repacked weight");
    auto* base = static_cast<uint8_t*>(raw);
    uint8_t* start = base;
    if (huge) {
        start = reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(base) + kHugePage - 1) & ~(kHugePage - 1));
        if (start > base) munmap(base, static_cast<size_t>(start - base));
        uint8_t* end = base + len + kHugePage;
        if (end > start + len) munmap(start + len, static_cast<size_t>(end - (start + len)));
        madvise(start, len, MADV_HUGEPAGE);  // a hint: without it (or if it fails) the pages are 4 KiB
    }
    return std::shared_ptr<uint8_t>(start, [len](uint8_t* p) { munmap(p, len); });
}

// Binds each node's part of a fresh repacked copy at `base`, a mapping of its own
// (weight_placement.h). Stops at the first refusal: the rest of the copy is then placed by first
// touch, as without a placement.
void bind_to_nodes(uint8_t* base, const StorageLayout& layout, bool huge, NumaPlacement& placement) {
    const WeightPlacement p =
        place_weight(placement.plan, layout, kMatmulRowGranularity, page_size(), huge ? kHugePage : 0);
    const Topology& topology = Topology::detect();
    for (const NodeBytes& r : p.ranges) {
        if (!topology.bind_memory_to_node(base + r.begin, r.end - r.begin, r.node)) {
            ++placement.refusals;
            return;
        }
        placement.bytes_bound += r.end - r.begin;
    }
}

// Repacks n_expert stacked experts of `matrix` into dst with one std::thread per hardware thread
// (repacking the 20B model alone takes ~20 s). The work is cut into chunks of whole 16-row groups,
// which repack_x16 treats independently (only a matrix's last group is padded), so the result is
// bit-identical to one repack_x16 call per expert. Chunks are handed out with an atomic counter.
void repack_in_parallel(const kernels::Matrix& matrix, int64_t n_expert, uint8_t* dst, size_t dst_expert_stride) {
    constexpr int64_t kGroupsPerChunk = 512;  // 8192 rows: large enough to amortize the hand-out
    const int64_t groups = (matrix.rows + kRepackRows - 1) / kRepackRows;
    const int64_t chunks_per_expert = (groups + kGroupsPerChunk - 1) / kGroupsPerChunk;
    const int64_t n_chunks = chunks_per_expert * n_expert;
    const size_t group_bytes = repacked_group_bytes(matrix.type, matrix.cols);
    const size_t src_expert_stride = static_cast<size_t>(matrix.rows) * matrix.row_stride;

    std::atomic<int64_t> next{0};
    std::exception_ptr failure;
    std::mutex failure_mutex;
    auto work = [&] {
        try {
            for (int64_t c = next++; c < n_chunks; c = next++) {
                const int64_t e = c / chunks_per_expert;
                const int64_t first_row = (c % chunks_per_expert) * kGroupsPerChunk * kRepackRows;
                const int64_t n_rows = std::min<int64_t>(kGroupsPerChunk * kRepackRows, matrix.rows - first_row);
                const uint8_t* src = matrix.data + static_cast<size_t>(e) * src_expert_stride +
                                     static_cast<size_t>(first_row) * matrix.row_stride;
                uint8_t* out = dst + static_cast<size_t>(e) * dst_expert_stride +
                               static_cast<size_t>(first_row / kRepackRows) * group_bytes;
                repack_x16(matrix.type, src, matrix.row_stride, n_rows, matrix.cols, out);
            }
        } catch (...) {
            std::lock_guard<std::mutex> lock(failure_mutex);
            if (!failure) failure = std::current_exception();
            next = n_chunks;  // stop the other workers early
        }
    };
    const int64_t n_threads =
        std::min<int64_t>(n_chunks, std::max(1u, std::thread::hardware_concurrency()));
    std::vector<std::thread> helpers;
    for (int64_t t = 1; t < n_threads; ++t) helpers.emplace_back(work);
    work();  // the calling thread is worker 0
    for (auto& h : helpers) h.join();
    if (failure) std::rethrow_exception(failure);
}

}  // namespace

Weight Weight::view(const kernels::Matrix& matrix, int64_t n_expert) {
    Weight w;
    w.type_ = matrix.type;
    w.rows_ = matrix.rows;
    w.cols_ = matrix.cols;
    w.n_expert_ = n_expert;
    w.data_ = matrix.data;
    w.expert_stride_ = static_cast<size_t>(matrix.rows) * matrix.row_stride;
    return w;
}

Weight Weight::repacked(const kernels::Matrix& matrix, int64_t n_expert, bool huge_pages, NumaPlacement* placement) {
    if (!can_repack_x16(matrix.type))
        throw Error("weight: cannot repack a " + std::string(type_traits(matrix.type).name) + " matrix");
    Weight w;
    w.type_ = matrix.type;
    w.rows_ = matrix.rows;
    w.cols_ = matrix.cols;
    w.n_expert_ = n_expert;
    w.expert_stride_ = repacked_bytes(matrix.type, matrix.rows, matrix.cols);
    const size_t bytes = w.expert_stride_ * static_cast<size_t>(n_expert);
    const bool huge = huge_pages && bytes >= kHugePage;
    // A weight whose parts go to different nodes needs pages of its own; on one node, only large
    // copies (mapped anyway) are bound: a heap block shares its pages with other allocations.
    const bool own_pages = huge || (placement && placement->plan.n_slots() > 1 && bytes > 0);
    std::shared_ptr<uint8_t> buffer = allocate_repacked_storage(bytes, huge_pages, own_pages);
    uint8_t* dst = buffer.get();
    if (placement && own_pages)  // before the repack: a page is placed when first touched
        bind_to_nodes(dst, repacked_layout(matrix.type, matrix.rows, matrix.cols, n_expert), huge, *placement);
    repack_in_parallel(matrix, n_expert, dst, w.expert_stride_);
    w.data_ = dst;
    w.storage_ = std::move(buffer);
    w.repacked_ = true;
    return w;
}

Weight Weight::view_owned(const kernels::Matrix& matrix, int64_t n_expert, std::shared_ptr<const uint8_t> bytes) {
    Weight w = view(matrix, n_expert);
    w.storage_ = std::move(bytes);
    return w;
}

size_t Weight::row_bytes() const { return silica::row_bytes(type_traits(type_), cols_); }

void Weight::row(int64_t r, float* out) const {
    if (r < 0 || r >= rows_)
        throw Error("weight: row " + std::to_string(r) + " outside 0.." + std::to_string(rows_));
    if (!is_repacked()) {
        dequantize_row(type_, data_ + static_cast<size_t>(r) * row_bytes(), out, cols_);
        return;
    }
    // Restore the row's GGUF bytes, then dequantize them as usual. thread_local: called per
    // token by every session, so the scratch is reused instead of allocated each time.
    thread_local std::vector<uint8_t> gguf_row;
    gguf_row.resize(row_bytes());
    unpack_row_x16(type_, data_, rows_, cols_, r, gguf_row.data());
    dequantize_row(type_, gguf_row.data(), out, cols_);
}

Weight Weight::expert(int64_t e) const {
    if (e < 0 || e >= n_expert_)
        throw Error("weight: expert " + std::to_string(e) + " outside 0.." + std::to_string(n_expert_));
    Weight w = *this;
    w.n_expert_ = 1;
    w.data_ = data_ + static_cast<size_t>(e) * expert_stride_;
    return w;
}

std::span<const uint8_t> Weight::storage_of_rows(int64_t r_begin, int64_t r_end) const {
    if (r_begin < 0 || r_begin > r_end || r_end > rows_)
        throw Error("weight: rows [" + std::to_string(r_begin) + ", " + std::to_string(r_end) + ") outside 0.." +
                    std::to_string(rows_));
    if (!is_repacked()) {
        const size_t rb = row_bytes();
        return {data_ + static_cast<size_t>(r_begin) * rb, static_cast<size_t>(r_end - r_begin) * rb};
    }
    const size_t group_bytes = repacked_group_bytes(type_, cols_);
    const int64_t g_begin = r_begin / kRepackRows, g_end = (r_end + kRepackRows - 1) / kRepackRows;
    return {data_ + static_cast<size_t>(g_begin) * group_bytes, static_cast<size_t>(g_end - g_begin) * group_bytes};
}

void Weight::matmul(const kernels::Activations& x, float* y, int64_t ldy, int64_t r_begin, int64_t r_end) const {
    if (is_repacked())
        kernels::matmul(kernels::RepackedMatrix{type_, rows_, cols_, data_}, x, y, ldy, r_begin, r_end);
    else
        kernels::matmul(kernels::Matrix{type_, rows_, cols_, data_, row_bytes()}, x, y, ldy, r_begin, r_end);
}

}  // namespace silica::arch
