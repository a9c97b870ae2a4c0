// A model weight matrix as the forward passes use it: either a zero-copy view of the GGUF bytes
// (kernels::Matrix) or a private copy repacked at load time into the row-interleaved x16 layout
// of quant/repack.h, which kernels/matmul_repacked.h multiplies 2-3.5x faster.
//
// Which one a matrix gets is decided when the model is bound (engine/arch/tensors.h):
// repacked when its type has a repacked SIMD kernel on this machine
// (kernels::repacked_kernel_available: Q4_0, MXFP4, Q8_0 and F16 panels with AVX2 or AVX-512; Q4_K, Q6_K with
// AVX-512), GGUF layout otherwise. Once a tensor is repacked, the whole pages of its GGUF bytes are released from the
// mapping (gguf::File::release_pages), so the process holds about one copy of the weights, and
// its file view is never read again — everything goes through Weight.
//
// Repacked copies live in anonymous memory advised for transparent huge pages (2 MiB-aligned,
// MADV_HUGEPAGE): decode streams every weight once per token, and with 4 KiB pages each 4 KiB of
// weights costs a TLB miss (a two-level page walk on a virtual machine). SILICA_HUGEPAGES=0 gives
// them ordinary pages (read at each repack), to measure the difference.
//
// NUMA: with a placement (WeightOptions::placement), the copy's pages are bound to the nodes whose
// threads read them (weight_placement.h) before the repack writes them, so where the (unpinned)
// repack threads run does not matter.
//
// Switch: the environment variable SILICA_REPACK=0 disables repacking (every Weight stays a
// view of the file). It is read once per model load, when the model is bound; any other value
// or no variable leaves repacking on. `bench --ablate repack` uses it to measure the gain.
#pragma once
#include <cstdint>
#include <memory>
#include <span>

#include "kernels/matmul.h"
#include "kernels/matmul_repacked.h"
#include "memory/aligned_buffer.h"
#include "quant/types.h"

namespace silica::arch {

struct NumaPlacement;

// How a model's matmul weights are kept (from silica::LoadOptions).
struct WeightOptions {
    bool repack = true;      // repack where a repacked kernel exists (else GGUF layout, read in place)
    bool huge_pages = true;  // repacked copies of >= 2 MiB on 2 MiB-aligned, MADV_HUGEPAGE memory
    // Non-null: repacked copies are bound, before they are written, to the NUMA nodes of the threads
    // that will read each part (engine/arch/weight_placement.h). Null: pages go where first touched.
    NumaPlacement* placement = nullptr;
};

class Weight {
public:
    Weight() = default;
    // A view of GGUF bytes (the file must outlive the Weight). For an expert stack, `matrix` is
    // expert 0 and the experts follow each other (n_expert of them).
    static Weight view(const kernels::Matrix& matrix, int64_t n_expert = 1);
    // A private repacked copy of `matrix` (n_expert stacked experts, each repacked on its own so
    // any expert count and row count work). The type must satisfy can_repack_x16. With a
    // placement, each node's rows live on that node (WeightOptions::placement).
    static Weight repacked(const kernels::Matrix& matrix, int64_t n_expert = 1, bool huge_pages = true,
                           NumaPlacement* placement = nullptr);
    // A view of GGUF-layout bytes the Weight keeps alive (`bytes` holds `matrix`): a slice of a
    // file's tensor gathered into memory of its own (tensor parallelism, engine/parallel).
    static Weight view_owned(const kernels::Matrix& matrix, int64_t n_expert, std::shared_ptr<const uint8_t> bytes);

    // Shape of one matrix (one expert of a stack).
    int64_t rows() const { return rows_; }
    int64_t cols() const { return cols_; }
    TensorType type() const { return type_; }
    int64_t n_expert() const { return n_expert_; }
    bool is_repacked() const { return repacked_; }
    // Bytes of one row in GGUF layout, and of the whole matrix (one expert) in GGUF layout: what a
    // matmul streams, for the roofline (the repacked layout only adds padding to 16 rows).
    size_t row_bytes() const;
    uint64_t bytes() const { return static_cast<uint64_t>(rows_) * row_bytes(); }

    // Row r of the matrix (of expert 0 for a stack) as float32: embedding lookups, the reference.
    void row(int64_t r, float* out) const;
    // Expert e of a stack as a matrix of its own (shares the storage).
    Weight expert(int64_t e) const;

    // y[i * ldy + r] for r in [r_begin, r_end): kernels::matmul on the view or the repacked copy;
    // x must be prepared for type() and cols(). Same contract as kernels::matmul.
    void matmul(const kernels::Activations& x, float* y, int64_t ldy, int64_t r_begin, int64_t r_end) const;
    // The contiguous bytes a matmul over rows [r_begin, r_end) reads: those rows in GGUF layout,
    // or their whole 16-row groups when repacked. For prefetching a thread's share of a matrix.
    std::span<const uint8_t> storage_of_rows(int64_t r_begin, int64_t r_end) const;

private:
    TensorType type_ = TensorType::F32;
    int64_t rows_ = 0, cols_ = 0, n_expert_ = 1;
    const uint8_t* data_ = nullptr;  // expert 0: GGUF rows, or repacked groups when repacked
    size_t expert_stride_ = 0;       // bytes from one expert to the next
    bool repacked_ = false;
    // The repacked copy (or owned GGUF bytes), shared by copies of this Weight and its expert views
    // (e.g. the tied GPT-2 output matrix is a copy of the token embedding). Null for a view of the file.
    std::shared_ptr<const uint8_t> storage_;
};

}  // namespace silica::arch
